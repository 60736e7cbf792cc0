"""The CAS & Diversion Intake: one atomic request for DOMAIN 5 steps 1-9."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Response, status

from app import clock
from app.deps import Cipher, Session
from app.http.contract import ETAG, LOCATION, documented
from app.http.etag import set_etag
from app.routers import api_router
from app.routers.enrollments import WriteActor
from app.schemas.common import problems
from app.schemas.enrollments import (
    ExitRead,
    IntakeCreate,
    IntakeRead,
    QueueEntryRead,
)
from app.services.ce import enrollments as enrollment_service
from app.services.ce.intake import create_intake
from app.services.clients import core as client_service

router = api_router("/cas", "intake")

_BARRIERS_NONE = [
    {"disability_type": 5, "disability_response": 0},
    {"disability_type": 6, "disability_response": 0},
    {"disability_type": 7, "disability_response": 0},
    {"disability_type": 8, "disability_response": 0},
    {"disability_type": 9, "disability_response": 0},
    {"disability_type": 10, "disability_response": 0},
]

# Each example works as-is against the demo data: a new client, the CE project found from the
# acting organization's CoC, entry today, the caller as case manager.
INTAKE_EXAMPLES: dict[str, dict[str, Any]] = {
    "pending": {
        "summary": "Enrolled, waiting on a diversion outcome (not queued)",
        "value": {
            "client": {
                "first_name": "Jordan",
                "last_name": "Rivera",
                "dob": "1988-04-12",
                "veteran_status": 0,
                "sex": 1,
            },
            "disabling_condition": 0,
            "prior_living_situation": {
                "living_situation": 116,
                "length_of_stay": 4,
                "date_to_street_essh": "2025-06-01",
                "times_homeless_past_three_years": 1,
                "months_homeless_past_three_years": 104,
            },
            "translation": {"translation_needed": 0},
            "barriers": _BARRIERS_NONE,
            "current_living_situation": {
                "current_living_situation": 116,
                "location_details": "Sleeping in a car near the library",
            },
            "diversion_assessment": {
                "housing_crisis_onset": "2025-06-01",
                "assistance_needed": "Help with a deposit to move in with a cousin.",
            },
            "ready_for_outcome": False,
        },
    },
    "diverted": {
        "summary": "Family diverted to a relative's home (exited, not queued)",
        "value": {
            "client": {
                "first_name": "Alex",
                "last_name": "Morgan",
                "dob": "1991-09-30",
                "veteran_status": 0,
                "sex": 0,
            },
            "family_members": [
                {
                    "client": {"first_name": "Sam", "last_name": "Morgan", "dob": "2017-02-14"},
                    "relationship_to_hoh": 2,
                }
            ],
            "disabling_condition": 0,
            "prior_living_situation": {
                "living_situation": 101,
                "length_of_stay": 2,
                "date_to_street_essh": "2025-10-01",
                "times_homeless_past_three_years": 1,
                "months_homeless_past_three_years": 101,
            },
            "translation": {
                "translation_needed": 1,
                "preferred_language": 21,
                "preferred_language_different": "Tigrinya",
            },
            "barriers": _BARRIERS_NONE,
            "current_living_situation": {"current_living_situation": 101},
            "diversion_assessment": {
                "housing_crisis_onset": "2025-10-01",
                "last_stable_housing_date": "2025-09-30",
                "assistance_needed": "Mediation with her sister and bus fare.",
            },
            "ready_for_outcome": True,
            "diverted": True,
            "diversion": {
                "destination": 422,
                "services": [
                    {"service_type": "conflict_mediation"},
                    {"service_type": "transportation_assistance"},
                ],
                "exit_current_living_situation": {
                    "current_living_situation": 335,
                    "leave_situation_14_days": 0,
                },
            },
        },
    },
    "placed": {
        "summary": "Placed on the prioritization list (queue entry pending)",
        "value": {
            "client": {
                "first_name": "Casey",
                "last_name": "Nguyen",
                "dob": "1975-01-20",
                "veteran_status": 0,
                "sex": 1,
            },
            "disabling_condition": 1,
            "prior_living_situation": {
                "living_situation": 116,
                "length_of_stay": 5,
                "date_to_street_essh": "2023-03-01",
                "times_homeless_past_three_years": 4,
                "months_homeless_past_three_years": 113,
            },
            "translation": {"translation_needed": 0},
            "barriers": [
                {"disability_type": 5, "disability_response": 0},
                {"disability_type": 6, "disability_response": 0},
                {"disability_type": 7, "disability_response": 1, "indefinite_and_impairs": 1},
                {"disability_type": 8, "disability_response": 0},
                {"disability_type": 9, "disability_response": 1, "indefinite_and_impairs": 1},
                {"disability_type": 10, "disability_response": 0},
            ],
            "current_living_situation": {
                "current_living_situation": 116,
                "location_details": "Encampment by the river trail",
            },
            "diversion_assessment": {
                "housing_crisis_onset": "2023-03-01",
                "assistance_needed": "No family or friends able to help.",
            },
            "ready_for_outcome": True,
            "diverted": False,
            "area_ties": [{"tie_date": "2019-05-01", "area": "coc_area", "how": "lived"}],
            "housing_needs": {
                "sex_offender_registry": 0,
                "meth_manufacturing_conviction": 0,
                "behavioral_health_interest": 1,
                "violence_trauma_or_unsafe": 0,
            },
            "income_benefits": {
                "income_from_any_source": 1,
                "ssi": 1,
                "ssi_amount": 943.00,
                "benefits_from_any_source": 1,
                "snap": 1,
                "insurance_from_any_source": 1,
                "medicaid": 1,
            },
            "domestic_violence": {"domestic_violence_survivor": 0},
        },
    },
}


@router.post(
    "/intakes",
    name="intakes_create",
    summary="Run the CAS & Diversion Intake",
    status_code=status.HTTP_201_CREATED,
    response_model=IntakeRead,
    responses=problems(409),
    openapi_extra=documented(
        "An existing client (`client_id`) and family members must be clients you may see "
        "(otherwise the same 422 as an unknown id); `possible_duplicates` lists only clients "
        "you may see.",
        sends=(ETAG, LOCATION),
        idempotent=True,
    ),
)
async def create(
    body: Annotated[IntakeCreate, Body(openapi_examples=INTAKE_EXAMPLES)],
    actor: WriteActor,
    session: Session,
    cipher: Cipher,
    response: Response,
) -> IntakeRead:
    """The CAS & Diversion Intake, all or nothing: client (new or existing) and family, the CE
    enrollment of the chosen members (you are the case manager unless another user is named),
    universal data, translation, barriers, CLS, diversion assessment, then the outcome:
    `pending` (enrolled, not queued), `diverted` (exited with services and destination) or
    `placed` (CE assessment 4.19 with PrioritizationStatus 1, the 4.20 diversion event with
    result 0, queue entry `pending`); a household assessed and not placed gets a 4.19 with
    PrioritizationStatus 2. HUD's data-entry rules apply (3.917 for every adult and
    the head, 3.07 for adults only, 3.08, 4.12 conditionals, 4.02-4.04 and 4.11 when given):
    422 naming the field and the HUD element.

    Only at an approved Access Point: acting for an organization approved as one, or for the
    CAS organization as a member of one (403 `access-point-not-approved` otherwise). A client
    with an open CE enrollment is refused (409, `enrollment_id` names it): record an update
    assessment on that enrollment instead. When the SSN or the exact name and date of birth
    match a client with an open CE enrollment you may not see, 409
    `possibly-enrolled-elsewhere` with a `reference` for the CAS team, and nothing else about
    that client."""
    result = await create_intake(session, actor, body, cipher)
    reads = await enrollment_service.enrollment_reads(session, actor, result.enrollments)
    main = next(r for r in reads if r.id == result.enrollment.id)
    response.headers["Location"] = f"/api/v1/enrollments/{main.id}"
    set_etag(response, main.version)
    return IntakeRead(
        outcome=result.outcome,
        client=client_service.client_read(result.client, clock.today(actor), cipher),
        possible_duplicates=result.duplicates,
        enrollment=main,
        household_enrollments=reads,
        household_id=result.household.id,
        assessment_id=result.assessment.id,
        queue_entry=QueueEntryRead.model_validate(result.queue_entry)
        if result.queue_entry
        else None,
        exit=next(
            (ExitRead.model_validate(x) for x in result.exits if x.enrollment_id == main.id),
            None,
        ),
    )
