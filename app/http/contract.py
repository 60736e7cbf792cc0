"""What a route declares for the OpenAPI contract beyond FastAPI's own parameters.

Every operation has a human ``summary=`` (decorator), a description (the docstring), and
``openapi_extra=documented(visibility, ...)``: who sees what the operation touches, the
response headers it sends, and, for creating POSTs, ``idempotent=True``. ``app.openapi`` turns
these into the document: the permission (read from the route's ``require``/
``require_for_clients`` dependencies, or ``permission=`` when a route checks something else),
the visibility and the concurrency rule are appended to the description, the headers are
declared on the success response, and the error responses are the ones the route can give.
``tests/api/test_contract_docs.py`` holds every operation to this.

Tags: a router's tag needs an entry in ``TAGS`` (a description) and in one of ``TAG_GROUPS``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.http.uow import idempotent as idempotent_extra

VISIBILITY_EXTRA = "x-cas-visibility"
PERMISSION_EXTRA = "x-cas-permission"
HEADERS_EXTRA = "x-cas-headers"
COMPONENTS_EXTRA = "x-cas-components"  # schemas an operation's openapi_extra refers to

# Response headers an operation may declare with ``sends=`` (defined once in the document,
# ``#/components/headers/...``). X-Request-ID (every response), Retry-After (429/503 and the
# idempotency 409) and Idempotent-Replayed (idempotent operations) are declared automatically.
ETAG = "ETag"
LOCATION = "Location"
MERGED_INTO = "X-Merged-Into"
CONTENT_LOCATION = "Content-Location"
CONTENT_DISPOSITION = "Content-Disposition"
RESPONSE_HEADERS = (ETAG, LOCATION, MERGED_INTO, CONTENT_LOCATION, CONTENT_DISPOSITION)


class Visibility:
    """The visibility rules, worded once (an operation's ``documented(...)`` names one)."""

    PUBLIC = "Anyone: no token is needed."
    SELF = "Only about yourself: the token's user, session and acting organization."
    COC = "Records of the CoC you act for; another CoC's answer 404."
    ACTING_COC = "The CoC you act for: its own configuration, read by any role."
    CLIENT = (
        "Clients you may see: system and CAS admins, every client of the CoC; acting for the "
        "CAS organization, every client enrolled in Coordinated Entry; acting for an agency, "
        "clients it created, enrolled or was referred, and clients with an active CoC-wide "
        "release of information. Any other client (another CoC's included) answers 404. A "
        "merged client's id answers for the survivor (`X-Merged-Into`)."
    )
    CLIENT_WRITE = (
        CLIENT + " Changing a client also needs a link to it (admins, or an organization that "
        "created, enrolled or was referred it; 403 otherwise); its release of information "
        "dates belong to the creating organization, the CAS organization and admins."
    )
    HOUSEHOLD = (
        "A household is visible to whoever may see one of its members (see clients); members "
        "you may not see are left out. Otherwise 404."
    )
    ENROLLMENT = (
        "An enrollment (and its records) is visible exactly when its client is (see clients); "
        "otherwise 404."
    )
    ENROLLMENT_WRITE = (
        ENROLLMENT + " Changing it also needs the write right: system and CAS admins, the "
        "project's organization, the CAS organization for the Coordinated Entry project, the "
        "organization that created the enrollment, or one with an active case assignment on it "
        "(403 `enrollment-not-writable` otherwise)."
    )
    DOMESTIC_VIOLENCE = (
        ENROLLMENT + " Its 4.11 domestic violence answers also need: system or CAS admin, the "
        "CAS organization, or the organization that enrolled the client (created the "
        "enrollment); for anyone else they do not exist (404)."
    )
    DOMESTIC_VIOLENCE_WRITE = (
        DOMESTIC_VIOLENCE + " Recording them also needs the enrollment's write right (403 "
        "`enrollment-not-writable`)."
    )
    COC_CLIENTS = (
        "Every client of the CoC you act for, as ids and kinds only (no names or other "
        "values); another CoC's are never listed."
    )
    DOCUMENT_CHECK = (
        "Document Check is for users acting for the CAS organization and for system and CAS "
        "admins, on clients they may see; everyone else gets 404."
    )
    CLIENT_FILES = "Client Files: whoever may see the client (see clients); otherwise 404."
    USERS = (
        "System admins: every account of the CoC. Agency admins: their own organization's "
        "accounts, and accounts that left it. Others 404."
    )
    AUDIT = "The trail of the CoC you act for (system admins)."
    REFERENCE = "The same for everyone: HUD's FY2026 code lists."


def documented(
    visibility: str,
    *,
    sends: Iterable[str] = (),
    permission: str | None = None,
    idempotent: bool = False,
) -> dict[str, Any]:
    """``openapi_extra`` of an operation: its visibility rule (a ``Visibility`` phrase, or your
    own sentence), the response headers it ``sends`` on success (``ETAG``, ``LOCATION``, ...),
    ``permission`` when the route checks something other than ``require(...)`` permissions, and
    ``idempotent=True`` for creating POSTs that take ``Idempotency-Key``."""
    headers = list(sends)
    unknown = set(headers) - set(RESPONSE_HEADERS)
    if unknown:
        raise ValueError(f"unknown response headers {sorted(unknown)}: add them to app.openapi")
    extra: dict[str, Any] = {VISIBILITY_EXTRA: visibility, HEADERS_EXTRA: headers}
    if permission is not None:
        extra[PERMISSION_EXTRA] = permission
    if idempotent:
        extra.update(idempotent_extra())
    return extra


# Tags: name -> description. Every router's tag is listed here and in one group.
TAGS: dict[str, str] = {
    "auth": "Log in, refresh and log out; who you are; act for another of your organizations; "
    "password resets and invitations.",
    "users": "Accounts and their memberships (organization and role).",
    "organizations": "Continuums of Care, their organizations and projects (HUD 2.02, 2.06).",
    "cas-contacts": "Each housing provider's CAS contact, per organization and per project: "
    "who receives its referral notifications.",
    "audit": "The append-only audit trail (system admins).",
    "clients": "Clients (HUD Universal Data Elements), find client, full SSN, history, merge, "
    "the duplicate report and refused duplicate intakes.",
    "households": "Households, their members and relationships to the head of household.",
    "area-ties": "Area ties of a client and the CoC's lists of areas and how a client is tied.",
    "intake": "The CAS & Diversion Intake: one all-or-nothing request from client to outcome.",
    "enrollments": "Enrollments: create, read, edit the entry, household, latest answers, exit, "
    "void (an intake recorded in error) and its undo.",
    "assessments": "Update and annual assessments, CE assessments (4.19), diversion and housing "
    "needs assessments.",
    "ce-records": "Contacts and services of an enrollment: current living situations (4.12), "
    "services, case notes, CE events (4.20), disabilities.",
    "income-and-dv": "Income and Sources (4.02), Non-Cash Benefits (4.03), Health Insurance "
    "(4.04) and Domestic Violence (4.11) records of an enrollment; 4.11 answers only for admins, "
    "the CAS organization and the enrolling organization.",
    "case-assignments": "Case managers assigned to an enrollment.",
    "document-check": "Document Check: documentation of homelessness and verification of "
    "disability (CAS organization and admins), the checklist, the client's document summary.",
    "client-files": "Client Files: IDs, Social Security cards, birth certificates and other "
    "documents of a client.",
    "data-quality": "The CoC's data-quality report: values HUD accepts but counts as data "
    "issues (CAS and system admins).",
    "queue": "The CAS queue (housing prioritization list): entries in rank order with why each "
    "ranks where it does, filters and sorts, search by name, one entry with both chronic "
    "determinations, and the CoC's prioritization scheme (CAS organization and admins).",
    "queue-review": "The review of a queue entry: intake-status moves and their history, the "
    "Case Manager Review, the assessment score and its history.",
    "caseloads": "My CAS active cases and my organization's (the cases with an active case "
    "assignment), with the seeds' columns, filtered and sorted like the queue.",
    "exports": "Any filtered list of the queue or of a caseload as a CSV or XLSX file, "
    "streamed; every client in it is audited as read.",
    "notifications": "Your notification inbox (DOMAIN 10): list with filters and a date range, "
    "the unread count, a live stream (Server-Sent Events), snooze, dismiss, acknowledge, "
    "dismiss all; which kinds also reach you by email.",
    "webhooks": "Partner webhooks: subscriptions per organization and event type, signed in the "
    "Standard Webhooks style, with a delivery log and redelivery.",
    "jobs": "Background jobs (email and webhook delivery, notification fan-out, scans, "
    "housekeeping) and their dead letter (system admins).",
    "hmis-csv": "HUD HMIS CSV FY2026: exports of a period and project set (admins; agency "
    "admins for their own projects) and scripted imports of an FY2026 zip, validated first "
    "(the HMIS lead's system admins). Both run as jobs.",
    "inventory": "Housing inventory: units of a project (bedrooms, status moved by check-in, "
    "check-out, reservations, offline and online events) and each project's matching profile "
    "(funding sources, referrals through CAS, eligibility requirements).",
    "candidates": "Ranked eligible candidates for a vacancy, why a client is or is not eligible, "
    "and the CoC's referral response policy.",
    "matches": "Matches (referrals): send, accept, decline, park, reject, no show, cancel, "
    "outcome, stall responses, the EHV route and the timeline.",
    "ehv-route": "The Emergency Housing Voucher route of a match: the navigator's voucher and "
    "RFTA, and the EHV case-manager agency contact the CoC admin assigns.",
    "reference": "HUD FY2026 code lists with their labels, for dropdowns.",
    "health": "Liveness and readiness of the service.",
}

TAG_GROUPS: dict[str, list[str]] = {
    "Access": ["auth", "users", "organizations", "audit"],
    "Clients": ["clients", "households", "area-ties", "data-quality"],
    "Coordinated Entry": [
        "intake",
        "enrollments",
        "assessments",
        "ce-records",
        "income-and-dv",
        "case-assignments",
    ],
    "Documents": ["document-check", "client-files"],
    "Queue": ["queue", "queue-review", "caseloads", "exports"],
    "Notifications": ["notifications", "cas-contacts", "webhooks", "jobs"],
    "Data exchange": ["hmis-csv"],
    "Housing": ["inventory", "candidates", "matches", "ehv-route"],
    "Service": ["reference", "health"],
}
