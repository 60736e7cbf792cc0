"""Request (and some response) examples of the OpenAPI document.

``REQUEST_EXAMPLES[operation_id or "*"][schema name]`` is the example of a request body
(``"*"``: any operation whose body is that schema). Ids of organizations, projects and users
are those of the demo CoC (``cas serve --demo``), so the examples work as they are; a client,
household or enrollment id stands for one you read first (search or list).
``tests/api/test_contract_examples.py`` validates every example against its schema and sends
the self-contained ones to a server seeded with the demo.

A response example comes from ``RESPONSE_EXAMPLES[schema name]`` when there is one, else it is
made from the schema (field ``examples``, formats and names).
"""

from __future__ import annotations

from typing import Any

from app.services.demo import DEMO_COC_CODE, demo_uuid


def _org(key: str) -> str:
    return str(demo_uuid(DEMO_COC_CODE, "organization", key))


def _user(key: str) -> str:
    return str(demo_uuid(DEMO_COC_CODE, "user", key))


def _project(key: str) -> str:
    return str(demo_uuid(DEMO_COC_CODE, "project", key))


# Stand-ins for records you read first (documented as such in the descriptions).
CLIENT_ID = "7f1e4a52-0c5e-4a8e-9d6c-3f2b1a0e9c11"
OTHER_CLIENT_ID = "2b9d6c1e-8f4a-4c3e-a1b0-5d7e9f2c4a68"
SERVICE_ID = "c4e8a1f2-6b3d-4e9a-8c7f-1d2e3f4a5b6c"
UNIT_ID = "9a4c2e71-5d3b-4f8a-b6e1-0c7d2f9e8a34"
QUEUE_ENTRY_ID = "3e8b1d6f-2a7c-4b9e-8f10-6d5c4b3a2e19"

_BARRIERS_NONE = [{"disability_type": t, "disability_response": 0} for t in (5, 6, 7, 8, 9, 10)]

REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    # The project's organization is Bridge Access Point: its member Morgan Case.
    "projects_cas_contact_set": {"CasContactSet": {"user_id": _user("case_manager")}},
    "*": {
        # housing inventory and matching
        "UnitCreate": {"label": "Apt 12B", "bedrooms": 1},
        "UnitUpdate": {"bedrooms": 2},
        "CheckIn": {"client_id": CLIENT_ID, "note": "Moved in"},
        "Reservation": {"note": "Held for a client referred by the VA"},
        "TakeOffline": {"reason": "repairs", "note": "Water damage"},
        "UnitEventNote": {"note": "Keys returned"},
        "MatchingProfileUpdate": {
            "funding_sources": [2],
            "referrals_through_cas": True,
            "stall_after_days": None,
            "requirements": [
                {"kind": "chronic", "polarity": "must"},
                {"kind": "verified_disability", "polarity": "must"},
                {"kind": "sex_offender_registry", "polarity": "must_not"},
                {"kind": "fits_bedrooms", "polarity": "must"},
            ],
        },
        "MatchingPolicyUpdate": {"stall_after_days": 10, "warn_days_before": 2},
        "MatchCreate": {
            "unit_id": UNIT_ID,
            "queue_entry_id": QUEUE_ENTRY_ID,
            "over_referral": False,
            "note": "Top eligible candidate",
        },
        "MatchAccept": {"note": "Intake scheduled"},
        "MatchDecline": {"reason": "not_eligible_for_housing_type"},
        "MatchPark": {"reason": "short_incarceration", "parked_until": "2026-12-31"},
        "MatchCancel": {"reason": "better_match"},
        "MatchOutcome": {"provider_result": "client_enrolled"},
        "MatchResult": {"note": "Did not come to the intake"},
        "StallResponseCreate": {
            "engaging": True,
            "reason": "gathering_documents",
            "note": "Waiting on the ID",
        },
        "VoucherIssued": {"issued_on": "2026-01-15"},
        "RftaSubmitted": {"submitted_on": "2026-02-01"},
        "EhvCaseManagerAssign": {
            "organization_id": _org("access_point_2"),
            "user_id": _user("case_manager2"),
        },
        # auth
        "LoginRequest": {"email": "case_manager@demo.example", "password": "demo-password-2026"},
        "RefreshRequest": {"refresh_token": "<the refresh_token of your last login or refresh>"},
        "SwitchOrganizationRequest": {"organization_id": _org("cas")},
        "PasswordResetRequest": {"email": "case_manager@demo.example"},
        "PasswordResetConfirm": {
            "token": "<the token from the email>",
            "new_password": "a long new passphrase 2026",
        },
        "InvitationAccept": {
            "token": "<the token from the invitation email>",
            "password": "a long first passphrase 2026",
        },
        # users and organizations
        "UserInvite": {
            "email": "new.case.manager@demo.example",
            "full_name": "Avery Outreach",
            "organization_id": _org("access_point_1"),
            "role": "case_manager",
        },
        "UserUpdate": {"full_name": "Avery Outreach-Smith"},
        "MembershipCreate": {"organization_id": _org("access_point_2"), "role": "case_manager"},
        "CocCreate": {
            "code": "XX-502",
            "name": "Lakeside Continuum of Care",
            "hmis_lead_name": "Lakeside HMIS Lead",
            "time_zone": "America/Chicago",
        },
        "CocUpdate": {"time_zone": "America/Denver"},
        "OrganizationCreate": {
            "name": "Eastside Family Shelter",
            "kind": "agency",
            "access_point": True,
        },
        "OrganizationUpdate": {"housing_provider": True},
        "AccessPointApproval": {"access_point": True},
        "ProjectCreate": {
            "organization_id": _org("access_point_1"),
            "name": "Bridge Night Shelter",
            "project_type": 0,
            "funding_source": 8,
            "operating_start_date": "2024-01-01",
            "geocode": "481138",
        },
        "ProjectUpdate": {"name": "Bridge Night Shelter (winter)"},
        # clients and households
        "ClientCreate": {
            "first_name": "Taylor",
            "last_name": "Brooks",
            "dob": "1979-03-14",
            "ssn": "234-56-7812",
            "sex": 0,
            "white": True,
            "veteran_status": 0,
            "phone": "214-555-0101",
        },
        "ClientUpdate": {"phone": "214-555-0199", "city": "Dallas", "state": "TX"},
        "ClientSearch": {"name": "Jon Smyth", "dob": "1975-06-01"},
        "ClientMergeRequest": {"duplicate_client_id": OTHER_CLIENT_ID},
        "ClientUnmergeRequest": {"duplicate_client_id": OTHER_CLIENT_ID},
        "HouseholdCreate": {
            "members": [
                {
                    "client": {"first_name": "Dana", "last_name": "Ortiz", "dob": "1986-08-09"},
                    "relationship_to_hoh": 1,
                },
                {
                    "client": {"first_name": "Eli", "last_name": "Ortiz", "dob": "2016-05-21"},
                    "relationship_to_hoh": 2,
                },
            ]
        },
        "HouseholdMemberIn": {"client_id": OTHER_CLIENT_ID, "relationship_to_hoh": 3},
        "HouseholdMemberUpdate": {"relationship_to_hoh": 1, "previous_head_relationship_to_hoh": 3},
        "AreaTiesCreate": {
            "area_ties": [{"tie_date": "2019-05-01", "area": "coc_area", "how": "worked"}]
        },
        "AreaTieOptionsUpdate": {
            "areas": [
                {"code": "coc_area", "label": "Dallas and Collin counties"},
                {"code": "outside_coc_area", "label": "Outside Dallas and Collin counties"},
            ],
            "how": [
                {"code": "lived", "label": "Lived in the area"},
                {"code": "worked", "label": "Worked in the area"},
                {"code": "family", "label": "Family lives in the area"},
            ],
        },
        # enrollments and records
        "EnrollmentCreate": {
            "client_id": CLIENT_ID,
            "project_id": _project("ap2_shelter"),
            "disabling_condition": 0,
            "prior_living_situation": {"living_situation": 101, "length_of_stay": 2},
        },
        "EnrollmentUpdate": {"disabling_condition": 0},
        "ExitCreate": {
            "exit_date": "2026-11-02",
            "destination": 435,
            "destination_subsidy_type": 439,
            "exit_reason": "enrolled_in_permanent_housing",
        },
        "AssessmentCreate": {
            "assessment_date": "2026-11-02",
            "current_living_situation": {
                "current_living_situation": 101,
                "verified_by": "Harbor Emergency Shelter",
            },
            "ready_for_outcome": True,
            "diverted": False,
            "housing_needs": {
                "sex_offender_registry": 0,
                "meth_manufacturing_conviction": 0,
                "behavioral_health_interest": 1,
                "violence_trauma_or_unsafe": 0,
            },
        },
        "EnrollmentVoid": {"reason": "Intake recorded for the wrong client."},
        "IncomeBenefitsCreate": {
            "information_date": "2026-11-02",
            "data_collection_stage": 2,
            "income_from_any_source": 1,
            "earned": 1,
            "earned_amount": 850.0,
            "benefits_from_any_source": 1,
            "snap": 1,
            "insurance_from_any_source": 1,
            "medicaid": 1,
        },
        "DomesticViolenceCreate": {
            "information_date": "2026-11-02",
            "data_collection_stage": 2,
            "domestic_violence_survivor": 1,
            "when_occurred": 2,
            "currently_fleeing": 0,
        },
        "CaseAssignmentCreate": {"user_id": _user("case_manager")},
        "CaseAssignmentEnd": {"end_date": "2026-11-02"},
        "CurrentLivingSituationIn": {
            "information_date": "2026-11-02",
            "current_living_situation": 116,
            "location_details": "Under the Elm Street overpass",
        },
        "ServiceCreate": {
            "service_type": "housing_search_assistance",
            "date_provided": "2026-11-02",
        },
        "CaseNoteCreate": {
            "note_date": "2026-11-02",
            "note": "Met at the library; brought ID documents for the Document Check.",
        },
        "CeEventCreate": {"event_date": "2026-11-02", "event": 2, "prob_sol_div_rr_result": 0},
        "CeAssessmentCreate": {
            "assessment_date": "2026-11-02",
            "assessment_location": "Bridge Access Point",
            "assessment_type": 3,
            "assessment_level": 2,
            "prioritization_status": 1,
        },
        "DisabilitiesCreate": {
            "information_date": "2026-11-02",
            "data_collection_stage": 2,
            "barriers": [
                {"disability_type": 9, "disability_response": 1, "indefinite_and_impairs": 1}
            ],
        },
        "DiversionAssessmentIn": {
            "assessment_date": "2026-11-02",
            "housing_crisis_onset": "2026-10-15",
            "assistance_needed": "Bus fare to her sister's home in Tyler.",
        },
        "HousingNeedsIn": {
            "assessment_date": "2026-11-02",
            "sex_offender_registry": 0,
            "meth_manufacturing_conviction": 0,
            "behavioral_health_interest": 1,
            "violence_trauma_or_unsafe": 0,
        },
        # documents
        "ChecklistUpdate": {
            "items": [
                {
                    "category": "homeless",
                    "item": "identity",
                    "document_types": [
                        {"code": "photo_id", "label": "Photo ID"},
                        {"code": "birth_certificate", "label": "Birth certificate"},
                    ],
                }
            ]
        },
        "DocumentCheckUpload": {
            "category": "homeless",
            "item": "homeless",
            "document_type": "third_party_letter",
            "comments": "MDHA - Dallas Library - Apr 2020-May 2020",
            "issuance_date": "2026-10-15",
            "expiration_date": "2027-04-15",
            "file": "(the file: letter.pdf, application/pdf)",
        },
        # notifications
        "NotificationSnooze": {"until": "2030-01-15T15:00:00Z"},
        "NotificationDismissAll": {"kind": "document.uploaded"},
        "NotificationPreferenceUpdate": {"kind": "document.expired", "email": False},
        "CasContactSet": {"user_id": _user("case_manager2")},
        "WebhookSubscriptionCreate": {
            "url": "https://partner.example.org/cas-webhooks",
            "event_types": ["match.sent", "match.about_to_stall", "match.stalled"],
            "description": "Housing partner intake system",
        },
        "WebhookSubscriptionUpdate": {"enabled": True},
        "WebhookSecretRotate": {"previous_valid_hours": 24},
        "ClientFileUpload": {
            "file_type": "social_security_card",
            "description": "Card copy",
            "file": "(the file: card.jpg, image/jpeg)",
        },
        # the queue's review
        "QueueTransitionCreate": {
            "to_status": "incomplete_documentation",
            "note": "Reviewed for PSH referral.",
            "incomplete_reasons": [
                {"code": "disability_verification"},
                {"code": "other", "text": "Birth certificate of the younger child"},
            ],
            "score_change_reason": "VI-SPDAT updated after the hospital stay.",
            "instructions_for_case_manager": "Upload the SSI award letter to Document Check, "
            "then send the record back for a second review.",
        },
        "QueueScoreUpdate": {"score": 11, "reason": "Re-assessed after the hospital stay."},
        "CaseloadSearch": {
            "name": "Nguyen",
            "status": ["incomplete_documentation"],
            "sort": "-last_service_date",
            "limit": 50,
        },
        "QueueExportSearch": {
            "name": "Nguyen",
            "status": ["approved", "pending_second_review"],
            "sort": "rank",
            "format": "xlsx",
        },
        # the queue
        "QueueSearch": {
            "name": "Casey Nguyen",
            "status": ["approved"],
            "chronic": "yes",
            "sort": "rank",
            "limit": 50,
        },
        "QueueSettingsUpdate": {
            "score_tool": "VI-SPDAT",
            "score_min": 0,
            "score_max": 22,
            "scheme": [
                {"key": "chronic", "direction": "desc"},
                {"key": "score", "direction": "desc"},
                {"key": "days_homeless_3y", "direction": "desc"},
                {"key": "days_on_queue", "direction": "desc"},
            ],
        },
        # HUD HMIS CSV
        "ExportCreate": {
            "start_date": "2026-01-01",
            "end_date": "2026-06-30",
            "project_ids": [_project("ce"), _project("ap1_outreach")],
            "hashed": False,
        },
        "HmisImportUpload": {
            "allow_missing_files": False,
            "data_source": "County HMIS",
            "file": "(the zip: hmis-export.zip, application/zip)",
        },
    },
}

RESPONSE_EXAMPLES: dict[str, Any] = {
    "TokenResponse": {
        "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIuLi4ifQ.sig",
        "refresh_token": "Xb3k9RrQm2v...",
        "token_type": "bearer",
        "expires_in": 900,
        "organization_id": _org("access_point_1"),
    },
}
