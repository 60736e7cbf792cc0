"""HUD's definition of chronic homelessness (24 CFR 578.3) and the recordkeeping toolkit's
rules for counting months, episodes and breaks, as pure functions (DOMAIN 7).

A person is chronically homeless when they have a disabling condition, live now in a place not
meant for human habitation, a safe haven or an emergency shelter (or have been in an
institution for fewer than 90 days and were homeless just before), and have been homeless
either for 12 months continuously or on at least 4 occasions in the last 3 years totalling 12
months.

Counting (``homeless_history``) works on *nights* (a date stands for the night that begins on
it) from evidence of where the person stayed:

* one homeless night in a calendar month counts the whole month;
* a **break** is a stay of 7 or more consecutive nights that are not homeless (family or
  friends, transitional housing, a hotel paid for by the person, housing...) or of 90 or more
  consecutive nights in an institution; breaks separate episodes. A shorter stay is no break;
  a shorter institutional stay counts as homeless time when the last thing known before it is
  homelessness (HUD: "included in the 12-month total"), and counts neither way otherwise;
* a veteran's stay in VA-funded transitional housing is neither a break nor homeless time;
* nights nobody recorded are neither homeless time nor a break: a gap without evidence does not
  split an episode, it only is not counted;
* where evidence overlaps, a night not homeless wins over an institution, which wins over a
  neutral stay, which wins over homelessness (evidence of a break is not overridden);
* nights after ``today`` are ignored; months are counted in the last 3 years (the nights after
  the same date three years ago, up to today).

"Continuous" means the current episode (no break after it up to today) has 12 consecutive
counted months; "episodic" means 4 or more episodes in the last 3 years with 12 or more counted
months in all.

``chronic_at_project_start`` is HUD's logic over one enrollment's 3.917 answers (the HMIS
Reporting Glossary's "chronically homeless at project start").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import IntEnum

# 3.12.1 situations that are homeless now under 578.3 (street, emergency shelter, safe haven).
HOMELESS_SITUATIONS = frozenset({116, 101, 118})
# 2.02.6 project types whose stay is itself homeless (ES entry/exit, ES night-by-night, SH).
HOMELESS_PROJECT_TYPES = frozenset({0, 1, 8})
# ... whose clients HUD treats as homeless at project start (the above plus street outreach).
LITERALLY_HOMELESS_PROJECT_TYPES = HOMELESS_PROJECT_TYPES | {4}
TRANSITIONAL_HOUSING = 2
# Permanent housing (PSH, PH housing only, PH with services, RRH): housed from move-in.
PERMANENT_HOUSING_PROJECT_TYPES = frozenset({3, 9, 10, 13})
# 2.06.1 funders that make transitional housing "VA-funded" (Contract Residential Services and
# the Grant Per Diem components).
VA_FUNDING_SOURCES = frozenset({27, 37, 38, 39, 40, 41, 42, 45})

MONTHS_NEEDED = 12
EPISODES_NEEDED = 4
BREAK_NIGHTS = 7
INSTITUTION_BREAK_NIGHTS = 90
LOOKBACK_YEARS = 3

# 3.917.2 length of stay -> the fewest nights the answer means.
LENGTH_OF_STAY_NIGHTS = {10: 1, 11: 2, 2: 7, 3: 30, 4: 90, 5: 365}
# 3.917.5 months homeless in the past three years; 113 "more than 12" is reported as 13.
MONTHS_ANSWER = {100 + n: n for n in range(1, 14)}
REASONS_MISSING = frozenset({8, 9, 99})


class StayKind(IntEnum):
    """Where a night was spent; the value orders overlapping evidence (higher wins)."""

    HOMELESS = 1
    NEUTRAL = 2  # a veteran in VA-funded transitional housing
    INSTITUTION = 3
    NOT_HOMELESS = 4


@dataclass(frozen=True)
class Stay:
    """Evidence that the nights ``first`` to ``last`` (both included) were spent as ``kind``."""

    kind: StayKind
    first: date
    last: date


def situation_kind(code: int | None) -> StayKind | None:
    """A 3.12.1 living situation or destination as a kind of stay; None when it says nothing
    (8, 9, 99, 17 other, 24 deceased, 30, 37)."""
    if code is None:
        return None
    if 100 <= code <= 199:
        return StayKind.HOMELESS
    if 200 <= code <= 299:
        return StayKind.INSTITUTION
    if 300 <= code <= 499:
        return StayKind.NOT_HOMELESS
    return None


@dataclass(frozen=True)
class ChronicResult:
    chronic: bool
    months: int  # months homeless counted (0-12+)
    episodes: int  # episodes in the last 3 years
    missing: tuple[str, ...]  # what is missing for a determination (human-readable codes)
    # Nights homeless counted in the last 3 years (the queue's days_homeless_3y); not part of
    # the determination, so results compare equal without it.
    days: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ChronicStatus:
    recorded: ChronicResult
    documented: ChronicResult


# --- months, episodes, breaks -------------------------------------------------------------------


@dataclass(frozen=True)
class Episode:
    first: date  # first counted night
    last: date  # last counted night
    months: tuple[tuple[int, int], ...]  # (year, month) counted in the last 3 years, in order


@dataclass(frozen=True)
class HomelessHistory:
    months: int  # distinct calendar months with a counted night, last 3 years
    episodes: tuple[Episode, ...]  # those with a counted night in the last 3 years
    breaks: tuple[tuple[date, date], ...]  # (first, last night) of each break, any time
    continuous_months: int  # consecutive counted months ending the current episode
    current_episode: bool  # the last episode has no break after it up to today
    nights: int = 0  # counted (homeless) nights in the last 3 years

    @property
    def continuous(self) -> bool:
        return self.current_episode and self.continuous_months >= MONTHS_NEEDED

    @property
    def episodic(self) -> bool:
        return len(self.episodes) >= EPISODES_NEEDED and self.months >= MONTHS_NEEDED

    @property
    def qualifies(self) -> bool:
        return self.continuous or self.episodic

    def broken_since(self, day: date) -> bool:
        """A break ends on or after ``day``."""
        return any(last >= day for _, last in self.breaks)

    def missing(self) -> tuple[str, ...]:
        """What the history lacks for 12 months: ``homeless_months:N`` (N more months needed)
        or, with 12 months counted, ``continuity_or_episodes`` (neither 12 consecutive months
        in the current episode nor 4 episodes)."""
        if self.qualifies:
            return ()
        if self.months < MONTHS_NEEDED:
            return (f"homeless_months:{MONTHS_NEEDED - self.months}",)
        return ("continuity_or_episodes",)


def years_before(day: date, years: int) -> date:
    """The same date ``years`` earlier; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _month(day: date) -> tuple[int, int]:
    return day.year, day.month


def _previous_month(month: tuple[int, int]) -> tuple[int, int]:
    year, m = month
    return (year, m - 1) if m > 1 else (year - 1, 12)


def homeless_history(stays: Iterable[Stay], today: date) -> HomelessHistory:
    """Months, episodes and breaks from ``stays`` (any order, overlapping allowed), as of
    ``today``; see the module's rules."""
    window_first = years_before(today, LOOKBACK_YEARS) + timedelta(days=1)
    # Evidence from one more year back still decides breaks and institution stays at the edge.
    origin = years_before(window_first, 1)
    span = (today - origin).days + 1
    nights: list[StayKind | None] = [None] * span
    for stay in stays:
        first, last = max(stay.first, origin), min(stay.last, today)
        for i in range((first - origin).days, (last - origin).days + 1):
            held = nights[i]
            if held is None or stay.kind > held:
                nights[i] = stay.kind

    counted = [False] * span
    is_break = [False] * span
    breaks: list[tuple[date, date]] = []
    last_known: StayKind | None = None  # the last evidence before the current run
    i = 0
    while i < span:
        kind = nights[i]
        if kind is None:
            i += 1
            continue
        j = i
        while j + 1 < span and nights[j + 1] == kind:
            j += 1
        length = j - i + 1
        if kind == StayKind.HOMELESS:
            counted[i : j + 1] = [True] * length
        elif kind == StayKind.INSTITUTION:
            if length >= INSTITUTION_BREAK_NIGHTS:
                is_break[i : j + 1] = [True] * length
            elif last_known == StayKind.HOMELESS:
                counted[i : j + 1] = [True] * length
        elif kind == StayKind.NOT_HOMELESS and length >= BREAK_NIGHTS:
            is_break[i : j + 1] = [True] * length
        if is_break[i]:
            breaks.append((origin + timedelta(days=i), origin + timedelta(days=j)))
            last_known = kind
        elif counted[i]:
            last_known = StayKind.HOMELESS
        else:
            last_known = kind
        i = j + 1

    # Episodes: counted nights between breaks.
    episodes: list[Episode] = []
    run: list[int] = []

    def close() -> None:
        months = sorted(
            {
                _month(origin + timedelta(days=k))
                for k in run
                if origin + timedelta(days=k) >= window_first
            }
        )
        if months:
            first, last = origin + timedelta(days=run[0]), origin + timedelta(days=run[-1])
            episodes.append(Episode(first, last, tuple(months)))
        run.clear()

    last_counted = -1
    last_break = -1
    for k in range(span):
        if is_break[k]:
            if run:
                close()
            last_break = k
        elif counted[k]:
            run.append(k)
            last_counted = k
    if run:
        close()

    months = {m for e in episodes for m in e.months}
    current = (
        bool(episodes)
        and last_counted > last_break
        and episodes[-1].last == origin + timedelta(days=last_counted)
    )
    continuous = 0
    if current:
        own = set(episodes[-1].months)
        month = episodes[-1].months[-1]
        while month in own:
            continuous += 1
            month = _previous_month(month)
    first_in_window = max((window_first - origin).days, 0)
    return HomelessHistory(
        months=len(months),
        episodes=tuple(episodes),
        breaks=tuple(breaks),
        continuous_months=continuous,
        current_episode=current,
        nights=sum(1 for k in range(first_in_window, span) if counted[k] and not is_break[k]),
    )


# --- HUD's logic over the 3.917 answers ---------------------------------------------------------


@dataclass(frozen=True)
class PriorLivingSituation:
    """One enrollment's 3.917 block with what it is read against."""

    entry_date: date
    project_type: int
    living_situation: int | None
    length_of_stay: int | None
    los_under_threshold: int | None
    previous_street_essh: int | None
    date_to_street_essh: date | None
    times_homeless_past_three_years: int | None
    months_homeless_past_three_years: int | None


@dataclass(frozen=True)
class AtProjectStart:
    """The 12-month part of HUD's determination at project start: ``chronic`` is True (yes),
    False (no) or None (the answers needed are missing: ``missing`` names them)."""

    chronic: bool | None
    months: int
    episodes: int
    missing: tuple[str, ...] = ()


def months_between(first: date, last: date) -> int:
    """Calendar months from ``first``'s to ``last``'s, both counted."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


def chronic_at_project_start(p: PriorLivingSituation) -> AtProjectStart:
    """HUD's steps: homeless at entry (a street outreach, shelter or safe haven project, a
    homeless prior living situation, or a short stay elsewhere right after homelessness:
    LOSUnderThreshold and PreviousStreetESSH both Yes), then either the episode began 365 or
    more days before the entry date, or 4 or more times homeless in the past three years adding
    up to 12 or more months."""
    times = p.times_homeless_past_three_years
    months_answer = MONTHS_ANSWER.get(p.months_homeless_past_three_years or 0, 0)
    episodes = times if times in (1, 2, 3, 4) else 0
    counted = AtProjectStart(None, months_answer, episodes)

    situation = p.living_situation
    if p.project_type not in LITERALLY_HOMELESS_PROJECT_TYPES and not (
        situation is not None and 100 <= situation <= 199
    ):
        if situation is None or (situation in REASONS_MISSING and p.length_of_stay is None):
            return _missing(counted, "living_situation")
        if p.los_under_threshold in (None, 99):
            return _missing(counted, "los_under_threshold")
        if p.los_under_threshold == 0:
            return AtProjectStart(False, months_answer, episodes)
        if p.previous_street_essh in (None, 99):
            return _missing(counted, "previous_street_essh")
        if p.previous_street_essh == 0:
            return AtProjectStart(False, months_answer, episodes)

    start = p.date_to_street_essh
    if start is not None and (p.entry_date - start).days >= 365:
        since = max(start, years_before(p.entry_date, LOOKBACK_YEARS) + timedelta(days=1))
        months = max(months_answer, months_between(since, p.entry_date))
        return AtProjectStart(True, months, max(episodes, 1))
    if times is None or times in REASONS_MISSING:
        missing = ("times_homeless_past_three_years",)
        return _missing(counted, *(() if start else ("date_to_street_essh",)), *missing)
    if times != 4:
        return AtProjectStart(False, months_answer, episodes)
    answer = p.months_homeless_past_three_years
    if answer is None or answer in REASONS_MISSING:
        return _missing(counted, "months_homeless_past_three_years")
    return AtProjectStart(months_answer >= MONTHS_NEEDED, months_answer, episodes)


def _missing(counted: AtProjectStart, *fields: str) -> AtProjectStart:
    return AtProjectStart(None, counted.months, counted.episodes, fields)


# --- the two determinations ---------------------------------------------------------------------


@dataclass(frozen=True)
class Situation:
    """Something known about where the person stayed on the night of ``on`` (a CLS, the
    prior living situation, an exit destination, a stay in a project), and since when if that
    is known (``since``, else ``on``)."""

    kind: StayKind
    on: date
    since: date | None = None


def homeless_now(situations: Sequence[Situation], today: date) -> bool:
    """Whether the person lives now where 578.3 requires (street, shelter, safe haven), or has
    been in an institution for fewer than 90 days after being homeless: the latest situation
    on or before ``today`` decides (``situations`` in any order)."""
    known = sorted((s for s in situations if s.on <= today), key=lambda s: s.on)
    if not known:
        return False
    if known[-1].kind == StayKind.HOMELESS:
        return True
    if known[-1].kind == StayKind.INSTITUTION:
        # The stay began with the first institution observation of the latest run.
        k = len(known) - 1
        while k > 0 and known[k - 1].kind == StayKind.INSTITUTION:
            k -= 1
        entered = min(s.since or s.on for s in known[k:])
        return (
            (today - entered).days < INSTITUTION_BREAK_NIGHTS
            and k > 0
            and known[k - 1].kind == StayKind.HOMELESS
        )
    return False


def recorded_result(
    *,
    disabled: bool,
    situations: Sequence[Situation],
    history: HomelessHistory,
    at_start: AtProjectStart | None,
    entry_date: date | None,
    today: date,
) -> ChronicResult:
    """Chronic from recorded data: a disabling condition, homeless now, and 12 months either by
    HUD's 3.917 logic at the enrollment's start (still holding when no break was recorded
    since) or by the recorded history (``history``)."""
    missing: list[str] = []
    if not disabled:
        missing.append("disabling_condition")
    if not homeless_now(situations, today):
        missing.append("current_living_situation")
    months, episodes = history.months, len(history.episodes)
    from_answers = False
    if at_start is None:
        answers_missing: tuple[str, ...] = ("prior_living_situation",)
    else:
        holds = entry_date is not None and not history.broken_since(entry_date)
        from_answers = bool(at_start.chronic) and holds
        if holds:
            months = max(months, at_start.months)
            episodes = max(episodes, at_start.episodes)
        answers_missing = at_start.missing
    if not (from_answers or history.qualifies):
        # The answers' gaps first (answering them may decide it), then the history's.
        missing.extend(answers_missing)
        missing.extend(history.missing())
    return ChronicResult(not missing, months, episodes, tuple(missing), days=history.nights)


def documented_result(
    *,
    disability_verified: bool,
    situations: Sequence[Situation],
    history: HomelessHistory,
    undated_documents: int,
    today: date,
) -> ChronicResult:
    """Chronic from Document Check: a current verification of disability, homeless now (by
    the recorded current living situation), and 12 documented months (``history``: documented
    homeless periods with the recorded breaks)."""
    missing: list[str] = []
    if not disability_verified:
        missing.append("disability_verification")
    if not homeless_now(situations, today):
        missing.append("current_living_situation")
    if not history.qualifies:
        if not history.episodes:
            missing.append("homelessness_documentation")
        if undated_documents:
            # Documents of homelessness without the period they show cannot be counted.
            missing.append("document_periods")
        missing.extend(history.missing())
    return ChronicResult(
        not missing, history.months, len(history.episodes), tuple(missing), days=history.nights
    )
