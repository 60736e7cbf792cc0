"""HUD living-situation code lists and their conditional rules (FY2026).

One master list (3.12.1) serves three fields, each excluding different codes:

* Prior Living Situation (3.917.1) excludes 312, 313, 327, 422, 423, 426, 30, 17, 24, 37;
* Current Living Situation (4.12.2) excludes 312, 313, 327, 422, 423, 426, 30, 24;
* Destination (3.12.1) excludes 335, 336, 37.

Subsidy type (3.12.A) is required when the situation/destination is 435 and null otherwise. The
3.917 block follows HUD's skip logic (see ``check_prior_living_situation``). Every check raises
``ValidationFailed`` naming the offending field (``prefix`` is the field's path in the body).

The models build their check constraints from these lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from app.errors import ValidationFailed
from app.reference import YES_NO, YES_NO_REASONS, codes

LIVING_SITUATIONS = codes("3.12.1")
SUBSIDY_TYPES = codes("3.12.A")
PRIOR_LIVING_SITUATIONS = LIVING_SITUATIONS - {312, 313, 327, 422, 423, 426, 30, 17, 24, 37}
CURRENT_LIVING_SITUATIONS = LIVING_SITUATIONS - {312, 313, 327, 422, 423, 426, 30, 24}
DESTINATIONS = LIVING_SITUATIONS - {335, 336, 37}
WITH_SUBSIDY = 435
OTHER_DESTINATION = 17

LENGTH_OF_STAY = codes("3.917.2")
TIMES_HOMELESS = codes("3.917.4")
MONTHS_HOMELESS = codes("3.917.5")

# 4.12.B LeaveSituation14Days is asked only for these current living situations.
LEAVE_SITUATION_ASKED = frozenset(
    {215, 206, 207, 225, 204, 205, 302, 329, 314, 332, 336, 335, 410, 435, 421, 411}
)
LEAVE_SITUATION_FOLLOW_UPS = (
    "subsequent_residence",
    "resources_to_obtain",
    "lease_own_60_day",
    "moved_two_or_more",
)
# Their HUD element numbers (4.12.C-F).
_FOLLOW_UP_ELEMENTS = dict(
    zip(LEAVE_SITUATION_FOLLOW_UPS, ("4.12.C", "4.12.D", "4.12.E", "4.12.F"), strict=True)
)

# A successful diversion (4.20.A ProbSolDivRRResult 1) houses the household in a safe
# alternative: a temporary or permanent destination (3xx, 4xx) -- not a homeless or
# institutional one, not 8/9/99/30/17/24, and not transitional housing for homeless persons (302),
# which is a stay in the homeless system.
DIVERSION_DESTINATIONS = frozenset(c for c in DESTINATIONS if c // 100 in (3, 4) and c != 302)
# The current living situation (4.12) that corresponds to each diversion destination (seed 001:
# "Choose the living situation that corresponds to their Exit Destination"): staying with
# family or friends (temporary or permanent tenure) is a stay in their room, apartment or house
# (335, 336); HOPWA housing is the closest 4.12 situation; the others are the same code.
EXIT_CLS_FOR_DESTINATION: dict[int, frozenset[int]] = {
    312: frozenset({335}),
    313: frozenset({336}),
    422: frozenset({335}),
    423: frozenset({336}),
    327: frozenset({302}),
    426: frozenset({435, 421}),
    **{c: frozenset({c}) for c in (314, 329, 332, 410, 411, 421, 435)},
}

# Length-of-stay codes below HUD's thresholds for the 3.917 "break" questions.
_UNDER_90_DAYS = frozenset({10, 11, 2, 3})
_UNDER_7_NIGHTS = frozenset({10, 11})


def group(code: int) -> str:
    """homeless (1xx), institutional (2xx), temporary (3xx), permanent (4xx) or other."""
    return {1: "homeless", 2: "institutional", 3: "temporary", 4: "permanent"}.get(
        code // 100, "other"
    )


def _path(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _fail(prefix: str, name: str, msg: str) -> ValidationFailed:
    return ValidationFailed(msg, field=_path(prefix, name))


def check_code(value: int | None, allowed: frozenset[int], prefix: str, name: str) -> None:
    if value is not None and value not in allowed:
        raise _fail(prefix, name, f"{value} is not an allowed code for {name}.")


def check_subsidy(situation: int | None, subsidy: int | None, prefix: str, name: str) -> None:
    if situation == WITH_SUBSIDY and subsidy is None:
        raise _fail(prefix, name, f"{name} is required when the living situation is 435.")
    if situation != WITH_SUBSIDY and subsidy is not None:
        raise _fail(prefix, name, f"{name} must be empty unless the living situation is 435.")
    check_code(subsidy, SUBSIDY_TYPES, prefix, name)


def check_prior_living_situation(block: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Validate a 3.917 block; returns it with LOSUnderThreshold derived when left out.

    * homeless situations (1xx): length of stay, then date to street/ES/SH, times and months
      homeless in the past three years are asked;
    * institutional (2xx): LOSUnderThreshold = stay under 90 days; temporary/permanent (3xx, 4xx)
      and 8/9/99 (HUD groups "doesn't know / prefers not to answer / not collected" with them):
      stay under 7 nights; only when under the threshold is PreviousStreetESSH asked, and only when
      that is Yes are the date/times/months asked;
    * the length of stay is asked for every situation (HUD collects it for all adults and heads
      of household); it is required except when the situation itself is 8/9/99, where without a
      length of stay nothing further is asked.

    ``DateToStreetESSH`` cannot be after the entry date (so not in the future either, the entry
    date being checked against the CoC's today): see ``check_prior_dates``.
    """
    out = dict(block)
    situation = out.get("living_situation")
    check_code(situation, PRIOR_LIVING_SITUATIONS, prefix, "living_situation")
    check_subsidy(situation, out.get("rental_subsidy_type"), prefix, "rental_subsidy_type")
    los = out.get("length_of_stay")
    check_code(los, LENGTH_OF_STAY, prefix, "length_of_stay")
    check_code(out.get("los_under_threshold"), YES_NO, prefix, "los_under_threshold")
    check_code(out.get("previous_street_essh"), YES_NO, prefix, "previous_street_essh")
    check_code(
        out.get("times_homeless_past_three_years"),
        TIMES_HOMELESS,
        prefix,
        "times_homeless_past_three_years",
    )
    check_code(
        out.get("months_homeless_past_three_years"),
        MONTHS_HOMELESS,
        prefix,
        "months_homeless_past_three_years",
    )
    history = (
        "date_to_street_essh",
        "times_homeless_past_three_years",
        "months_homeless_past_three_years",
    )
    kind = group(situation) if situation is not None else "other"
    if los is None:
        if kind != "other":
            raise _fail(prefix, "length_of_stay", "length_of_stay is required.")
        for name in ("los_under_threshold", "previous_street_essh", *history):
            if out.get(name) is not None:
                raise _fail(
                    prefix, name, f"{name} is not asked without a length_of_stay for {situation}."
                )
        return out
    if kind == "homeless":
        for name in ("los_under_threshold", "previous_street_essh"):
            if out.get(name) is not None:
                raise _fail(prefix, name, f"{name} is not asked for homeless situations.")
        asks_history = True
    else:
        threshold = _UNDER_90_DAYS if kind == "institutional" else _UNDER_7_NIGHTS
        under = 1 if los in threshold else 0
        if los in (8, 9, 99):
            under = 99
        given = out.get("los_under_threshold")
        if given is None:
            out["los_under_threshold"] = given = under
        elif under != 99 and given != under:
            raise _fail(
                prefix, "los_under_threshold", "los_under_threshold contradicts length_of_stay."
            )
        if given == 1:
            if out.get("previous_street_essh") is None:
                raise _fail(
                    prefix,
                    "previous_street_essh",
                    "previous_street_essh is required when the stay was under the threshold.",
                )
        elif out.get("previous_street_essh") is not None:
            raise _fail(
                prefix,
                "previous_street_essh",
                "previous_street_essh is asked only when the stay was under the threshold.",
            )
        asks_history = out.get("previous_street_essh") == 1
    for name in history:
        if asks_history and out.get(name) is None:
            raise _fail(prefix, name, f"{name} is required for this living situation.")
        if not asks_history and out.get(name) is not None:
            raise _fail(prefix, name, f"{name} is not asked for this living situation.")
    return out


def check_prior_dates(block: Mapping[str, Any], entry_date: date, prefix: str) -> None:
    """3.917.3: the approximate date homelessness started lies on or before the entry date."""
    street = block.get("date_to_street_essh")
    if isinstance(street, date) and street > entry_date:
        raise _fail(
            prefix,
            "date_to_street_essh",
            f"date_to_street_essh is after the entry date {entry_date}.",
        )


def check_current_living_situation(
    cls: Mapping[str, Any], prefix: str, today: date, *, coordinated_entry: bool = True
) -> None:
    """4.12 with its conditional fields; ``verified_by`` only on a CE (ProjectType 14) project."""
    situation = cls.get("current_living_situation")
    check_code(situation, CURRENT_LIVING_SITUATIONS, prefix, "current_living_situation")
    check_subsidy(situation, cls.get("cls_subsidy_type"), prefix, "cls_subsidy_type")
    if cls.get("verified_by") and not coordinated_entry:
        raise _fail(prefix, "verified_by", "verified_by is recorded only by Coordinated Entry.")
    leave = cls.get("leave_situation_14_days")
    check_code(leave, YES_NO_REASONS, prefix, "leave_situation_14_days")
    if leave is not None and situation not in LEAVE_SITUATION_ASKED:
        raise _fail(
            prefix,
            "leave_situation_14_days",
            f"HUD 4.12.B: leave_situation_14_days is not asked for living situation {situation}.",
        )
    if leave is None and situation in LEAVE_SITUATION_ASKED:
        raise _fail(
            prefix,
            "leave_situation_14_days",
            "HUD 4.12.B: leave_situation_14_days (must the client leave within 14 days?) is "
            f"required for living situation {situation}.",
        )
    for name in LEAVE_SITUATION_FOLLOW_UPS:
        value = cls.get(name)
        element = _FOLLOW_UP_ELEMENTS[name]
        check_code(value, YES_NO_REASONS, prefix, name)
        if value is not None and leave != 1:
            raise _fail(
                prefix,
                name,
                f"HUD {element}: {name} is asked only when leave_situation_14_days is 1.",
            )
        if value is None and leave == 1:
            raise _fail(
                prefix,
                name,
                f"HUD {element}: {name} is required when leave_situation_14_days is 1 (Yes).",
            )
    check_not_future(cls.get("information_date"), prefix, "information_date", today)


def check_destination(exit_: Mapping[str, Any], prefix: str) -> None:
    destination = exit_.get("destination")
    check_code(destination, DESTINATIONS, prefix, "destination")
    check_subsidy(
        destination, exit_.get("destination_subsidy_type"), prefix, "destination_subsidy_type"
    )
    if exit_.get("other_destination") and destination != OTHER_DESTINATION:
        raise _fail(prefix, "other_destination", "other_destination is only for destination 17.")
    if destination == OTHER_DESTINATION and not exit_.get("other_destination"):
        raise _fail(
            prefix,
            "other_destination",
            "HUD 3.12.B: other_destination (specify) is required for destination 17 (Other).",
        )


def check_diversion_exit(
    destination: int,
    destination_subsidy_type: int | None,
    cls: Mapping[str, Any] | None,
    prefix: str,
    cls_field: str,
) -> None:
    """A successful diversion's destination is a housing destination
    (``DIVERSION_DESTINATIONS``) and the current living situation at exit corresponds to it
    (``EXIT_CLS_FOR_DESTINATION``; with the same subsidy type for 435)."""
    if destination not in DIVERSION_DESTINATIONS:
        raise _fail(
            prefix,
            "destination",
            f"HUD 3.12 / 4.20.A: a successful diversion houses the household in a safe "
            f"alternative, so destination {destination} is not possible: use a temporary or "
            "permanent housing destination (3xx or 4xx other than 302), or answer diverted: "
            "false.",
        )
    if cls is None:
        return
    situation = cls.get("current_living_situation")
    expected = EXIT_CLS_FOR_DESTINATION[destination]
    path = _path(prefix, cls_field)
    if situation not in expected:
        raise _fail(
            path,
            "current_living_situation",
            f"HUD 4.12.2: the current living situation at a diversion exit corresponds to the "
            f"destination: {destination} -> {' or '.join(str(c) for c in sorted(expected))}.",
        )
    if (
        situation == WITH_SUBSIDY
        and destination == WITH_SUBSIDY
        and cls.get("cls_subsidy_type") != destination_subsidy_type
    ):
        raise _fail(
            path,
            "cls_subsidy_type",
            "HUD 4.12.A: the subsidy type at exit is the destination's subsidy type "
            f"({destination_subsidy_type}).",
        )


def check_not_future(value: date | None, prefix: str, name: str, today: date) -> None:
    """``today``: the CoC's date (``app.clock.today(actor)``)."""
    if value is not None and value > today:
        raise _fail(prefix, name, f"{name} cannot be in the future.")
