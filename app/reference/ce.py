"""Coordinated Entry vocabularies: CE events (4.20), diversion services, exit reasons, stages."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal, get_args

from typing_extensions import TypeAliasType

from app.errors import ValidationFailed
from app.reference import codes

# The "Quick Services" offered at a CAS exit for a successful diversion. "Successful Diversion
# Other" requires a case note describing the service.
DiversionService = TypeAliasType(
    "DiversionService",
    Literal[
        "family_reunification",
        "conflict_mediation",
        "financial_assistance",
        "transportation_assistance",
        "housing_search_assistance",
        "connection_to_mainstream_resources",
        "successful_diversion_other",
    ],
)
DIVERSION_SERVICES: tuple[str, ...] = get_args(DiversionService.__value__)
DIVERSION_OTHER = "successful_diversion_other"

CE_EVENTS = codes("4.20.2")
# Which result fields belong to which CE event type (4.20).
EVENT_WITH_DIVERSION_RESULT = frozenset({2})
EVENT_WITH_CASE_MANAGE_AFTER = frozenset({5})
EVENTS_WITH_REFERRAL_RESULT = frozenset({10, 11, 12, 13, 14, 15, 17, 18})

# Barriers (HUD Disabilities.csv DisabilityType 5-10; 10 = substance use, answered from 4.10.2).
DISABILITY_TYPES = frozenset({5, 6, 7, 8, 9, 10})
SUBSTANCE_USE = 10
SUBSTANCE_USE_RESPONSES = codes("4.10.2")

# 4.19 Coordinated Entry Assessment and 4.20.D referral result.
CE_ASSESSMENT_TYPES = codes("4.19.3")
CE_ASSESSMENT_LEVELS = codes("4.19.4")
PRIORITIZATION_STATUSES = codes("4.19.7")
REFERRAL_RESULTS = codes("4.20.D")

# Why a client leaves Coordinated Entry (DOMAIN 5 "Exit from CAS when ..." plus diversion), and
# exits loaded from another HMIS's CSV export, whose reason the CSV does not carry.
EXIT_REASONS = (
    "no_longer_needs_permanent_housing",
    "left_coc_area",
    "enrolled_in_permanent_housing",
    "successfully_diverted",
    "recorded_in_hmis",
)
IMPORTED_EXIT_REASON = "recorded_in_hmis"

# 5.03.1 DataCollectionStage of a workflow assessment.
STAGES = (1, 2, 3, 5)
ANNUAL_STAGE = 5
# HUD: an annual assessment is recorded no more than 30 days before or after the anniversary of
# the head of household's project start date.
ANNUAL_WINDOW_DAYS = 30


def anniversary(entry_date: date, year: int) -> date:
    """``entry_date``'s anniversary in ``year`` (29 February falls on the 28th)."""
    try:
        return entry_date.replace(year=year)
    except ValueError:
        return entry_date.replace(year=year, day=28)


def nearest_anniversary(entry_date: date, on: date) -> date:
    """The anniversary (first one at the earliest) closest to ``on``."""
    first = entry_date.year + 1
    years = range(max(first, on.year - 1), max(first, on.year + 1) + 1)
    return min((anniversary(entry_date, y) for y in years), key=lambda d: abs((d - on).days))


def check_annual_window(head_entry_date: date, on: date, field: str) -> None:
    """5.03.1 stage 5: ``on`` lies within 30 days of an anniversary of the head's entry."""
    nearest = nearest_anniversary(head_entry_date, on)
    if abs((nearest - on).days) > ANNUAL_WINDOW_DAYS:
        raise ValidationFailed(
            f"HUD 5.03 (annual assessment): an annual assessment (data_collection_stage 5) is "
            f"recorded within {ANNUAL_WINDOW_DAYS} days of the anniversary of the head of "
            f"household's entry date {head_entry_date} (nearest anniversary: {nearest}).",
            field=field,
        )


class Outcome(StrEnum):
    """The Coordinated Entry outcome of an intake or update assessment: pending (enrolled, not
    queued), diverted (exited to a safe alternative) or placed (on the prioritization list)."""

    PENDING = "pending"
    DIVERTED = "diverted"
    PLACED = "placed"
