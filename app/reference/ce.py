"""Coordinated Entry vocabularies: CE events (4.20), diversion services, exit reasons, stages."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args

from typing_extensions import TypeAliasType

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

# Why a client leaves Coordinated Entry (DOMAIN 5 "Exit from CAS when ..." plus diversion).
EXIT_REASONS = (
    "no_longer_needs_permanent_housing",
    "left_coc_area",
    "enrolled_in_permanent_housing",
    "successfully_diverted",
)

# 5.03.1 DataCollectionStage of a workflow assessment.
STAGES = (1, 2, 3, 5)


class Outcome(StrEnum):
    """The Coordinated Entry outcome of an intake or update assessment: pending (enrolled, not
    queued), diverted (exited to a safe alternative) or placed (on the prioritization list)."""

    PENDING = "pending"
    DIVERTED = "diverted"
    PLACED = "placed"
