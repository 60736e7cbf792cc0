"""Housing inventory and matching vocabularies (DOMAIN 8 and 9; seed 001's Incoming Referrals,
Decline, Park, Stalled Matches and EHV sections: the Green River CAS match rules of TX-600).

Every list is a ``StrEnum`` (named string codes in the contract); models build their check
constraints from them and schemas their enums.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.reference.queue import ReferralStatus


def sql_in(column: str, values: type[StrEnum] | tuple[str, ...]) -> str:
    """``column IN ('a', 'b')`` for a check constraint."""
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


# --- inventory --------------------------------------------------------------------------------


class UnitStatus(StrEnum):
    """Where a unit stands; moved only by unit events (check-in, check-out, reservation,
    offline, online), never typed in. ``available`` units drive referrals."""

    AVAILABLE = "available"
    OCCUPIED = "occupied"  # a client is checked in
    RESERVED = "reserved"  # held for a client not referred through CAS
    OFFLINE = "offline"  # taken offline (persistently not really available, repairs, ...)


class UnitEventKind(StrEnum):
    CREATED = "created"
    CHECK_IN = "check_in"
    CHECK_OUT = "check_out"
    RESERVE = "reserve"
    RELEASE = "release"  # a reservation ends without a check-in
    TAKE_OFFLINE = "take_offline"
    BRING_ONLINE = "bring_online"


# Which event may happen in which status, and the status it leads to.
UNIT_EVENTS: dict[UnitEventKind, tuple[frozenset[UnitStatus], UnitStatus]] = {
    UnitEventKind.CHECK_IN: (
        frozenset({UnitStatus.AVAILABLE, UnitStatus.RESERVED}),
        UnitStatus.OCCUPIED,
    ),
    UnitEventKind.CHECK_OUT: (frozenset({UnitStatus.OCCUPIED}), UnitStatus.AVAILABLE),
    UnitEventKind.RESERVE: (frozenset({UnitStatus.AVAILABLE}), UnitStatus.RESERVED),
    UnitEventKind.RELEASE: (frozenset({UnitStatus.RESERVED}), UnitStatus.AVAILABLE),
    UnitEventKind.TAKE_OFFLINE: (
        frozenset({UnitStatus.AVAILABLE, UnitStatus.RESERVED}),
        UnitStatus.OFFLINE,
    ),
    UnitEventKind.BRING_ONLINE: (frozenset({UnitStatus.OFFLINE}), UnitStatus.AVAILABLE),
}


class OfflineReason(StrEnum):
    """Why a unit is taken offline (seed 001: units persistently left "available" with no real
    availability are taken offline at the HMIS team's request)."""

    REPAIRS = "repairs"
    INSPECTION = "inspection"
    NOT_REALLY_AVAILABLE = "not_really_available"
    FUNDING_ENDED = "funding_ended"
    OTHER = "other"  # needs an explanation


# --- eligibility requirements -----------------------------------------------------------------


class RequirementKind(StrEnum):
    """What a project's eligibility requirement tests (DOMAIN 8; issue 13). Each is a predicate
    over the queue entry's household facts and the head of household's records, evaluated in
    SQL; ``must`` needs it true, ``must_not`` needs it not true (unknown counts as not true)."""

    CHRONIC = "chronic"  # chronically homeless, from recorded data or documented
    VETERAN = "veteran"
    VASH_ELIGIBLE = "vash_eligible"  # latest housing needs assessment: HUD-VASH eligible
    FAMILY_WITH_CHILDREN = "family_with_children"
    YOUTH = "youth"  # youth-headed household, 18-24
    VERIFIED_DISABILITY = "verified_disability"  # a disability verification on Document Check
    AREA_TIE = "area_tie"  # an area tie to ``area``
    SEX_OFFENDER_REGISTRY = "sex_offender_registry"  # lifetime registration (HNA)
    METH_CONVICTION = "meth_conviction"  # meth manufacturing on public housing property (HNA)
    HOUSEHOLD_SIZE = "household_size"  # between ``min_value`` and ``max_value`` people
    FITS_BEDROOMS = "fits_bedrooms"  # at most two people per bedroom of the unit (studio: 2)
    INCOME_CEILING = "income_ceiling"  # latest total monthly income <= ``max_value`` dollars


class Polarity(StrEnum):
    MUST = "must"
    MUST_NOT = "must_not"


# Parameters each kind needs.
REQUIREMENT_PARAMS: dict[RequirementKind, frozenset[str]] = {
    RequirementKind.AREA_TIE: frozenset({"area"}),
    RequirementKind.HOUSEHOLD_SIZE: frozenset({"min_value", "max_value"}),
    RequirementKind.INCOME_CEILING: frozenset({"max_value"}),
}
PEOPLE_PER_BEDROOM = 2


# --- matches ----------------------------------------------------------------------------------


class MatchStatus(StrEnum):
    """A match (referral) of a queue entry to a unit. ``sent`` -> ``accepted`` -> ``enrolled``
    (success); ``declined``, ``parked``, ``rejected``, ``no_show``, ``canceled`` end it. An EHV
    match goes ``sent`` -> ``ehv_navigation`` (CoC admin accepts) -> ``ehv_voucher_issued``
    (navigator) -> ``ehv_rfta_submitted`` (navigator accepts) -> ``ehv_case_management`` (CoC
    admin assigns the case-manager agency contact) -> ``enrolled``."""

    SENT = "sent"
    ACCEPTED = "accepted"
    ENROLLED = "enrolled"
    DECLINED = "declined"
    PARKED = "parked"
    REJECTED = "rejected"
    NO_SHOW = "no_show"
    CANCELED = "canceled"
    EHV_NAVIGATION = "ehv_navigation"
    EHV_VOUCHER_ISSUED = "ehv_voucher_issued"
    EHV_RFTA_SUBMITTED = "ehv_rfta_submitted"
    EHV_CASE_MANAGEMENT = "ehv_case_management"


ACTIVE_MATCH_STATUSES: tuple[MatchStatus, ...] = (
    MatchStatus.SENT,
    MatchStatus.ACCEPTED,
    MatchStatus.EHV_NAVIGATION,
    MatchStatus.EHV_VOUCHER_ISSUED,
    MatchStatus.EHV_RFTA_SUBMITTED,
    MatchStatus.EHV_CASE_MANAGEMENT,
)
EHV_STATUSES: tuple[MatchStatus, ...] = (
    MatchStatus.EHV_NAVIGATION,
    MatchStatus.EHV_VOUCHER_ISSUED,
    MatchStatus.EHV_RFTA_SUBMITTED,
    MatchStatus.EHV_CASE_MANAGEMENT,
)
# The partial unique indexes' condition: a match in one of these holds its unit / entry.
ACTIVE_SQL = sql_in("status", ACTIVE_MATCH_STATUSES)


class DeclineReason(StrEnum):
    """Seed 001, "Green River CAS allows providers to decline a match for the following
    reasons"; ``other`` needs an explanation (and the CAS team's agreement)."""

    NOT_ELIGIBLE_FOR_SERVICES = "not_eligible_for_services"
    NOT_ELIGIBLE_FOR_HOUSING_TYPE = "not_eligible_for_housing_type"
    NOT_ELIGIBLE_FUNDING_TYPE = "not_eligible_funding_type"
    ANOTHER_HOUSING_OPTION = "another_housing_option"
    OTHER = "other"


class ParkReason(StrEnum):
    """Seed 001's park reasons; ``other`` needs an explanation."""

    DISENGAGED = "disengaged"  # disengaged or cannot be contacted
    DECLINED_SERVICES = "declined_services"
    HIGHER_LEVEL_OF_CARE = "higher_level_of_care"
    SHORT_INCARCERATION = "short_incarceration"
    DECEASED = "deceased"
    ANOTHER_HOUSING_OPPORTUNITY = "another_housing_opportunity"
    OTHER = "other"


class ParkEndRule(StrEnum):
    """Seed 001's Parking FAQ: a natural end date when there is one (required); blank for an
    indefinite reason; 30 days from today for a client who disengaged (the default)."""

    NATURAL_DATE = "natural_date"
    INDEFINITE = "indefinite"
    THIRTY_DAYS = "thirty_days"
    OPTIONAL = "optional"  # a date if there is one, else indefinite


PARK_END_RULES: dict[ParkReason, ParkEndRule] = {
    ParkReason.DISENGAGED: ParkEndRule.THIRTY_DAYS,
    ParkReason.DECLINED_SERVICES: ParkEndRule.OPTIONAL,
    ParkReason.HIGHER_LEVEL_OF_CARE: ParkEndRule.OPTIONAL,
    ParkReason.SHORT_INCARCERATION: ParkEndRule.NATURAL_DATE,
    ParkReason.DECEASED: ParkEndRule.INDEFINITE,
    ParkReason.ANOTHER_HOUSING_OPPORTUNITY: ParkEndRule.INDEFINITE,
    ParkReason.OTHER: ParkEndRule.OPTIONAL,
}
DISENGAGED_PARK_DAYS = 30
# "If the system will not allow you to leave the date blank, you can enter 1 year": an end
# date is never more than a year ahead.
MAX_PARK_DAYS = 366


class CancelReason(StrEnum):
    """Why a CAS administrator closes a match."""

    BETTER_MATCH = "better_match"  # after a decline: the admin makes a more appropriate match
    NO_LONGER_NEEDS_HOUSING = "no_longer_needs_housing"
    UNIT_NOT_AVAILABLE = "unit_not_available"
    SENT_IN_ERROR = "sent_in_error"
    OTHER = "other"


class ProviderResult(StrEnum):
    """The provider's referral outcome (seed 001, "Record the Referral Outcome")."""

    CLIENT_ENROLLED = "client_enrolled"
    REJECTED = "rejected"
    NO_SHOW = "no_show"


# Provider result -> HUD 4.20.D ReferralResult (1 successful, 2 client rejected, 3 provider
# rejected) and the match status it leads to.
PROVIDER_RESULTS: dict[ProviderResult, tuple[int, MatchStatus]] = {
    ProviderResult.CLIENT_ENROLLED: (1, MatchStatus.ENROLLED),
    ProviderResult.REJECTED: (3, MatchStatus.REJECTED),
    ProviderResult.NO_SHOW: (2, MatchStatus.NO_SHOW),
}


class StallReason(StrEnum):
    """Why a match has not been answered (seed 001, "How to Manage Stalled Matches": respond
    whether the client is engaging, and list the reason); ``other`` needs a note."""

    GATHERING_DOCUMENTS = "gathering_documents"
    SCHEDULING_INTAKE = "scheduling_intake"
    UNIT_NOT_READY = "unit_not_ready"
    WAITING_ON_CLIENT_DECISION = "waiting_on_client_decision"
    CANNOT_CONTACT = "cannot_contact"
    CLIENT_DISENGAGED = "client_disengaged"
    CLIENT_INCARCERATED = "client_incarcerated"
    CLIENT_HOSPITALIZED = "client_hospitalized"
    OTHER = "other"


class StallState(StrEnum):
    """Derived at read time from the match's timestamps and the response policy."""

    ON_TIME = "on_time"
    ABOUT_TO_STALL = "about_to_stall"
    STALLED = "stalled"
    NOT_WAITING = "not_waiting"  # not waiting for a provider response (not ``sent``)


# The CoC's policy by default (seed 001: "respond within 10 days"), and the warning.
DEFAULT_STALL_AFTER_DAYS = 10
DEFAULT_WARN_DAYS_BEFORE = 2


# A match's status -> the queue entry's referral status (``reference.queue.ReferralStatus``).
REFERRAL_STATUS_OF: dict[MatchStatus, ReferralStatus] = {
    MatchStatus.SENT: ReferralStatus.SENT,
    MatchStatus.ACCEPTED: ReferralStatus.ACCEPTED,
    MatchStatus.EHV_NAVIGATION: ReferralStatus.ACCEPTED,
    MatchStatus.EHV_VOUCHER_ISSUED: ReferralStatus.ACCEPTED,
    MatchStatus.EHV_RFTA_SUBMITTED: ReferralStatus.ACCEPTED,
    MatchStatus.EHV_CASE_MANAGEMENT: ReferralStatus.ACCEPTED,
    MatchStatus.ENROLLED: ReferralStatus.ENROLLED,
    MatchStatus.PARKED: ReferralStatus.PARKED,
    MatchStatus.DECLINED: ReferralStatus.NONE,
    MatchStatus.REJECTED: ReferralStatus.NONE,
    MatchStatus.NO_SHOW: ReferralStatus.NONE,
    MatchStatus.CANCELED: ReferralStatus.NONE,
}

# --- HUD codes from the project ---------------------------------------------------------------

EHV_FUNDING_SOURCE = 52  # 2.06.1 HUD: PIH (Emergency Housing Voucher)
VASH_FUNDING_SOURCE = 20  # 2.06.1 HUD: HUD/VASH
JOINT_TH_RRH_FUNDING_SOURCE = 44  # 2.06.1 HUD: CoC - Joint Component TH/RRH

# 2.02.6 project types that have beds and units (HUD's Housing Inventory Count: ES entry/exit and
# night-by-night, TH, PSH, SH, PH housing only, PH housing with services, RRH). Units -- the
# vacancies CAS refers to -- exist only on them.
RESIDENTIAL_PROJECT_TYPES: dict[int, str] = {
    0: "Emergency Shelter - Entry Exit",
    1: "Emergency Shelter - Night-by-Night",
    2: "Transitional Housing",
    3: "PH - Permanent Supportive Housing",
    8: "Safe Haven",
    9: "PH - Housing Only",
    10: "PH - Housing with Services",
    13: "PH - Rapid Re-Housing",
}

# 2.02.6 project type -> 4.20.2 referral event.
REFERRAL_EVENT_BY_PROJECT_TYPE: dict[int, int] = {
    0: 10,  # ES entry/exit -> Emergency Shelter bed opening
    1: 10,
    2: 11,  # TH -> Transitional Housing bed/unit opening
    3: 14,  # PSH -> PSH project resource opening
    9: 15,  # PH housing only -> Other PH
    10: 15,  # PH housing with services -> Other PH
    12: 1,  # Homelessness Prevention -> Referral to Prevention Assistance project
    13: 13,  # RRH -> RRH project resource opening
}
EHV_REFERRAL_EVENT = 17
JOINT_TH_RRH_REFERRAL_EVENT = 12


def referral_event(project_type: int, funding_sources: set[int]) -> int | None:
    """The HUD 4.20.2 event of a referral to a project: 17 for an EHV program (by its funding
    source), 12 for a joint TH-RRH one, else by project type (13 RRH, 14 PSH, 15 other PH, 11 TH,
    10 ES); None when HUD has no referral event for the project type (Safe Haven, 8). HUD's 18
    (Housing Stability Voucher) is never chosen: no funding source marks an HSV program."""
    if EHV_FUNDING_SOURCE in funding_sources:
        return EHV_REFERRAL_EVENT
    if JOINT_TH_RRH_FUNDING_SOURCE in funding_sources:
        return JOINT_TH_RRH_REFERRAL_EVENT
    return REFERRAL_EVENT_BY_PROJECT_TYPE.get(project_type)


@dataclass(frozen=True)
class ExitDestination:
    """HUD 3.12 destination (and 3.12.A subsidy type) of a CE exit into the program."""

    destination: int
    subsidy_type: int | None


def exit_destination(project_type: int, funding_sources: set[int]) -> ExitDestination:
    """Where a household housed through a match goes, for the CE exit it is flagged for."""
    if project_type == 2:
        return ExitDestination(302, None)  # transitional housing for homeless persons
    if VASH_FUNDING_SOURCE in funding_sources:
        return ExitDestination(435, 419)  # rental with VASH subsidy
    if EHV_FUNDING_SOURCE in funding_sources:
        return ExitDestination(435, 420)  # rental with other ongoing subsidy
    if project_type == 13:
        return ExitDestination(435, 431)  # RRH or equivalent subsidy
    if project_type == 3:
        return ExitDestination(435, 439)  # permanent supportive housing
    return ExitDestination(435, 440)  # other PH dedicated to formerly homeless persons
