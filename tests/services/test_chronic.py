"""Chronic homelessness rules (24 CFR 578.3, HUD's recordkeeping toolkit, HMIS 3.917), pure:
months, episodes and breaks; HUD's logic at project start; "homeless now"; both results."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.reference import codes
from app.reference.chronic import (
    HOMELESS_SITUATIONS,
    AtProjectStart,
    ChronicResult,
    HomelessHistory,
    PriorLivingSituation,
    Situation,
    Stay,
    StayKind,
    chronic_at_project_start,
    documented_result,
    homeless_history,
    homeless_now,
    recorded_result,
    years_before,
)

TODAY = date(2026, 6, 15)
H, N, INST, V = StayKind.HOMELESS, StayKind.NOT_HOMELESS, StayKind.INSTITUTION, StayKind.NEUTRAL


def day(d: date) -> Stay:
    return Stay(H, d, d)


def monthly(first: tuple[int, int], count: int, dom: int = 15) -> list[Stay]:
    """One documented day (the ``dom``th) in each of ``count`` months from ``first``."""
    year, month = first
    out = []
    for _ in range(count):
        out.append(day(date(year, month, dom)))
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return out


# --- months -------------------------------------------------------------------------------------


def test_empty_input_counts_nothing() -> None:
    h = homeless_history([], TODAY)
    assert (h.months, h.episodes, h.breaks, h.continuous_months) == (0, (), (), 0)
    assert not h.qualifies
    assert h.missing() == ("homeless_months:12",)


def test_one_documented_day_counts_its_month() -> None:
    h = homeless_history([day(date(2026, 3, 31))], TODAY)
    assert h.months == 1
    assert [e.months for e in h.episodes] == [((2026, 3),)]


def test_a_period_across_a_month_boundary_counts_both_months() -> None:
    h = homeless_history([Stay(H, date(2026, 1, 31), date(2026, 2, 1))], TODAY)
    assert h.months == 2
    across_years = homeless_history([Stay(H, date(2025, 12, 31), date(2026, 1, 1))], TODAY)
    assert across_years.episodes[0].months == ((2025, 12), (2026, 1))


def test_twelve_consecutive_documented_months_are_continuous() -> None:
    h = homeless_history(monthly((2025, 7), 12), TODAY)
    assert (h.months, len(h.episodes), h.continuous_months) == (12, 1, 12)
    assert h.continuous and h.qualifies and h.missing() == ()


def test_eleven_months_are_one_short() -> None:
    h = homeless_history(monthly((2025, 8), 11), TODAY)
    assert not h.qualifies
    assert h.missing() == ("homeless_months:1",)


def test_an_undocumented_month_is_not_counted_and_is_no_break() -> None:
    stays = [s for s in monthly((2025, 6), 13) if s.first.month != 12]  # December missing
    h = homeless_history(stays, TODAY)
    assert h.months == 12
    assert len(h.episodes) == 1  # a gap without evidence does not split the episode
    assert h.continuous_months == 6  # January to June 2026
    assert not h.qualifies
    assert h.missing() == ("continuity_or_episodes",)


# --- breaks -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("nights", "episodes"), [(6, 1), (7, 2)])
def test_seven_nights_not_homeless_break_six_do_not(nights: int, episodes: int) -> None:
    gap_first = date(2026, 1, 11)
    gap_last = gap_first + timedelta(days=nights - 1)
    stays = [
        Stay(H, date(2026, 1, 1), date(2026, 1, 10)),
        Stay(N, gap_first, gap_last),
        Stay(H, gap_last + timedelta(days=1), date(2026, 2, 5)),
    ]
    h = homeless_history(stays, TODAY)
    assert len(h.episodes) == episodes
    assert h.months == 2
    assert bool(h.breaks) == (nights == 7)


def test_seven_nights_made_of_two_adjacent_stays_break() -> None:
    stays = [
        Stay(H, date(2026, 1, 1), date(2026, 1, 10)),
        Stay(N, date(2026, 1, 11), date(2026, 1, 14)),  # family, 4 nights
        Stay(N, date(2026, 1, 15), date(2026, 1, 17)),  # a motel, 3 nights
        Stay(H, date(2026, 1, 18), date(2026, 1, 20)),
    ]
    assert len(homeless_history(stays, TODAY).episodes) == 2


@pytest.mark.parametrize(("nights", "months", "episodes"), [(89, 5, 1), (90, 2, 2)])
def test_institution_stays_break_at_90_nights(nights: int, months: int, episodes: int) -> None:
    # Homeless in January, then in an institution from 1 February (2026: 28 days).
    entered = date(2026, 2, 1)
    left = entered + timedelta(days=nights - 1)  # 89 nights: through 30 April
    stays = [
        Stay(H, date(2026, 1, 1), date(2026, 1, 31)),
        Stay(INST, entered, left),
        Stay(H, left + timedelta(days=1), date(2026, 5, 10)),
    ]
    h = homeless_history(stays, TODAY)
    # Under 90 nights the stay counts as homeless time (February to April); at 90 it breaks.
    assert (h.months, len(h.episodes)) == (months, episodes)


def test_a_short_institution_stay_not_after_homelessness_counts_neither_way() -> None:
    alone = homeless_history([Stay(INST, date(2026, 2, 1), date(2026, 3, 1))], TODAY)
    assert (alone.months, alone.episodes, alone.breaks) == (0, (), ())
    after_housing = homeless_history(
        [
            Stay(H, date(2026, 1, 1), date(2026, 1, 5)),
            Stay(N, date(2026, 1, 6), date(2026, 1, 8)),  # 3 nights: no break
            Stay(INST, date(2026, 1, 9), date(2026, 3, 1)),
            Stay(H, date(2026, 3, 2), date(2026, 3, 3)),
        ],
        TODAY,
    )
    assert after_housing.months == 2  # January and March; February not counted
    assert len(after_housing.episodes) == 1


def test_a_veteran_in_va_transitional_housing_keeps_the_episode() -> None:
    stays = [
        Stay(H, date(2025, 11, 1), date(2026, 1, 31)),
        Stay(V, date(2026, 2, 1), date(2026, 4, 30)),
        Stay(H, date(2026, 5, 1), date(2026, 6, 1)),
    ]
    h = homeless_history(stays, TODAY)
    assert (h.months, len(h.episodes), h.breaks) == (5, 1, ())
    as_a_break = homeless_history(
        [Stay(N, s.first, s.last) if s.kind == V else s for s in stays], TODAY
    )
    assert len(as_a_break.episodes) == 2


# --- overlaps, the future, the window ------------------------------------------------------------


def test_overlapping_periods_count_each_month_once() -> None:
    stays = [
        Stay(H, date(2026, 1, 1), date(2026, 3, 31)),
        Stay(H, date(2026, 2, 10), date(2026, 4, 2)),
        day(date(2026, 3, 3)),
    ]
    h = homeless_history(stays, TODAY)
    assert (h.months, len(h.episodes)) == (4, 1)


def test_evidence_of_a_break_wins_over_an_overlapping_homeless_period() -> None:
    stays = [
        Stay(H, date(2026, 1, 1), date(2026, 3, 31)),
        Stay(N, date(2026, 2, 1), date(2026, 2, 28)),  # transitional housing in February
    ]
    h = homeless_history(stays, TODAY)
    assert (h.months, len(h.episodes)) == (2, 2)
    assert h.breaks == ((date(2026, 2, 1), date(2026, 2, 28)),)


def test_nights_after_today_are_ignored() -> None:
    h = homeless_history([Stay(H, date(2026, 5, 1), date(2026, 12, 31))], TODAY)
    assert h.episodes[0].months == ((2026, 5), (2026, 6))
    assert h.episodes[0].last == TODAY
    future = homeless_history([Stay(H, date(2026, 7, 1), date(2026, 8, 1))], TODAY)
    assert future.months == 0
    upcoming_break = homeless_history(
        [*monthly((2025, 7), 12), Stay(N, date(2026, 6, 16), date(2026, 9, 1))], TODAY
    )
    assert upcoming_break.continuous


def test_months_older_than_three_years_are_not_counted() -> None:
    # The window: the nights after 15 June 2023, up to 15 June 2026.
    h = homeless_history([day(date(2023, 6, 15)), day(date(2023, 6, 16))], TODAY)
    assert h.months == 1
    assert homeless_history([day(date(2023, 6, 15))], TODAY).episodes == ()


def test_leap_day() -> None:
    assert years_before(date(2028, 2, 29), 3) == date(2025, 2, 28)
    assert years_before(date(2028, 2, 29), 4) == date(2024, 2, 29)
    today = date(2028, 2, 29)
    # The window starts on 1 March 2025; 29 February 2028 itself counts February.
    assert homeless_history([day(date(2025, 2, 28))], today).months == 0
    assert homeless_history([day(date(2025, 3, 1))], today).months == 1
    h = homeless_history([day(date(2028, 2, 29))], today)
    assert h.episodes[0].months == ((2028, 2),)
    # Twelve months ending with the leap day's month.
    assert homeless_history(monthly((2027, 3), 12, dom=29), today).continuous


def test_a_break_after_twelve_months_ends_the_continuous_episode() -> None:
    stays = [*monthly((2025, 6), 12), Stay(N, date(2026, 6, 1), TODAY)]
    h = homeless_history(stays, TODAY)
    assert (h.months, len(h.episodes)) == (12, 1)
    assert not h.current_episode and h.continuous_months == 0
    assert not h.qualifies
    assert h.missing() == ("continuity_or_episodes",)


# --- episodes -----------------------------------------------------------------------------------


def _episodes(*spans: tuple[date, date]) -> list[Stay]:
    """Homeless over each span, with two weeks of housing after each but the last."""
    stays = []
    for i, (first, last) in enumerate(spans):
        stays.append(Stay(H, first, last))
        if i < len(spans) - 1:
            stays.append(Stay(N, last + timedelta(days=1), last + timedelta(days=14)))
    return stays


def test_four_episodes_spanning_three_years_totalling_twelve_months() -> None:
    stays = _episodes(
        (date(2023, 7, 1), date(2023, 9, 30)),
        (date(2024, 3, 1), date(2024, 5, 31)),
        (date(2025, 1, 1), date(2025, 3, 31)),
        (date(2026, 3, 1), date(2026, 5, 31)),
    )
    h = homeless_history(stays, TODAY)
    assert (h.months, len(h.episodes)) == (12, 4)
    assert not h.continuous and h.episodic and h.qualifies


def test_an_episode_before_the_three_years_does_not_count() -> None:
    stays = _episodes(
        (date(2023, 5, 1), date(2023, 6, 10)),  # before 16 June 2023
        (date(2024, 3, 1), date(2024, 6, 30)),
        (date(2025, 1, 1), date(2025, 4, 30)),
        (date(2026, 2, 1), date(2026, 5, 31)),
    )
    h = homeless_history(stays, TODAY)
    assert (h.months, len(h.episodes)) == (12, 3)
    assert not h.qualifies
    assert h.missing() == ("continuity_or_episodes",)


def test_four_episodes_short_of_twelve_months() -> None:
    stays = _episodes(
        (date(2023, 7, 1), date(2023, 8, 31)),
        (date(2024, 3, 1), date(2024, 5, 31)),
        (date(2025, 1, 1), date(2025, 3, 31)),
        (date(2026, 3, 1), date(2026, 5, 31)),
    )
    h = homeless_history(stays, TODAY)
    assert (h.months, len(h.episodes)) == (11, 4)
    assert h.missing() == ("homeless_months:1",)


# --- HUD's logic at project start (3.917) --------------------------------------------------------

ENTRY = date(2026, 3, 1)


def prior(**fields: object) -> PriorLivingSituation:
    values: dict[str, object] = {
        "entry_date": ENTRY,
        "project_type": 14,
        "living_situation": 116,
        "length_of_stay": 5,
        "los_under_threshold": None,
        "previous_street_essh": None,
        "date_to_street_essh": None,
        "times_homeless_past_three_years": None,
        "months_homeless_past_three_years": None,
    }
    values.update(fields)
    return PriorLivingSituation(**values)  # type: ignore[arg-type]


def test_homeless_situations_are_the_homeless_group() -> None:
    assert {c for c in codes("3.12.1") if 100 <= c <= 199} == HOMELESS_SITUATIONS


@pytest.mark.parametrize(("days", "chronic"), [(365, True), (364, None)])
def test_episode_started_365_days_before_entry(days: int, chronic: bool | None) -> None:
    r = chronic_at_project_start(prior(date_to_street_essh=ENTRY - timedelta(days=days)))
    assert r.chronic is chronic
    if chronic:
        assert r.months == 13 and r.episodes == 1  # March 2025 to March 2026
    else:
        assert r.missing == ("times_homeless_past_three_years",)


@pytest.mark.parametrize(
    ("times", "months", "chronic", "missing"),
    [
        (4, 112, True, ()),
        (4, 113, True, ()),
        (4, 111, False, ()),
        (3, 113, False, ()),
        (8, None, None, ("times_homeless_past_three_years",)),
        (4, 99, None, ("months_homeless_past_three_years",)),
    ],
)
def test_times_and_months_homeless(
    times: int, months: int | None, chronic: bool | None, missing: tuple[str, ...]
) -> None:
    r = chronic_at_project_start(
        prior(
            date_to_street_essh=ENTRY - timedelta(days=30),
            times_homeless_past_three_years=times,
            months_homeless_past_three_years=months,
        )
    )
    assert (r.chronic, r.missing) == (chronic, missing)
    if months == 113:
        assert r.months == 13  # "more than 12"


def test_nothing_about_the_episode_is_missing_both() -> None:
    r = chronic_at_project_start(prior(times_homeless_past_three_years=99))
    assert r.missing == ("date_to_street_essh", "times_homeless_past_three_years")


def test_short_institution_stay_after_the_street() -> None:
    fields = {"living_situation": 204, "length_of_stay": 3, "los_under_threshold": 1}
    yes = prior(**fields, previous_street_essh=1, date_to_street_essh=date(2024, 12, 1))
    assert chronic_at_project_start(yes).chronic is True
    no = prior(**fields, previous_street_essh=0)
    assert chronic_at_project_start(no) == AtProjectStart(False, 0, 0)
    long_stay = prior(living_situation=204, length_of_stay=4, los_under_threshold=0)
    assert chronic_at_project_start(long_stay).chronic is False


def test_other_situations_need_both_break_answers() -> None:
    assert chronic_at_project_start(
        prior(living_situation=410, length_of_stay=10, los_under_threshold=99)
    ).missing == ("los_under_threshold",)
    assert chronic_at_project_start(
        prior(living_situation=410, length_of_stay=10, los_under_threshold=1)
    ).missing == ("previous_street_essh",)
    assert chronic_at_project_start(prior(living_situation=None, length_of_stay=None)).missing == (
        "living_situation",
    )


def test_shelter_and_outreach_projects_skip_the_prior_situation() -> None:
    r = chronic_at_project_start(
        prior(
            project_type=0,
            living_situation=410,
            length_of_stay=5,
            los_under_threshold=0,
            date_to_street_essh=date(2024, 1, 1),
        )
    )
    assert r.chronic is True


# --- homeless now -------------------------------------------------------------------------------


def test_homeless_now_is_the_latest_situation() -> None:
    street, housed = Situation(H, date(2026, 6, 1)), Situation(N, date(2026, 6, 10))
    assert homeless_now([street], TODAY)
    assert not homeless_now([housed, street], TODAY)
    assert homeless_now([housed, Situation(H, date(2026, 6, 12))], TODAY)
    assert not homeless_now([], TODAY)
    # Tomorrow's record does not count yet.
    assert homeless_now([street, Situation(N, date(2026, 6, 16))], TODAY)


@pytest.mark.parametrize(("days_in", "now"), [(89, True), (90, False)])
def test_in_an_institution_under_90_days_after_homelessness(days_in: int, now: bool) -> None:
    entered = TODAY - timedelta(days=days_in)
    seen = [Situation(H, entered - timedelta(days=1)), Situation(INST, TODAY, since=entered)]
    assert homeless_now(seen, TODAY) is now
    after_housing = [
        Situation(N, entered - timedelta(days=1)),
        Situation(INST, TODAY, since=entered),
    ]
    assert not homeless_now(after_housing, TODAY)


# --- the two results ----------------------------------------------------------------------------


def _history(stays: list[Stay]) -> HomelessHistory:
    return homeless_history(stays, TODAY)


def test_recorded_missing_names_every_gap_and_chronic_means_none() -> None:
    street = [Situation(H, date(2026, 6, 1))]
    r = recorded_result(
        disabled=False,
        situations=[],
        history=_history([]),
        at_start=None,
        entry_date=None,
        today=TODAY,
    )
    assert r == ChronicResult(
        False,
        0,
        0,
        (
            "disabling_condition",
            "current_living_situation",
            "prior_living_situation",
            "homeless_months:12",
        ),
    )
    by_answers = recorded_result(
        disabled=True,
        situations=street,
        history=_history([day(date(2026, 6, 1))]),
        at_start=AtProjectStart(True, 13, 4),
        entry_date=ENTRY,
        today=TODAY,
    )
    assert by_answers == ChronicResult(True, 13, 4, ())


def test_recorded_answers_stop_holding_after_a_break() -> None:
    r = recorded_result(
        disabled=True,
        situations=[Situation(H, date(2026, 6, 1))],
        history=_history([Stay(N, date(2026, 4, 1), date(2026, 4, 20)), day(date(2026, 6, 1))]),
        at_start=AtProjectStart(True, 13, 4),
        entry_date=ENTRY,
        today=TODAY,
    )
    assert not r.chronic
    assert r.missing == ("homeless_months:11",)
    assert (r.months, r.episodes) == (1, 1)


def test_recorded_by_history_alone() -> None:
    r = recorded_result(
        disabled=True,
        situations=[Situation(H, date(2026, 6, 1))],
        history=_history(monthly((2025, 7), 12)),
        at_start=AtProjectStart(None, 0, 0, ("times_homeless_past_three_years",)),
        entry_date=ENTRY,
        today=TODAY,
    )
    assert r == ChronicResult(True, 12, 1, ())


def test_documented_missing() -> None:
    r = documented_result(
        disability_verified=False,
        situations=[Situation(H, date(2026, 6, 1))],
        history=_history([]),
        undated_documents=2,
        today=TODAY,
    )
    assert r == ChronicResult(
        False,
        0,
        0,
        (
            "disability_verification",
            "homelessness_documentation",
            "document_periods",
            "homeless_months:12",
        ),
    )
    ok = documented_result(
        disability_verified=True,
        situations=[Situation(H, date(2026, 6, 1))],
        history=_history(monthly((2025, 7), 12)),
        undated_documents=1,
        today=TODAY,
    )
    assert ok == ChronicResult(True, 12, 1, ())
