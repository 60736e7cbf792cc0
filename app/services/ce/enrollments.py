"""Enrollments: households into projects, case manager assignments, editing the entry, reads.

One ``Enrollment`` row per enrolled household member (HUD); the members of one stay share
``household_group_id`` = the head of household's enrollment id. A client has at most one open
Coordinated Entry enrollment (also a partial unique index). An enrollment is visible exactly when
its client is (``client_access``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.db import constraint_name
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.models import Client, Coc, Household, Membership, Organization, Project, User, scoping
from app.models.area_ties import AreaTie
from app.models.ce_records import (
    CaseNote,
    CeAssessment,
    CeEvent,
    CurrentLivingSituation,
    Disability,
    DiversionAssessment,
    HealthAndDv,
    HousingNeedsAssessment,
    IncomeBenefits,
    Service,
)
from app.models.enrollments import CaseAssignment, Enrollment, EnrollmentAssessment, Exit
from app.models.queue import QueueEntry
from app.permissions import Permission, Role, permissions_for
from app.reference import PROJECT_TYPE_CE
from app.reference.ce import Outcome
from app.reference.data_quality import ADULT_AGE, is_adult
from app.reference.living_situations import (
    check_not_future,
    check_prior_dates,
    check_prior_living_situation,
)
from app.schemas.clients import ClientCreate
from app.schemas.enrollments import (
    EnrollmentCreate,
    EnrollmentRead,
    EnrollmentUpdate,
    FamilyMemberIn,
    PriorLivingSituationIn,
    TranslationIn,
)
from app.schemas.pagination import PageParams
from app.services.ce import policy as enrollment_policy
from app.services.ce.barriers import check_disabling_against_entry_barriers
from app.services.clients import access as client_access
from app.services.clients import contacts, data_quality, households
from app.services.clients import core as clients
from app.services.identity.organizations import ce_project_for, get_project
from app.services.platform import audit
from app.services.platform.crypto import FieldCipher
from app.services.platform.pagination import PageOf, paginate

HEAD = 1
# HUD 3.20 Housing Move-in Date is collected only by permanent housing projects (PSH 3, PH 9 and
# 10, RRH 13).
MOVE_IN_PROJECT_TYPES = frozenset({3, 9, 10, 13})
PRIOR_FIELDS = tuple(PriorLivingSituationIn.model_fields)
TRANSLATION_FIELDS = tuple(TranslationIn.model_fields)


def _problem_errors(field: str, msg: str, kind: str) -> list[dict[str, Any]]:
    return [{"loc": ["body", *field.split(".")], "msg": msg, "type": kind}]


# --- lookups -----------------------------------------------------------------------------------


def visible_enrollments_stmt(actor: Actor, *, voided: bool = False) -> Select[Enrollment]:
    """Enrollments whose client ``actor`` may see; voided ones only when ``voided`` (the void
    and undo routes): everywhere else a voided enrollment does not exist."""
    stmt = (
        select(Enrollment)
        .join(Client, Client.id == Enrollment.client_id)
        .where(Enrollment.coc_id == actor.coc_id, client_access.visible_clients_filter(actor))
    )
    return stmt if voided else stmt.where(Enrollment.voided_at.is_(None))


async def get_visible_enrollment(
    session: AsyncSession,
    actor: Actor,
    enrollment_id: uuid.UUID,
    *,
    for_update: bool = False,
    voided: bool = False,
) -> Enrollment:
    stmt = visible_enrollments_stmt(actor, voided=voided).where(Enrollment.id == enrollment_id)
    if for_update:
        stmt = stmt.with_for_update(of=Enrollment)
    enrollment = await session.scalar(stmt)
    if enrollment is None:
        raise NotFound("No such enrollment.")
    return enrollment


async def household_group(session: AsyncSession, enrollment: Enrollment) -> list[Enrollment]:
    """The enrollments of the same household stay, head first."""
    rows = (
        await session.scalars(
            select(Enrollment)
            .where(Enrollment.household_group_id == enrollment.household_group_id)
            .order_by(Enrollment.relationship_to_hoh != HEAD, Enrollment.created_at, Enrollment.id)
        )
    ).all()
    return list(rows)


async def visible_household_group(
    session: AsyncSession, actor: Actor, enrollment: Enrollment
) -> list[Enrollment]:
    """The household stay's enrollments whose client ``actor`` may see, head first: members it
    may not see are left out entirely (no id, no data, no count)."""
    rows = (
        await session.scalars(
            visible_enrollments_stmt(actor)
            .where(Enrollment.household_group_id == enrollment.household_group_id)
            .order_by(Enrollment.relationship_to_hoh != HEAD, Enrollment.created_at, Enrollment.id)
        )
    ).all()
    return list(rows)


ONE_OPEN_CE_INDEX = "uq_enrollments_one_open_ce_per_client"


def head_of(group: Sequence[Enrollment]) -> Enrollment:
    return next(e for e in group if e.id == e.household_group_id)


async def open_ce_enrollment(session: AsyncSession, client_id: uuid.UUID) -> Enrollment | None:
    return await session.scalar(
        select(Enrollment).where(
            Enrollment.client_id == client_id,
            Enrollment.is_coordinated_entry,
            Enrollment.exit_date.is_(None),
            Enrollment.voided_at.is_(None),
        )
    )


def already_enrolled(enrollment: Enrollment, field: str) -> Conflict:
    return Conflict(
        "This client already has an open Coordinated Entry enrollment: record an update "
        f"assessment on it (POST /api/v1/enrollments/{enrollment.id}/assessments) instead of a "
        "new intake.",
        errors=_problem_errors(field, "already enrolled in Coordinated Entry", "already_enrolled"),
        extra={"enrollment_id": str(enrollment.id)},
    )


def closed_enrollment(enrollment: Enrollment) -> Conflict:
    return Conflict(
        f"The enrollment was exited on {enrollment.exit_date}; it can no longer be changed.",
        errors=[
            {"loc": ["path", "enrollment_id"], "msg": "enrollment is exited", "type": "closed"}
        ],
        extra={"enrollment_id": str(enrollment.id)},
    )


def require_open(enrollment: Enrollment) -> None:
    if enrollment.exit_date is not None:
        raise closed_enrollment(enrollment)


def check_record_date(enrollment: Enrollment, value: date, field: str, today: date) -> None:
    """A record's date lies within the enrollment (from entry to exit, not after ``today``, the
    CoC's date)."""
    check_not_future(value, "", field, today)
    if value < enrollment.entry_date:
        raise ValidationFailed(
            f"{field} is before the entry date {enrollment.entry_date}.", field=field
        )
    if enrollment.exit_date is not None and value > enrollment.exit_date:
        raise ValidationFailed(
            f"{field} is after the exit date {enrollment.exit_date}.", field=field
        )


async def check_no_overlap(
    session: AsyncSession,
    client_id: uuid.UUID,
    entry_date: date,
    field: str,
    *,
    excluding: uuid.UUID | None = None,
) -> None:
    """A new (or moved) Coordinated Entry stay may not start before the client's previous CE
    exit: HUD reports count overlapping stays in one project twice."""
    stmt = select(func.max(Enrollment.exit_date)).where(
        Enrollment.client_id == client_id,
        Enrollment.is_coordinated_entry,
        Enrollment.exit_date.is_not(None),
        Enrollment.voided_at.is_(None),
    )
    if excluding is not None:
        stmt = stmt.where(Enrollment.id != excluding)
    last_exit = await session.scalar(stmt)
    if last_exit is not None and entry_date < last_exit:
        raise ValidationFailed(
            f"The entry date is before this client's previous Coordinated Entry exit on "
            f"{last_exit}; CE stays may not overlap.",
            field=field,
        )


# --- reads -------------------------------------------------------------------------------------


async def enrollment_reads(
    session: AsyncSession,
    actor: Actor,
    enrollments: Sequence[Enrollment],
    *,
    audit_read: bool = False,
) -> list[EnrollmentRead]:
    """Enrollments with their exit, case assignments, queue entry and inactivity flag. The
    household's queue entry names its head: it is shown only to callers who may see the head.
    ``audit_read``: the response is a read of the clients' enrollment data (GET): one
    ``pii.read`` event naming them."""
    if not enrollments:
        return []
    if audit_read:
        audit.record_pii_reads(
            session, actor, [e.client_id for e in enrollments], fields=["enrollment"]
        )
    ids = [e.id for e in enrollments]
    exits = {
        x.enrollment_id: x
        for x in (await session.scalars(select(Exit).where(Exit.enrollment_id.in_(ids)))).all()
    }
    assignments: dict[uuid.UUID, list[CaseAssignment]] = {i: [] for i in ids}
    for a in (
        await session.scalars(
            select(CaseAssignment)
            .where(CaseAssignment.enrollment_id.in_(ids))
            .order_by(CaseAssignment.start_date, CaseAssignment.created_at)
        )
    ).all():
        assignments[a.enrollment_id].append(a)
    heads = {e.household_group_id for e in enrollments}
    queue: dict[uuid.UUID, QueueEntry] = {}
    for q in (
        await session.scalars(
            select(QueueEntry)
            .where(QueueEntry.head_enrollment_id.in_(heads))
            .order_by(QueueEntry.created_at)
        )
    ).all():
        queue[q.head_enrollment_id] = q  # the latest wins
    if queue:
        seen_heads = set(
            (
                await session.scalars(
                    select(Client.id).where(
                        Client.id.in_({q.head_client_id for q in queue.values()}),
                        client_access.visible_clients_filter(actor),
                    )
                )
            ).all()
        )
        queue = {k: q for k, q in queue.items() if q.head_client_id in seen_heads}
    clients = {
        c.id: c
        for c in (
            await session.scalars(
                select(Client).where(Client.id.in_({e.client_id for e in enrollments}))
            )
        ).all()
    }
    out = []
    for e in enrollments:
        last_contact = clients[e.client_id].last_contact_at
        out.append(
            EnrollmentRead.model_validate(
                {
                    **{k: getattr(e, k) for k in EnrollmentRead.model_fields if hasattr(e, k)},
                    "exit": exits.get(e.id),
                    "case_assignments": assignments[e.id],
                    "queue_entry": queue.get(e.household_group_id),
                    "last_contact_at": last_contact,
                    "inactive": contacts.is_inactive(last_contact),
                }
            )
        )
    return out


async def enrollment_read(
    session: AsyncSession, actor: Actor, enrollment: Enrollment, *, audit_read: bool = False
) -> EnrollmentRead:
    await scoping.refresh(session, enrollment)
    return (await enrollment_reads(session, actor, [enrollment], audit_read=audit_read))[0]


# --- households into enrollments ---------------------------------------------------------------


@dataclass
class MemberPlan:
    client_id: uuid.UUID | None
    relationship: int | None
    enroll: bool
    disabling_condition: int
    prior: PriorLivingSituationIn | None
    field: str  # where this member is in the body, for problems
    new_client: ClientCreate | None = None  # a new client to create


async def visible_family(
    session: AsyncSession, actor: Actor, family: Sequence[FamilyMemberIn]
) -> list[FamilyMemberIn]:
    """Every existing family member (``family_members[i].client_id``) must be a client the caller
    may see -- enrolled or not, in the household or not -- and one it may not see answers like an
    unknown id, before anything else looks at it. A merged id stands for its survivor."""
    checked = []
    for i, m in enumerate(family):
        if m.client_id is not None:
            client = await client_access.get_visible_body_client(
                session, actor, m.client_id, f"family_members.{i}.client_id"
            )
            m = m.model_copy(update={"client_id": client.id})
        checked.append(m)
    return checked


def plan_members(
    main: MemberPlan, household_id: uuid.UUID | None, family: Sequence[FamilyMemberIn]
) -> list[MemberPlan]:
    """Check the household's shape before anything is written (head count, who enrolls)."""
    plans = [main]
    for i, m in enumerate(family):
        field = f"family_members.{i}"
        if (m.client_id is None) == (m.client is None):
            raise ValidationFailed(
                "Give either client_id (an existing client) or client (a new one).",
                field=f"{field}.client_id",
            )
        if household_id is not None and m.client is not None:
            raise ValidationFailed(
                "New clients cannot join an existing household here; add them to the household "
                "first.",
                field=f"{field}.client",
            )
        if household_id is None and m.relationship_to_hoh is None:
            raise ValidationFailed(
                "relationship_to_hoh is required for each member of a new household.",
                field=f"{field}.relationship_to_hoh",
            )
        plans.append(
            MemberPlan(
                client_id=m.client_id,
                relationship=m.relationship_to_hoh,
                enroll=m.enroll,
                disabling_condition=m.disabling_condition,
                prior=m.prior_living_situation,
                field=field,
                new_client=m.client,
            )
        )
    ids = [p.client_id for p in plans if p.client_id is not None]
    if len(ids) != len(set(ids)):
        dup = next(p for p in plans[1:] if p.client_id is not None and ids.count(p.client_id) > 1)
        raise ValidationFailed("A client can be listed once.", field=f"{dup.field}.client_id")
    if household_id is None:
        if main.relationship is None:
            main.relationship = HEAD  # the client is the head unless the body says otherwise
        heads = [p for p in plans if p.relationship == HEAD]
        if len(heads) != 1:
            raise ValidationFailed(
                "A household has exactly one head of household (relationship_to_hoh 1); "
                f"{len(heads)} given.",
                field=(heads[1].field + ".relationship_to_hoh") if heads else "relationship_to_hoh",
            )
    for p in plans:
        if p.prior is not None:
            p.prior = PriorLivingSituationIn.model_validate(
                check_prior_living_situation(
                    p.prior.model_dump(), _join(p.field, "prior_living_situation")
                )
            )
    return plans


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def check_new_clients(plans: Sequence[MemberPlan], today: date) -> None:
    """New clients' dates of birth are not after ``today`` (the CoC's date); a new client under
    18 is not a veteran (HUD 3.07)."""
    for p in plans:
        if p.new_client is not None:
            clients.check_dob(p.new_client.dob, today, _join(p.field, "client.dob"))
            clients.check_veteran_age(
                p.new_client.veteran_status,
                p.new_client.dob,
                today,
                _join(p.field, "client.veteran_status"),
            )


async def resolve_household(
    session: AsyncSession, actor: Actor, household_id: uuid.UUID | None, plans: list[MemberPlan]
) -> Household:
    """The existing household (members and relationships checked) or a new one of ``plans``."""
    if household_id is None:
        members = [(p.client_id, p.relationship) for p in plans]
        return await households.create_household(
            session, actor, [(c, r) for c, r in members if c is not None and r is not None]
        )
    try:
        household = await households.get_visible_household(session, actor, household_id)
    except NotFound:
        raise ValidationFailed("No such household.", field="household_id")
    relationships = {m.client_id: m.relationship_to_hoh for m in household.members}
    for p in plans:
        if p.client_id not in relationships:
            raise ValidationFailed(
                "This client is not a member of the household.",
                field=_join(p.field, "client_id"),
            )
        actual = relationships[p.client_id]
        if p.relationship is not None and p.relationship != actual:
            raise ValidationFailed(
                f"The household records relationship_to_hoh {actual} for this client.",
                field=_join(p.field, "relationship_to_hoh"),
            )
        p.relationship = actual
    return household


def check_enrolling(plans: Sequence[MemberPlan]) -> list[MemberPlan]:
    enrolling = [p for p in plans if p.enroll]
    heads = [p for p in enrolling if p.relationship == HEAD]
    if len(heads) != 1:
        head = next((p for p in plans if p.relationship == HEAD), None)
        raise ValidationFailed(
            "The head of household must enroll (exactly one head per household enrollment).",
            field=_join(head.field, "enroll") if head is not None else "relationship_to_hoh",
        )
    return enrolling


def check_translation(t: TranslationIn | None, prefix: str = "translation") -> dict[str, Any]:
    if t is None:
        return {}
    if t.preferred_language is not None and t.translation_needed != 1:
        raise ValidationFailed(
            "preferred_language is asked only when translation_needed is 1.",
            field=f"{prefix}.preferred_language",
        )
    if (t.preferred_language == 21) != (t.preferred_language_different is not None):
        raise ValidationFailed(
            "preferred_language_different is required when, and only when, preferred_language "
            "is 21.",
            field=f"{prefix}.preferred_language_different",
        )
    return t.model_dump()


# Roles whose users may be case managers: those that write Coordinated Entry records.
CASE_MANAGER_ROLES = frozenset(
    role.value
    for role in Role
    if {Permission.ENROLLMENTS_WRITE, Permission.CLIENTS_WRITE} <= permissions_for(role)
)


async def check_case_manager(
    session: AsyncSession, actor: Actor, user_id: uuid.UUID, project: Project, field: str
) -> None:
    """The case manager must be an active user with a role that does Coordinated Entry work
    (``CASE_MANAGER_ROLES``) in the acting organization or the project's organization."""
    member = await session.scalar(
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.user_id == user_id,
            Membership.organization_id.in_({actor.organization_id, project.organization_id}),
            Membership.role.in_(CASE_MANAGER_ROLES),
            User.is_active,
        )
    )
    if member is None:
        raise ValidationFailed(
            "The case manager must be an active user of your organization or of the project's, "
            "in a role that does Coordinated Entry work (not a housing provider).",
            field=field,
        )


def check_operating_period(project: Project, day: date, field: str) -> None:
    """HUD 2.03: a project serves clients between its operating start and end dates; an
    entry outside them is a 422 naming ``field``."""
    if day < project.operating_start_date:
        raise ValidationFailed(
            f"{field} is before the project's operating start date {project.operating_start_date}.",
            field=field,
        )
    if project.operating_end_date is not None and day > project.operating_end_date:
        raise ValidationFailed(
            f"{field} is after the project's operating end date {project.operating_end_date}.",
            field=field,
        )


async def locked_project(session: AsyncSession, project_id: uuid.UUID) -> Project:
    """The project read afresh under ``FOR SHARE``: an entry date is checked against the
    operating period while no project update (``FOR NO KEY UPDATE``, which conflicts) can
    shrink it; concurrent enrollments (share locks) do not wait for each other."""
    return (
        await session.scalars(
            select(Project)
            .where(Project.id == project_id)
            .with_for_update(read=True, of=Project)
            .execution_options(populate_existing=True)
        )
    ).one()


async def check_organization_active(session: AsyncSession, project: Project) -> None:
    """A deactivated organization's projects take no new enrollments (409 naming
    ``project_id``); its existing enrollments stay as they are."""
    active = await session.scalar(
        select(Organization.is_active).where(Organization.id == project.organization_id)
    )
    if not active:
        msg = (
            "The project's organization is deactivated: it takes no new enrollments "
            "(a system admin can reactivate it)."
        )
        raise Conflict(
            msg,
            errors=_problem_errors("project_id", msg, "deactivated"),
            extra={"organization_id": str(project.organization_id)},
        )


async def ce_project(session: AsyncSession, actor: Actor) -> Project:
    project = await ce_project_for(session, actor.coc_id)
    if project is None:
        raise Conflict(
            "This CoC has no Coordinated Entry project (ProjectType 14) in its CAS organization."
        )
    return project


async def resolve_project(
    session: AsyncSession, actor: Actor, project_id: uuid.UUID | None
) -> Project:
    if project_id is None:
        return await ce_project(session, actor)
    try:
        project = await get_project(session, actor, project_id)
    except NotFound:
        raise ValidationFailed("No such project.", field="project_id")
    coc_ce = await ce_project_for(session, actor.coc_id)
    is_coc_ce = coc_ce is not None and coc_ce.id == project.id
    if not enrollment_policy.can_enroll_into(
        actor, project.organization_id, is_coc_ce_project=is_coc_ce
    ):
        raise Forbidden(
            "You may enroll clients only into your organization's projects (or the CoC's "
            "Coordinated Entry project)."
        )
    return project


async def enroll(
    session: AsyncSession,
    actor: Actor,
    *,
    project: Project,
    household: Household,
    enrolling: Sequence[MemberPlan],
    entry_date: date,
    case_manager_user_id: uuid.UUID,
    translation: TranslationIn | None,
) -> list[Enrollment]:
    """Create one enrollment per enrolling member (head first) and their case assignments."""
    translation_values = check_translation(translation)
    await check_organization_active(session, project)
    check_not_future(entry_date, "", "entry_date", clock.today(actor))
    project = await locked_project(session, project.id)
    check_operating_period(project, entry_date, "entry_date")
    is_ce = project.project_type == PROJECT_TYPE_CE
    if is_ce:
        for p in enrolling:
            assert p.client_id is not None
            existing = await open_ce_enrollment(session, p.client_id)
            if existing is not None:
                raise already_enrolled(existing, _join(p.field, "client_id"))
            await check_no_overlap(session, p.client_id, entry_date, "entry_date")
    for p in enrolling:
        if p.prior is not None:
            check_prior_dates(
                p.prior.model_dump(), entry_date, _join(p.field, "prior_living_situation")
            )
    await check_adult_elements(session, enrolling, entry_date)
    coc_code = await session.scalar(select(Coc.code).where(Coc.id == actor.coc_id))
    ordered = sorted(enrolling, key=lambda p: p.relationship != HEAD)
    head_id = uuid.uuid4()
    # The insert runs in a savepoint so a lost race can be answered like a seen conflict.
    savepoint = await session.begin_nested()
    rows: list[Enrollment] = []
    for p in ordered:
        assert p.client_id is not None and p.relationship is not None
        prior = p.prior.model_dump() if p.prior is not None else {}
        enrollment = Enrollment(
            id=head_id if p.relationship == HEAD else uuid.uuid4(),
            coc_id=actor.coc_id,
            client_id=p.client_id,
            project_id=project.id,
            is_coordinated_entry=is_ce,
            household_id=household.id,
            household_group_id=head_id,
            relationship_to_hoh=p.relationship,
            entry_date=entry_date,
            enrollment_coc=coc_code,
            created_by_user_id=actor.user_id,
            created_by_organization_id=actor.organization_id,
            disabling_condition=p.disabling_condition,
            outcome=Outcome.PENDING,
            **prior,
            **(translation_values if p is enrolling[0] else {}),
        )
        session.add(enrollment)
        rows.append(enrollment)
    try:
        await session.flush()
        await savepoint.commit()
    except IntegrityError as exc:
        await savepoint.rollback()
        # A concurrent intake enrolled the same client first: answer as if we had seen it.
        if constraint_name(exc) == ONE_OPEN_CE_INDEX:
            for p in enrolling:
                assert p.client_id is not None
                existing = await open_ce_enrollment(session, p.client_id)
                if existing is not None:
                    raise already_enrolled(existing, _join(p.field, "client_id")) from exc
        raise
    for e in rows:
        for org_id in {project.organization_id, actor.organization_id}:
            await client_access.grant(session, e.client_id, org_id, "enrolled")
        session.add(
            CaseAssignment(
                coc_id=e.coc_id,
                enrollment_id=e.id,
                client_id=e.client_id,
                user_id=case_manager_user_id,
                organization_id=actor.organization_id,
                start_date=entry_date,
                status="active",
                assigned_by_user_id=actor.user_id,
            )
        )
        audit.record(
            session,
            actor,
            "enrollment.create",
            "enrollment",
            e.id,
            {
                "client_id": e.client_id,
                "project_id": project.id,
                "household_group_id": head_id,
                "relationship_to_hoh": e.relationship_to_hoh,
                "entry_date": entry_date,
                "case_manager_user_id": case_manager_user_id,
            },
        )
    await session.flush()
    await data_quality.refresh_enrollments(session, rows)
    return rows


async def check_adult_elements(
    session: AsyncSession, enrolling: Sequence[MemberPlan], entry_date: date
) -> None:
    """Elements collected by age on the entry date: HUD 3.917 Prior Living Situation for the
    head of household and every adult (18 or older; a member whose age is unknown is asked
    when head of household only), and HUD 3.07 Veteran Status Yes only for adults."""
    facts = {
        row.id: row
        for row in (
            await session.execute(
                select(Client.id, Client.dob, Client.veteran_status).where(
                    Client.id.in_([p.client_id for p in enrolling])
                )
            )
        ).all()
    }
    for p in enrolling:
        assert p.client_id is not None
        row = facts[p.client_id]
        adult = is_adult(row.dob, entry_date)
        if row.veteran_status == 1 and adult is False:
            field = _join(p.field, "client.veteran_status" if p.new_client else "client_id")
            raise ValidationFailed(
                f"HUD 3.07: Veteran Status is collected for adults only; this client is under "
                f"{ADULT_AGE} on the entry date {entry_date} and cannot be a veteran (1): "
                "correct the client's veteran_status or date of birth first.",
                field=field,
            )
        if p.prior is None and (p.relationship == HEAD or adult):
            raise ValidationFailed(
                "HUD 3.917: prior_living_situation is required at entry for the head of "
                f"household and every adult ({ADULT_AGE} or older on the entry date).",
                field=_join(p.field, "prior_living_situation"),
            )


async def create_enrollment(
    session: AsyncSession, actor: Actor, body: EnrollmentCreate, cipher: FieldCipher
) -> Enrollment:
    """Enroll the client (and chosen household members); returns the client's enrollment."""
    project = await resolve_project(session, actor, body.project_id)
    client = await client_access.get_visible_body_client(
        session, actor, body.client_id, "client_id"
    )
    family = await visible_family(session, actor, body.family_members)
    main = MemberPlan(
        client_id=client.id,
        relationship=body.relationship_to_hoh,
        enroll=True,
        disabling_condition=body.disabling_condition,
        prior=body.prior_living_situation,
        field="",
    )
    plans = plan_members(main, body.household_id, family)
    check_translation(body.translation)
    today = clock.today(actor)
    check_new_clients(plans, today)
    entry = body.entry_date or today
    check_not_future(entry, "", "entry_date", today)
    case_manager = body.case_manager_user_id or actor.user_id
    await check_case_manager(session, actor, case_manager, project, "case_manager_user_id")
    for p in plans:
        if p.new_client is not None:
            # New family members' possible duplicates are not shown: not looked for (or audited).
            created, _ = await clients.create_client(
                session,
                actor,
                p.new_client,
                cipher,
                with_duplicates=False,
                field=_join(p.field, "client"),
            )
            p.client_id = created.id
    household = await resolve_household(session, actor, body.household_id, plans)
    rows = await enroll(
        session,
        actor,
        project=project,
        household=household,
        enrolling=check_enrolling(plans),
        entry_date=entry,
        case_manager_user_id=case_manager,
        translation=body.translation,
    )
    return next(e for e in rows if e.client_id == client.id)


# --- editing the entry -------------------------------------------------------------------------

# Entry-stage records whose date follows the entry date: model -> date column.
_ENTRY_STAGE_DATES: tuple[tuple[Any, str], ...] = (
    (CurrentLivingSituation, "information_date"),
    (DiversionAssessment, "assessment_date"),
    (HousingNeedsAssessment, "assessment_date"),
    (CeAssessment, "assessment_date"),
    (CeEvent, "event_date"),
)


async def update_enrollment(
    session: AsyncSession, actor: Actor, enrollment: Enrollment, data: EnrollmentUpdate
) -> Enrollment:
    """Edit the entry. A new entry date moves the entry-stage records (the intake's workflow
    assessment and what was recorded in it, stage-1 disabilities) and, when the head's entry
    moves, the members who entered with them and whom the caller may write -- all in this
    transaction."""
    changes = data.model_dump(exclude_unset=True)
    diff: dict[str, Any] = {}
    new_entry = changes.get("entry_date")
    entry_after = new_entry if new_entry is not None else enrollment.entry_date
    if "disabling_condition" in changes and changes["disabling_condition"] is not None:
        await check_disabling_against_entry_barriers(
            session, enrollment, changes["disabling_condition"]
        )
        diff["disabling_condition"] = {
            "old": enrollment.disabling_condition,
            "new": changes["disabling_condition"],
        }
        enrollment.disabling_condition = changes["disabling_condition"]
    if data.prior_living_situation is not None:
        block = check_prior_living_situation(
            data.prior_living_situation.model_dump(), "prior_living_situation"
        )
        check_prior_dates(block, entry_after, "prior_living_situation")
        for k in PRIOR_FIELDS:
            diff[k] = {"old": getattr(enrollment, k), "new": block.get(k)}
            setattr(enrollment, k, block.get(k))
    if data.translation is not None:
        for k, v in check_translation(data.translation).items():
            diff[k] = {"old": getattr(enrollment, k), "new": v}
            setattr(enrollment, k, v)
    if "move_in_date" in changes:
        move_in = changes["move_in_date"]
        if move_in is not None:
            project_type = await session.scalar(
                select(Project.project_type).where(Project.id == enrollment.project_id)
            )
            if project_type not in MOVE_IN_PROJECT_TYPES:
                raise ValidationFailed(
                    "move_in_date (HUD 3.20) is recorded only on permanent housing enrollments "
                    "(PSH, PH, RRH).",
                    field="move_in_date",
                )
            check_record_date(enrollment, move_in, "move_in_date", clock.today(actor))
            if move_in < entry_after:
                raise ValidationFailed(
                    "move_in_date is before the entry date.", field="move_in_date"
                )
        diff["move_in_date"] = {"old": enrollment.move_in_date, "new": move_in}
        enrollment.move_in_date = move_in
    if new_entry is not None and new_entry != enrollment.entry_date:
        check_not_future(new_entry, "", "entry_date", clock.today(actor))
        # The household's stay is in one project: the enrollment's.
        check_operating_period(
            await locked_project(session, enrollment.project_id), new_entry, "entry_date"
        )
        old_entry = enrollment.entry_date
        targets = [enrollment]
        if enrollment.id == enrollment.household_group_id:
            # The members who entered with the head move too -- those the caller may write.
            targets += await enrollment_policy.writable_enrollments(
                session,
                actor,
                [
                    e
                    for e in await household_group(session, enrollment)
                    if e.id != enrollment.id and e.entry_date == old_entry
                ],
            )
        for e in targets:
            if e.is_coordinated_entry:
                await check_no_overlap(
                    session, e.client_id, new_entry, "entry_date", excluding=e.id
                )
            check_prior_dates(
                {"date_to_street_essh": e.date_to_street_essh},
                new_entry,
                "prior_living_situation",
            )
            if new_entry > old_entry:
                await _check_records_not_before(session, e, new_entry)
            if e.exit_date is not None and new_entry > e.exit_date:
                raise ValidationFailed(
                    f"The entry date cannot be after the exit date {e.exit_date}.",
                    field="entry_date",
                )
            if e.move_in_date is not None and new_entry > e.move_in_date:
                raise ValidationFailed(
                    "The entry date cannot be after the move-in date.", field="entry_date"
                )
        await _move_entry_stage(session, targets, old_entry, new_entry)
        for e in targets:
            e.entry_date = new_entry
            if e is not enrollment:
                audit.record(
                    session,
                    actor,
                    "enrollment.update",
                    "enrollment",
                    e.id,
                    {"entry_date": {"old": old_entry, "new": new_entry}},
                )
        diff["entry_date"] = {"old": old_entry, "new": new_entry}
        await session.flush()
        await data_quality.refresh_enrollments(session, targets)
    await session.flush()
    audit.record(session, actor, "enrollment.update", "enrollment", enrollment.id, diff)
    return enrollment


async def _check_records_not_before(
    session: AsyncSession, enrollment: Enrollment, new_entry: date
) -> None:
    """Moving the entry later may not leave records of later stages before it."""
    entry_ids = select(EnrollmentAssessment.id).where(
        EnrollmentAssessment.enrollment_id.in_({enrollment.id, enrollment.household_group_id}),
        EnrollmentAssessment.data_collection_stage == 1,
    )
    # Entry-stage records move with the entry (``_ENTRY_STAGE_DATES``); the rest stay put.
    checks = [(model, column, True) for model, column in _ENTRY_STAGE_DATES] + [
        (Service, "date_provided", False),
        (CaseNote, "note_date", False),
    ]
    checks += [
        (IncomeBenefits, "information_date", False),
        (HealthAndDv, "information_date", False),
    ]
    for model, column, moves in checks:
        col = getattr(model, column)
        stmt = select(func.min(col)).where(model.enrollment_id == enrollment.id)
        if moves:
            stmt = stmt.where(model.assessment_id.is_(None) | model.assessment_id.not_in(entry_ids))
        if model in (IncomeBenefits, HealthAndDv):
            stmt = stmt.where(model.data_collection_stage != 1)  # entry records move with it
        earliest = await session.scalar(stmt)
        if earliest is not None and earliest < new_entry:
            raise ValidationFailed(
                f"A {model.__tablename__} record dated {earliest} would lie before the new entry "
                "date; correct that record first.",
                field="entry_date",
            )


async def _move_entry_stage(
    session: AsyncSession, targets: Sequence[Enrollment], old_date: date, new_date: date
) -> None:
    """Move the entry-stage records of ``targets`` (and only theirs): the intake's workflow
    pass belongs to the head, while each member's own records point at it."""
    enrollment_ids = [e.id for e in targets]
    owners = set(enrollment_ids) | {e.household_group_id for e in targets}
    entry_assessments = select(EnrollmentAssessment.id).where(
        EnrollmentAssessment.enrollment_id.in_(owners),
        EnrollmentAssessment.data_collection_stage == 1,
    )
    ids = list((await session.scalars(entry_assessments)).all())
    opts = {"synchronize_session": False}
    if ids:
        await session.execute(
            update(EnrollmentAssessment)
            .where(
                EnrollmentAssessment.id.in_(ids),
                EnrollmentAssessment.enrollment_id.in_(enrollment_ids),
            )
            .values(assessment_date=new_date)
            .execution_options(**opts)
        )
        for model, column in _ENTRY_STAGE_DATES:
            await session.execute(
                update(model)
                .where(model.assessment_id.in_(ids), model.enrollment_id.in_(enrollment_ids))
                .values({column: new_date})
                .execution_options(**opts)
            )
    for stage_model in (Disability, IncomeBenefits, HealthAndDv):
        # Entry-stage records are dated the entry date (the seeds' "Income Assessment Date"
        # follows the project start date too).
        await session.execute(
            update(stage_model)
            .where(
                stage_model.enrollment_id.in_(enrollment_ids),
                stage_model.data_collection_stage == 1,
            )
            .values(information_date=new_date)
            .execution_options(**opts)
        )
    await session.execute(
        update(CaseAssignment)
        .where(
            CaseAssignment.enrollment_id.in_(enrollment_ids),
            CaseAssignment.start_date == old_date,
        )
        .values(start_date=new_date)
        .execution_options(**opts)
    )


# --- case manager assignments ------------------------------------------------------------------


# --- latest values -----------------------------------------------------------------------------


async def latest_values(
    session: AsyncSession, actor: Actor, enrollment: Enrollment
) -> dict[str, Any]:
    """The latest recorded answers on the enrollment's household stay, for prefilling (drawn
    only from the members' enrollments ``actor`` may see); audited as a read of the client."""
    group_ids = [e.id for e in await visible_household_group(session, actor, enrollment)]
    audit.record_pii_read(session, actor, "client", enrollment.client_id, fields=["latest_values"])

    async def latest(model: Any, date_col: str, where: Any) -> Any:
        return await session.scalar(
            select(model)
            .where(where)
            .order_by(getattr(model, date_col).desc(), model.created_at.desc())
            .limit(1)
        )

    cls = await latest(
        CurrentLivingSituation,
        "information_date",
        CurrentLivingSituation.enrollment_id == enrollment.id,
    )
    diversion = await latest(
        DiversionAssessment, "assessment_date", DiversionAssessment.enrollment_id.in_(group_ids)
    )
    hna = await latest(
        HousingNeedsAssessment,
        "assessment_date",
        HousingNeedsAssessment.enrollment_id.in_(group_ids),
    )
    last = await latest(
        EnrollmentAssessment,
        "assessment_date",
        EnrollmentAssessment.enrollment_id.in_(group_ids),
    )
    income = await latest(
        IncomeBenefits, "information_date", IncomeBenefits.enrollment_id == enrollment.id
    )
    dv = None
    if enrollment_policy.can_see_domestic_violence(actor, enrollment.created_by_organization_id):
        dv = await latest(
            HealthAndDv, "information_date", HealthAndDv.enrollment_id == enrollment.id
        )
        if dv is not None:
            audit.record_pii_read(
                session, actor, "client", enrollment.client_id, fields=["domestic_violence"]
            )
    barriers: dict[int, Disability] = {}
    for d in (
        await session.scalars(
            select(Disability)
            .where(Disability.enrollment_id == enrollment.id)
            .order_by(Disability.information_date, Disability.created_at)
        )
    ).all():
        barriers[d.disability_type] = d
    ties = (
        await session.scalars(
            select(AreaTie)
            .where(AreaTie.client_id == enrollment.client_id)
            .order_by(AreaTie.tie_date.desc(), AreaTie.id)
        )
    ).all()
    prior = None
    if enrollment.living_situation is not None:
        prior = {k: getattr(enrollment, k) for k in PRIOR_FIELDS}
    translation = None
    if enrollment.translation_needed is not None:
        translation = {k: getattr(enrollment, k) for k in TRANSLATION_FIELDS}
    return {
        "enrollment_id": enrollment.id,
        "disabling_condition": enrollment.disabling_condition,
        "prior_living_situation": prior,
        "translation": translation,
        "barriers": sorted(barriers.values(), key=lambda d: d.disability_type),
        "current_living_situation": cls,
        "diversion_assessment": diversion,
        "housing_needs": hna,
        "income_benefits": income,
        "domestic_violence": dv,
        "area_ties": list(ties),
        "last_assessment": last,
    }


# --- list and lookup queries used by the routers ------------------------------------------------


async def list_assessments(
    session: AsyncSession, actor: Actor, enrollment: Enrollment, page: PageParams
) -> PageOf[EnrollmentAssessment]:
    """The household stay's workflow passes (intake, updates, exit), oldest first; audited as a
    read of the client."""
    found = await paginate(
        session,
        assessments_stmt(actor, enrollment),
        page,
        [EnrollmentAssessment.created_at, EnrollmentAssessment.id],
    )
    audit.record_pii_read(session, actor, "client", enrollment.client_id, fields=["assessments"])
    return found


def assessments_stmt(actor: Actor, enrollment: Enrollment) -> Select[EnrollmentAssessment]:
    """The household stay's workflow passes. They belong to the head's enrollment, so they are
    shown only to a caller who may see the head of household (for a member whose head is
    hidden, there are none to show)."""
    return (
        select(EnrollmentAssessment)
        .join(Enrollment, Enrollment.id == EnrollmentAssessment.enrollment_id)
        .join(Client, Client.id == Enrollment.client_id)
        .where(
            EnrollmentAssessment.coc_id == enrollment.coc_id,
            EnrollmentAssessment.enrollment_id == enrollment.household_group_id,
            client_access.visible_clients_filter(actor),
        )
    )


async def get_assessment(
    session: AsyncSession, actor: Actor, enrollment: Enrollment, assessment_id: uuid.UUID
) -> EnrollmentAssessment:
    found = await session.scalar(
        assessments_stmt(actor, enrollment).where(EnrollmentAssessment.id == assessment_id)
    )
    if found is None:
        raise NotFound("No such assessment.")
    audit.record_pii_read(session, actor, "client", enrollment.client_id, fields=["assessments"])
    return found


async def list_client_enrollments(
    session: AsyncSession, actor: Actor, client_id: uuid.UUID, page: PageParams
) -> PageOf[EnrollmentRead]:
    """The (visible) client's enrollments, oldest first."""
    rows = await paginate(
        session,
        select(Enrollment).where(Enrollment.client_id == client_id, Enrollment.voided_at.is_(None)),
        page,
        [Enrollment.created_at, Enrollment.id],
    )
    reads = await enrollment_reads(session, actor, rows.items)
    audit.record_pii_read(session, actor, "client", client_id, fields=["enrollments"])
    return PageOf(reads, rows.next_cursor)
