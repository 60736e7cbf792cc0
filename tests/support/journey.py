"""The end-to-end journey's data, shared by the HTTP journey (tests/api/test_journey.py) and the
generated Python client's (tests/test_contract_tools.py): who is invited, the intake, the
documents, the queue's review, the unit, the match's moves and the CE exit."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.services.demo_community import demo_pdf, demo_png
from tests.support.intake import example

PASSWORD = "journey-password-2026"

# (email, full name, organization key, role, who invites: user key, organization key)
CASE_MANAGER = ("jo.access@demo.example", "Jo Access", "access_point_1", "case_manager")
CAS_ADMIN = ("kim.review@demo.example", "Kim Review", "cas", "cas_admin")
PROVIDER = ("lee.housing@demo.example", "Lee Housing", "housing_1", "housing_provider")


def intake() -> dict[str, Any]:
    """The contract's own placed intake, for a person of the journey."""
    body = example("placed")
    body["client"] = {
        **body["client"],
        "first_name": "Journey",
        "last_name": "Traveler",
        "dob": "1979-03-14",
    }
    return body


# Documents: a photo ID (PNG) in Client Files, the homelessness letter (PDF) in Document Check;
# then, after the review asked for it, the disability letter.
ID_PNG = demo_png(2026)
LETTER_PDF = demo_pdf("Shelter letter - Bridge Access Point - 2026")
DISABILITY_PDF = demo_pdf("Disability letter - Parkland Hospital - 2026")
CLIENT_FILE = {"file_type": "photo_id", "description": "State ID"}
HOMELESS_CHECK = {
    "category": "homeless",
    "item": "homeless",
    "document_type": "third_party_letter",
    "comments": "Bridge Access Point - shelter letter - 2026",
}
DISABILITY_CHECK = {
    "category": "disability",
    "item": "disability",
    "document_type": "disability_letter",
    "comments": "Parkland Hospital - 2026",
}

SCORE = {"score": 14, "reason": "VI-SPDAT completed at the intake."}
INCOMPLETE = {
    "to_status": "incomplete_documentation",
    "note": "Reviewed for a PSH referral.",
    "incomplete_reasons": [{"code": "disability_verification"}],
    "instructions_for_case_manager": "Upload the doctor's letter to Document Check.",
}
SECOND_REVIEW = {"to_status": "pending_second_review", "note": "Disability letter uploaded."}
APPROVED = {"to_status": "approved", "note": "Documentation complete."}

UNIT = {"label": "PSH-J1", "bedrooms": 1}
MATCH_NOTE = "Top of the queue for a one-bedroom."
PARK = {"reason": "disengaged", "explanation": "Three attempts, no answer."}
OUTCOME = {"provider_result": "client_enrolled", "note": "Lease signed."}

WEBHOOK_EVENTS = ["document.uploaded", "queue.intake_status_changed", "enrollment.outcome_changed"]


def accept(today: date) -> dict[str, Any]:
    """The provider's accept: the program intake's entry date."""
    return {"entry_date": today.isoformat(), "note": "Intake done at the office."}


def exit_body(today: date) -> dict[str, Any]:
    """The CE exit into the program (PSH: 435 with subsidy 439, as the match flagged it)."""
    return {
        "exit_date": today.isoformat(),
        "destination": 435,
        "destination_subsidy_type": 439,
        "exit_reason": "enrolled_in_permanent_housing",
    }
