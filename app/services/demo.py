"""Demo and bootstrap data: a small CoC with one user per role."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.config import Settings, get_settings
from app.context import Actor
from app.errors import ValidationFailed
from app.models import Client as ClientModel
from app.models import Coc, Membership, Organization, Project, User
from app.models.ce_records import CeEvent
from app.models.matching import Match
from app.permissions import Role, permissions_for
from app.reference.matching import (
    CancelReason,
    DeclineReason,
    OfflineReason,
    ParkReason,
    ProviderResult,
    UnitEventKind,
)
from app.schemas.documents import ClientFileForm, DocumentCheckForm
from app.schemas.enrollments import ExitCreate, IntakeCreate
from app.schemas.matching import MatchCreate, MatchingProfileUpdate, UnitCreate
from app.schemas.queue_flow import QueueScoreUpdate, QueueTransitionCreate
from app.security import check_password_rules, hash_password
from app.services import demo_community
from app.services.ce.exits import exit_enrollment
from app.services.ce.intake import create_intake
from app.services.documents import core as documents
from app.services.identity.auth import acting_organization
from app.services.matching import inventory, matches
from app.services.platform.crypto import FieldCipher
from app.services.queue import scores, transitions
from app.storage import FileStore
from app.unit_of_work import on_rollback

DEMO_COC_CODE = "XX-501"
DEMO_TIME_ZONE = "America/Chicago"
# HUD 2.03.2 Geocode of the demo projects (HMIS CSV exports need one).
DEMO_GEOCODE = "481138"
_ID_NAMESPACE = uuid.UUID("0b7f4a5e-3c1d-4f2a-9e6b-8d5c4b3a2f10")


def demo_uuid(coc_code: str, kind: str, key: str) -> uuid.UUID:
    """The id of a seeded record: the same in every database seeded with this CoC code, so the
    contract's examples can name demo organizations, projects and users."""
    return uuid.uuid5(_ID_NAMESPACE, f"{coc_code}/{kind}/{key}")


@dataclass
class SeededCoc:
    coc: Coc
    orgs: dict[str, Organization] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    created: bool = True
    clients: int = 0  # demo intakes recorded by this run


# (key, name, kind, flags)
_ORGS = [
    ("hmis_lead", "HMIS Lead Agency", "hmis_lead", {}),
    ("cas", "Coordinated Access System", "cas", {}),
    ("access_point_1", "Bridge Access Point", "agency", {"access_point": True}),
    (
        "access_point_2",
        "Harbor Outreach Center",
        "agency",
        {"access_point": True, "veteran_services": True},
    ),
    ("housing_1", "Hope Housing Partners", "agency", {"housing_provider": True}),
    (
        "housing_2",
        "Veterans Home Alliance",
        "agency",
        {"housing_provider": True, "veteran_services": True},
    ),
    ("vsp", "Safe Harbor DV Services", "agency", {"victim_service_provider": True}),
]

# (key, org key, name, ProjectType, Funder, referrals through CAS)
_PROJECTS = [
    ("ce", "cas", "CAS - Coordinated Entry", 14, 46, False),
    ("ap1_outreach", "access_point_1", "Bridge Street Outreach", 4, 11, False),
    ("ap2_shelter", "access_point_2", "Harbor Emergency Shelter", 0, 8, False),
    ("h1_psh", "housing_1", "Hope Permanent Supportive Housing", 3, 2, True),
    ("h1_rrh", "housing_1", "Hope Rapid Re-Housing", 13, 3, True),
    ("h2_vash", "housing_2", "Veterans Home HUD-VASH", 3, 20, True),
]

# (email local part, full name, [(org key, role)])
_USERS = [
    ("system_admin", "Sam Admin", [("hmis_lead", Role.SYSTEM_ADMIN)]),
    ("cas_admin", "Casey Coordinator", [("cas", Role.CAS_ADMIN)]),
    ("agency_admin", "Alex Agency", [("access_point_1", Role.AGENCY_ADMIN)]),
    (
        "case_manager",
        "Morgan Case",
        [("access_point_1", Role.CASE_MANAGER), ("cas", Role.CASE_MANAGER)],
    ),
    ("case_manager2", "Riley Case", [("access_point_2", Role.CASE_MANAGER)]),
    ("housing_provider", "Harper Housing", [("housing_1", Role.HOUSING_PROVIDER)]),
    ("vsp_case_manager", "Vic Service", [("vsp", Role.CASE_MANAGER)]),
]


async def seed_coc(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    email_domain: str,
    password: str,
    password_hash: str | None = None,
    time_zone: str = DEMO_TIME_ZONE,
) -> SeededCoc:
    """Create the CoC with its organizations, projects and users; a no-op if it exists."""
    existing = await session.scalar(select(Coc).where(Coc.code == code))
    if existing is not None:
        return SeededCoc(coc=existing, created=False)
    coc = Coc(id=demo_uuid(code, "coc", code), code=code, name=name, time_zone=time_zone)
    session.add(coc)
    await session.flush()
    seeded = SeededCoc(coc=coc)
    for key, org_name, kind, flags in _ORGS:
        org = Organization(
            id=demo_uuid(code, "organization", key),
            coc_id=coc.id,
            name=org_name,
            kind=kind,
            **flags,
        )
        session.add(org)
        seeded.orgs[key] = org
    await session.flush()
    for key, org_key, project_name, ptype, funder, via_cas in _PROJECTS:
        project = Project(
            id=demo_uuid(code, "project", key),
            organization_id=seeded.orgs[org_key].id,
            name=project_name,
            project_type=ptype,
            funding_source=funder,
            referrals_through_cas=via_cas,
            operating_start_date=date(2020, 1, 1),
            geocode=DEMO_GEOCODE,
        )
        session.add(project)
        seeded.projects[key] = project
    hashed = password_hash or await hash_password(password)
    for local, full_name, roles in _USERS:
        user = User(
            id=demo_uuid(code, "user", local),
            email=f"{local}@{email_domain}",
            full_name=full_name,
            password_hash=hashed,
        )
        session.add(user)
        seeded.users[local] = user
        await session.flush()
        for org_key, role in roles:
            session.add(
                Membership(
                    coc_id=seeded.orgs[org_key].coc_id,
                    user_id=user.id,
                    organization_id=seeded.orgs[org_key].id,
                    role=role.value,
                )
            )
    await session.flush()
    return seeded


# How many times the community writes each hand-made household again (``demo_community``):
# 44 people in 39 households become 440 people in 390 households.
DEMO_GENERATIONS = 9


async def seed_demo(
    session: AsyncSession,
    password: str,
    cipher: FieldCipher,
    store: FileStore | None,
    settings: Settings | None = None,
    *,
    generations: int = DEMO_GENERATIONS,
) -> SeededCoc:
    """The demo CoC, its users and its community (``cas seed-demo``, ``cas serve --demo``);
    running it again adds nothing. The hand-made households go through the services; the
    community around them is written set-based from them (``app.services.demo_community``)."""
    settings = settings or get_settings()
    seeded = await seed_coc(
        session,
        code=DEMO_COC_CODE,
        name="Demo Continuum of Care",
        email_domain="demo.example",
        password=password,
    )
    seeded.clients = await seed_demo_clients(session, seeded.coc, cipher, store)
    if seeded.clients:
        # The hand-made households' notifications, as the job runner would deliver them.
        await demo_community.fan_out_pending(session, settings, seeded.coc)
        grown = await demo_community.grow(session, seeded.coc, store, generations=generations)
        seeded.clients += grown.intakes
        code = seeded.coc.code
        await demo_community.add_webhook_subscriptions(
            session,
            settings,
            seeded.coc,
            {key: demo_uuid(code, "organization", key) for key, *_ in _ORGS},
            demo_uuid(code, "user", "system_admin"),
            lambda key: demo_uuid(code, "webhook_subscription", key),
        )
    return seeded


DEMO_LOGINS = [f"{local}@demo.example" for local, _, _ in _USERS]


async def create_admin(
    session: AsyncSession, *, email_address: str, password: str, coc_code: str, coc_name: str
) -> User:
    """Bootstrap a system admin (creating the CoC and its HMIS lead organization if needed)."""
    check_password_rules(password, email_address)
    if not re.fullmatch(r"[A-Z]{2}-[0-9]{3}", coc_code):
        raise ValidationFailed("The CoC code must look like XX-999.", field="coc_code")
    coc = await session.scalar(select(Coc).where(Coc.code == coc_code))
    if coc is None:
        coc = Coc(code=coc_code, name=coc_name)
        session.add(coc)
        await session.flush()
    lead = await session.scalar(
        select(Organization)
        .where(Organization.coc_id == coc.id, Organization.kind == "hmis_lead")
        .limit(1)
    )
    if lead is None:
        lead = Organization(coc_id=coc.id, name=f"{coc.name} HMIS Lead", kind="hmis_lead")
        session.add(lead)
        await session.flush()
    user = await session.scalar(select(User).where(User.email == email_address.lower()))
    if user is None:
        user = User(email=email_address.lower(), full_name="System Administrator")
        session.add(user)
    user.password_hash = await hash_password(password)
    user.is_active = True
    await session.flush()
    has = await session.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id, Membership.organization_id == lead.id
        )
    )
    if has is None:
        session.add(
            Membership(
                coc_id=lead.coc_id,
                user_id=user.id,
                organization_id=lead.id,
                role=Role.SYSTEM_ADMIN.value,
            )
        )
    await session.flush()
    return user


# --- demo clients -------------------------------------------------------------------------------
# A few dozen people who went through the CAS & Diversion Intake at the two access points, in
# every outcome, with Document Check items and client files for some: enough for search, lists
# and the queue to show something. The same people (names, dates relative to today, answers)
# every time; seeding again adds nothing.

# (first, last, dob, sex, veteran, outcome, access point, disabling, family of (first, dob))
_PEOPLE: list[tuple[str, str, str, int, int, str, int, int, tuple[tuple[str, str], ...]]] = [
    ("John", "Smith", "1975-06-01", 1, 0, "placed", 1, 1, ()),
    ("Maria", "Garcia", "1982-02-11", 0, 0, "placed", 1, 0, (("Lucia", "2015-07-04"),)),
    ("James", "Johnson", "1968-09-23", 1, 1, "placed", 2, 1, ()),
    ("Aisha", "Williams", "1990-12-05", 0, 0, "pending", 1, 0, ()),
    ("Robert", "Brown", "1959-03-30", 1, 1, "placed", 2, 1, ()),
    ("Linh", "Nguyen", "1987-08-17", 0, 0, "diverted", 1, 0, (("Bao", "2018-01-20"),)),
    ("Michael", "Jones", "1979-05-02", 1, 0, "pending", 2, 99, ()),
    ("Patricia", "Miller", "1971-11-14", 0, 0, "placed", 1, 1, ()),
    ("David", "Davis", "1993-04-08", 1, 0, "diverted", 2, 0, ()),
    ("Fatima", "Rodriguez", "1985-10-29", 0, 0, "placed", 2, 0, (("Omar", "2012-03-15"),)),
    ("William", "Martinez", "1964-07-19", 1, 1, "pending", 1, 1, ()),
    ("Keisha", "Hernandez", "1998-01-25", 0, 0, "diverted", 1, 0, ()),
    ("Thomas", "Lopez", "1977-06-12", 1, 0, "placed", 1, 1, ()),
    ("Grace", "Gonzalez", "1989-09-03", 0, 0, "pending", 2, 0, ()),
    ("Daniel", "Wilson", "1972-02-27", 1, 1, "placed", 2, 1, ()),
    ("Mei", "Anderson", "1995-12-18", 0, 0, "diverted", 2, 0, ()),
    ("Joseph", "Thomas", "1961-08-06", 1, 0, "placed", 1, 1, ()),
    ("Sofia", "Taylor", "1984-05-21", 0, 0, "pending", 1, 0, (("Mateo", "2019-11-02"),)),
    ("Charles", "Moore", "1970-10-10", 1, 1, "placed", 2, 1, ()),
    ("Amara", "Jackson", "1991-03-16", 0, 0, "diverted", 1, 0, ()),
    ("Christopher", "Martin", "1981-07-28", 1, 0, "pending", 2, 0, ()),
    ("Hannah", "Lee", "1976-04-09", 0, 0, "placed", 1, 1, ()),
    ("Anthony", "Perez", "1966-12-01", 1, 1, "pending", 2, 1, ()),
    ("Noor", "Thompson", "1997-06-24", 0, 0, "diverted", 2, 0, ()),
    ("Mark", "White", "1958-01-13", 1, 0, "placed", 1, 1, ()),
    ("Elena", "Harris", "1986-09-30", 0, 0, "pending", 1, 0, ()),
    ("Steven", "Sanchez", "1974-08-22", 1, 0, "placed", 2, 0, ()),
    ("Tanya", "Clark", "1992-02-14", 0, 0, "diverted", 1, 0, ()),
    ("Paul", "Ramirez", "1969-05-05", 1, 1, "placed", 1, 1, ()),
    ("Rosa", "Lewis", "1988-11-11", 0, 0, "pending", 2, 0, ()),
    ("Kevin", "Robinson", "1980-03-03", 1, 0, "placed", 2, 1, ()),
    ("Ivy", "Walker", "1999-07-07", 0, 0, "pending", 1, 0, ()),
]

# A one-page PDF: the file every demo document carries.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


class _Bytes:
    """A ``ByteReader`` over bytes held in memory (demo files are tiny)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    async def read(self, size: int = -1) -> bytes:
        size = len(self._data) if size < 0 else size
        chunk, self._data = self._data[:size], self._data[size:]
        return chunk


async def _demo_actor(session: AsyncSession, coc: Coc, user_key: str, org_key: str) -> Actor:
    user = await session.get(User, demo_uuid(coc.code, "user", user_key))
    org = await session.get(Organization, demo_uuid(coc.code, "organization", org_key))
    membership = await session.scalar(
        select(Membership).where(
            Membership.user_id == demo_uuid(coc.code, "user", user_key),
            Membership.organization_id == demo_uuid(coc.code, "organization", org_key),
        )
    )
    assert user is not None and org is not None and membership is not None
    role = Role(membership.role)
    return Actor(
        user_id=user.id,
        email=user.email,
        full_name=user.full_name,
        organization=acting_organization(org),
        role=role,
        permissions=permissions_for(role),
        session_id=uuid.uuid4(),
    )


def _intake_body(
    person: tuple[str, str, str, int, int, str, int, int, tuple[tuple[str, str], ...]],
    entry: date,
) -> IntakeCreate:
    first, last, dob, sex, veteran, outcome, _, disabling, family = person
    street = entry - timedelta(days=400)
    barriers = [{"disability_type": t, "disability_response": 0} for t in (5, 6, 7, 8, 9, 10)]
    if disabling == 1:
        barriers[4] = {"disability_type": 9, "disability_response": 1, "indefinite_and_impairs": 1}
    body: dict[str, object] = {
        "client": {
            "first_name": first,
            "last_name": last,
            "dob": dob,
            "sex": sex,
            "veteran_status": veteran,
        },
        "family_members": [
            {
                "client": {"first_name": name, "last_name": last, "dob": born},
                "relationship_to_hoh": 2,
            }
            for name, born in family
        ],
        "entry_date": entry.isoformat(),
        "disabling_condition": disabling,
        "prior_living_situation": {
            "living_situation": 116 if disabling == 1 else 101,
            "length_of_stay": 5,
            "date_to_street_essh": street.isoformat(),
            "times_homeless_past_three_years": 2,
            "months_homeless_past_three_years": 112,
        },
        "translation": {"translation_needed": 0},
        "barriers": barriers if disabling != 99 else [],
        "current_living_situation": {"current_living_situation": 116 if disabling == 1 else 101},
        "diversion_assessment": {"housing_crisis_onset": street.isoformat()},
        "ready_for_outcome": outcome != "pending",
    }
    if outcome == "diverted":
        body["diverted"] = True
        body["diversion"] = {
            "destination": 422,
            "services": [{"service_type": "family_reunification"}],
            # Staying with family (335) for the destination 422; 4.12.B is asked for it.
            "exit_current_living_situation": {
                "current_living_situation": 335,
                "leave_situation_14_days": 0,
            },
        }
    elif outcome == "placed":
        body["diverted"] = False
        body["area_ties"] = [{"tie_date": "2019-05-01", "area": "coc_area", "how": "lived"}]
        body["housing_needs"] = {
            "sex_offender_registry": 0,
            "meth_manufacturing_conviction": 0,
            "behavioral_health_interest": 1,
            "violence_trauma_or_unsafe": 0,
        }
    return IntakeCreate.model_validate(body)


async def _demo_documents(
    session: AsyncSession,
    cas: Actor,
    agency: Actor,
    client: ClientModel,
    store: FileStore,
    disabling: bool,
) -> None:
    policy = documents.UploadPolicy(max_bytes=1024 * 1024, allowed_types=["application/pdf"])

    async def stored(name: str) -> documents.StoredUpload:
        source = documents.UploadSource(
            reader=_Bytes(DEMO_PDF), filename=name, content_type="application/pdf"
        )
        upload = await documents.store_upload(store, source, policy)
        on_rollback(session, partial(store.discard, upload.key))
        return upload

    items: list[tuple[str, str, str, str | None]] = [
        ("homeless", "homeless", "third_party_letter", "Shelter letter - Bridge - 2026")
    ]
    items.append(("homeless", "identity", "photo_id", None))
    if disabling:
        items.append(("disability", "disability", "disability_letter", "Parkland - 2026"))
    for category, item, document_type, comments in items:
        form = DocumentCheckForm.model_validate(
            {
                "category": category,
                "item": item,
                "document_type": document_type,
                "comments": comments,
            }
        )
        values = await documents.check_document_check(session, cas, form, has_file=True)
        await documents.add_document_check(
            session, cas, client, values, await stored(f"{item}.pdf")
        )
    id_card = documents.check_client_file(
        ClientFileForm.model_validate({"file_type": "photo_id", "description": "State ID"}),
        clock.today(agency),
    )
    await documents.add_client_file(session, agency, client, id_card, await stored("state-id.pdf"))


async def seed_demo_clients(
    session: AsyncSession, coc: Coc, cipher: FieldCipher, store: FileStore | None
) -> int:
    """Intakes of the demo people (with documents when a file store is given); nothing when the
    CoC has clients already. Returns how many intakes were recorded."""
    orgs = select(Organization.id).where(Organization.coc_id == coc.id)
    if await session.scalar(
        select(func.count())
        .select_from(ClientModel)
        .where(ClientModel.created_by_organization_id.in_(orgs))
    ):
        return 0
    access_points = {
        1: await _demo_actor(session, coc, "case_manager", "access_point_1"),
        2: await _demo_actor(session, coc, "case_manager2", "access_point_2"),
    }
    cas = await _demo_actor(session, coc, "case_manager", "cas")
    reviewer = await _demo_actor(session, coc, "cas_admin", "cas")
    today = clock.today(cas)
    placed = 0
    approved: list[uuid.UUID] = []
    not_queued: list[uuid.UUID] = []
    for i, person in enumerate(_PEOPLE):
        agency = access_points[person[6]]
        entry = today - timedelta(days=3 + (i * 7) % 120)
        result = await create_intake(session, agency, _intake_body(person, entry), cipher)
        if store is not None and person[5] == "placed":
            await _demo_documents(session, cas, agency, result.client, store, person[7] == 1)
        if result.queue_entry is not None:
            if await _demo_review(session, reviewer, agency, result.queue_entry.id, placed):
                approved.append(result.queue_entry.id)
            if placed == 5:
                left_area = (agency, result.enrollment)
            placed += 1
        else:
            not_queued.append(result.client.id)
    housed: list[uuid.UUID] = []
    housed_enrollments = []
    for i, person in enumerate(_HOUSING_PEOPLE):
        agency = access_points[person[6]]
        entry = today - timedelta(days=40 + 3 * i)
        result = await create_intake(session, agency, _intake_body(person, entry), cipher)
        if store is not None:
            await _demo_documents(session, cas, agency, result.client, store, person[7] == 1)
        assert result.queue_entry is not None
        await _demo_approve(session, reviewer, result.queue_entry.id, _HOUSING_SCORES[i])
        housed.append(result.queue_entry.id)
        housed_enrollments.append((agency, result.enrollment))
    await _demo_housing(session, coc, housed, approved, not_queued[0])
    # Exited from CAS: the household housed in PSH-104 (its program's destination), and a
    # placed household that left the CoC's area (its queue entry closed with the exit).
    agency, enrollment = housed_enrollments[3]
    await exit_enrollment(
        session,
        agency,
        enrollment,
        ExitCreate.model_validate(
            {
                "exit_date": today.isoformat(),
                "destination": 435,
                "destination_subsidy_type": 439,
                "exit_reason": "enrolled_in_permanent_housing",
            }
        ),
    )
    agency, enrollment = left_area
    await exit_enrollment(
        session,
        agency,
        enrollment,
        ExitCreate.model_validate(
            {
                "exit_date": today.isoformat(),
                "destination": 410,
                "exit_reason": "left_coc_area",
            }
        ),
    )
    return len(_PEOPLE) + len(_HOUSING_PEOPLE)


# The queue's review of the placed households, by their order of placement: a score (some
# scored again, with the reason), and a status in turn: pending, incomplete documentation (what
# is missing, instructions), sent back for a second review by the case manager, approved, and
# approved then reopened because a document expired.
_DEMO_SCORES = (14, 9, 17, 6, 11, 4, 12, 8, 15, 3, 10, 7, 13, 5, 16)


async def _demo_review(
    session: AsyncSession, reviewer: Actor, case_manager: Actor, entry_id: uuid.UUID, k: int
) -> bool:
    """The review of the ``k``-th placed household; whether it ends approved."""
    flow = await transitions.get_flow_entry(session, reviewer, entry_id)
    score = _DEMO_SCORES[k % len(_DEMO_SCORES)]
    await scores.record_score(
        session,
        reviewer,
        flow.entry,
        QueueScoreUpdate(score=score, reason="VI-SPDAT completed at the intake."),
    )
    if k % 3 == 2:
        await scores.record_score(
            session,
            reviewer,
            flow.entry,
            QueueScoreUpdate(
                score=min(score + 2, 22),
                reason="Scored again after the case conference: new hospital stays reported.",
            ),
        )
    plan = k % 5
    if plan == 0:
        return False

    async def move(actor: Actor, body: dict[str, object]) -> None:
        current = await transitions.get_flow_entry(session, actor, entry_id)
        await transitions.move(session, actor, current, QueueTransitionCreate.model_validate(body))

    incomplete: dict[str, object] = {
        "to_status": "incomplete_documentation",
        "note": "Reviewed for a PSH referral.",
        "incomplete_reasons": [
            {"code": "disability_verification"},
            {"code": "other", "text": "A current photo ID"},
        ],
        "instructions_for_case_manager": "Upload the doctor's letter or the SSI award letter to "
        "Document Check, then send the record back for a second review.",
    }
    if plan in (1, 2):
        await move(reviewer, incomplete)
    if plan == 2:
        await move(
            case_manager,
            {"to_status": "pending_second_review", "note": "Disability letter uploaded."},
        )
    if plan in (3, 4):
        await move(reviewer, {"to_status": "approved", "note": "Documentation complete."})
    if plan == 4:
        await move(
            reviewer,
            {
                "to_status": "incomplete_documentation",
                "note": "The homelessness letter has expired.",
                "incomplete_reasons": [{"code": "document_expired"}],
                "instructions_for_case_manager": "Upload a current letter from the shelter.",
            },
        )
    return plan == 3


async def _demo_approve(
    session: AsyncSession, reviewer: Actor, entry_id: uuid.UUID, score: int
) -> None:
    flow = await transitions.get_flow_entry(session, reviewer, entry_id)
    await scores.record_score(
        session, reviewer, flow.entry, QueueScoreUpdate(score=score, reason="VI-SPDAT at intake.")
    )
    flow = await transitions.get_flow_entry(session, reviewer, entry_id)
    await transitions.move(
        session,
        reviewer,
        flow,
        QueueTransitionCreate.model_validate(
            {"to_status": "approved", "note": "Documentation complete."}
        ),
    )


# --- demo housing: inventory and matches ----------------------------------------------------------
# Households placed, documented and approved to be matched (same shape as ``_PEOPLE``).
_HOUSING_PEOPLE: list[
    tuple[str, str, str, int, int, str, int, int, tuple[tuple[str, str], ...]]
] = [
    ("Oscar", "Reyes", "1967-04-18", 1, 0, "placed", 1, 1, ()),
    ("Dolores", "Flores", "1960-10-02", 0, 0, "placed", 2, 1, ()),
    ("Yasmin", "Ortiz", "1990-06-30", 0, 0, "placed", 1, 1, (("Leila", "2016-09-12"),)),
    ("Frank", "Rivera", "1963-01-21", 1, 0, "placed", 2, 1, ()),
    ("Bianca", "Morales", "1986-12-09", 0, 0, "placed", 1, 1, ()),
    ("Gerald", "Price", "1958-08-14", 1, 0, "placed", 2, 1, ()),
    ("Lorraine", "Bennett", "1971-03-27", 0, 0, "placed", 1, 1, ()),
]
_HOUSING_SCORES = (16, 13, 15, 12, 11, 10, 9)

# An EHV program of the housing agency (a voucher program is a project too: seeded here, with
# the demo's housing, not in every CoC ``seed_coc`` makes).
_EHV_PROJECT = ("h1_ehv", "housing_1", "Hope Emergency Housing Vouchers", 9, 52)

# Each project's matching profile: funding sources and requirements (seed 001's shapes).
_PROFILES: dict[str, dict[str, object]] = {
    "h1_psh": {
        "funding_sources": [2],
        "referrals_through_cas": True,
        "requirements": [
            {"kind": "sex_offender_registry", "polarity": "must_not"},
            {"kind": "meth_conviction", "polarity": "must_not"},
            {"kind": "fits_bedrooms"},
        ],
    },
    "h1_rrh": {
        "funding_sources": [3],
        "referrals_through_cas": True,
        "stall_after_days": 7,
        "requirements": [
            {"kind": "area_tie", "area": "coc_area"},
            {"kind": "household_size", "max_value": 4},
        ],
    },
    "h2_vash": {
        "funding_sources": [20],
        "referrals_through_cas": True,
        "requirements": [{"kind": "veteran"}, {"kind": "vash_eligible"}],
    },
    "h1_ehv": {"funding_sources": [52], "referrals_through_cas": True, "requirements": []},
}

# (project key, label, bedrooms)
_UNITS: list[tuple[str, str, int]] = [
    *[("h1_psh", f"PSH-10{n}", b) for n, b in ((1, 1), (2, 1), (3, 2), (4, 0), (5, 1))],
    *[("h1_psh", f"PSH-10{n}", 1) for n in (6, 7, 8, 9)],
    *[("h1_rrh", f"RRH-20{n}", 2) for n in (1, 2, 3, 4)],
    *[("h1_ehv", f"EHV-{n}", 2) for n in (1, 2, 3, 4)],
    ("h2_vash", "VASH-1", 1),
    ("h2_vash", "VASH-2", 1),
]


async def _demo_housing(
    session: AsyncSession,
    coc: Coc,
    housing: list[uuid.UUID],
    approved: list[uuid.UUID],
    walk_in: uuid.UUID,
) -> None:
    """Units in every status and matches in every state, a stalled one and one about to
    stall, for the approved households: ``housing`` (the housing people's entries, in order)
    and ``approved`` (the other approved entries)."""
    admin = await _demo_actor(session, coc, "cas_admin", "cas")
    provider = await _demo_actor(session, coc, "housing_provider", "housing_1")
    navigator = provider
    key, org_key, name, ptype, funder = _EHV_PROJECT
    session.add(
        Project(
            id=demo_uuid(coc.code, "project", key),
            organization_id=demo_uuid(coc.code, "organization", org_key),
            name=name,
            project_type=ptype,
            funding_source=funder,
            referrals_through_cas=True,
            operating_start_date=date(2021, 10, 1),
            geocode=DEMO_GEOCODE,
        )
    )
    await session.flush()
    projects: dict[str, Project] = {}
    for pkey, body in _PROFILES.items():
        project = await session.get(Project, demo_uuid(coc.code, "project", pkey))
        assert project is not None
        projects[pkey] = project
        await inventory.replace_profile(
            session, admin, project, MatchingProfileUpdate.model_validate(body), lambda _: None
        )
    units = {}
    for pkey, label, bedrooms in _UNITS:
        writer = admin if pkey == "h2_vash" else provider
        units[label] = await inventory.create_unit(
            session, writer, projects[pkey], UnitCreate(label=label, bedrooms=bedrooms)
        )
    # Units in every status, moved by their events.
    await inventory.apply_event(
        session,
        provider,
        units["PSH-106"],
        UnitEventKind.RESERVE,
        note="Held for a tenant transferring from another program (not referred through CAS).",
    )
    await inventory.apply_event(
        session,
        provider,
        units["PSH-107"],
        UnitEventKind.TAKE_OFFLINE,
        reason=OfflineReason.REPAIRS,
        note="Water damage in the bathroom.",
    )
    await inventory.apply_event(
        session,
        admin,
        units["PSH-109"],
        UnitEventKind.CHECK_IN,
        client_id=walk_in,
        note="Moved in from the project's own waiting list.",
    )
    await inventory.apply_event(
        session,
        admin,
        units["VASH-2"],
        UnitEventKind.TAKE_OFFLINE,
        reason=OfflineReason.INSPECTION,
        note="Annual HQS inspection.",
    )

    async def send(unit: str, entry: uuid.UUID, note: str, days_ago: int = 0) -> Match:
        match = await matches.create_match(
            session, admin, MatchCreate(unit_id=units[unit].id, queue_entry_id=entry, note=note)
        )
        if days_ago:
            # Sent earlier (the stall clock with it); its timeline keeps the day of seeding.
            match.sent_at -= timedelta(days=days_ago)
            match.clock_started_at = match.sent_at
            match.sent_on -= timedelta(days=days_ago)
            if match.referral_event_id is not None:
                event = await session.get(CeEvent, match.referral_event_id)
                assert event is not None
                event.event_date = match.sent_on
            await session.flush()
        return match

    h = housing
    # Declined by RRH, then sent to PSH 11 days ago with no answer: stalled.
    first = await send("RRH-201", h[0], "Chronic, long time in the encampment.", days_ago=12)
    await matches.decline(
        session,
        provider,
        first,
        DeclineReason.NOT_ELIGIBLE_FOR_HOUSING_TYPE,
        "Needs more support than rapid re-housing offers.",
    )
    await send("PSH-101", h[0], "A better match after the RRH decline.", days_ago=11)
    # Sent 9 days ago: about to stall (the CoC's 10 days, warned 2 days before).
    await send("PSH-102", h[1], "Top of the queue for a one-bedroom.", days_ago=9)
    # Rejected by RRH (outcome), then sent to PSH and accepted: the program intake started.
    rejected = await send("RRH-202", h[2], "Family unit.", days_ago=6)
    await matches.outcome(
        session, provider, rejected, ProviderResult.REJECTED, None, "Household over income."
    )
    accepted = await send("PSH-103", h[2], "Two bedrooms for the family.", days_ago=3)
    await matches.accept(session, provider, accepted, None, "Intake scheduled.")
    # Housed: accepted, enrolled; the unit is occupied and the queue entry closed.
    enrolled = await send("PSH-104", h[3], "Studio ready now.", days_ago=8)
    await matches.accept(session, provider, enrolled, None, "Intake done.")
    await matches.outcome(
        session, provider, enrolled, ProviderResult.CLIENT_ENROLLED, None, "Lease signed."
    )
    # Parked: cannot be reached (back on the queue in 30 days, in its place).
    parked = await send("RRH-203", h[4], "Good fit for RRH.", days_ago=5)
    await matches.park(
        session, provider, parked, ParkReason.DISENGAGED, None, "Three attempts, no answer."
    )
    # No show, then sent again elsewhere (on time).
    no_show = await send("RRH-204", h[5], "Ready for RRH.", days_ago=7)
    await matches.outcome(
        session, provider, no_show, ProviderResult.NO_SHOW, None, "Missed two intake dates."
    )
    await send("PSH-105", h[5], "Sent again after the missed intakes.", days_ago=1)
    # EHV: canceled (sent in error), then the route, one household at each step.
    canceled = await send("EHV-1", h[6], "Voucher referral.", days_ago=4)
    await matches.cancel(
        session, admin, canceled, CancelReason.SENT_IN_ERROR, "Wrong voucher program."
    )
    today = clock.today(admin)
    route = [h[6], *approved][:4]
    for step, entry in enumerate(route):
        match = await send(f"EHV-{step + 1}", entry, "Emergency Housing Voucher.", days_ago=2)
        await matches.accept(session, admin, match, None, "Eligible for EHV.")
        if step >= 1:
            await matches.voucher_issued(session, navigator, match, today, "Voucher issued.")
        if step >= 2:
            await matches.rfta_submitted(session, navigator, match, today, "RFTA to the PHA.")
        if step >= 3:
            # The contact records the outcome (referrals:respond): the demo's one such role
            # outside the admins is Hope Housing's, which takes the case over.
            await matches.assign_ehv_case_manager(
                session,
                admin,
                match,
                demo_uuid(coc.code, "organization", "housing_1"),
                demo_uuid(coc.code, "user", "housing_provider"),
                "Hope's housing case manager takes over.",
            )
