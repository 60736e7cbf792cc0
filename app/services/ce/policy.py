"""Coordinated Entry's named rules: who may change an enrollment and its records (the one
place this rule lives), who may enroll into which project, who sets HUD-VASH eligibility.

Reading an enrollment follows its client's visibility (``clients.access``). Writing it -- editing
the entry, exiting, case notes, current living situations, services, CE events and
assessments, disabilities, diversion and housing needs assessments, update assessments, case
assignments: every non-GET route under ``/enrollments/{enrollment_id}`` -- needs more. In the
enrollment's CoC, these may write:

* admins (``system_admin``, ``cas_admin``);
* the organization of the enrollment's project;
* the shared CAS organization, when the project is the Coordinated Entry project;
* the organization that created the enrollment (the access point that did the intake);
* an organization with an active case assignment on the enrollment;
* a user with an active case assignment on the enrollment (their own case), whichever of their
  organizations they act for.

A caller who may see the enrollment but not write it gets 403 ``enrollment-not-writable``: it
already sees the enrollment, so the 403 reveals nothing. A caller who may not see it gets 404
before this rule is asked. A write never reaches other enrollments (household members) the caller
could not see or write: see ``writable_enrollments``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Actor
from app.errors import Forbidden
from app.models import Client, Project
from app.models.enrollments import CaseAssignment, Enrollment
from app.services.clients import access as client_access


class EnrollmentNotWritable(Forbidden):
    slug, title = "enrollment-not-writable", "Not allowed to change this enrollment"


@dataclass(frozen=True)
class EnrollmentFacts:
    """What the write rule looks at, for one enrollment."""

    coc_id: uuid.UUID
    project_organization_id: uuid.UUID
    is_coordinated_entry: bool
    created_by_organization_id: uuid.UUID
    assigned_organization_ids: frozenset[uuid.UUID]
    assigned_user_ids: frozenset[uuid.UUID] = frozenset()


def can_enroll_into(
    actor: Actor, project_organization_id: uuid.UUID, *, is_coc_ce_project: bool
) -> bool:
    """Clients are enrolled into the CoC's Coordinated Entry project (``ce_project_for``, of its
    CAS organization) by anyone who may write enrollments, into any other project -- another
    organization's ProjectType 14 included -- by its own organization or an admin."""
    return is_coc_ce_project or project_organization_id == actor.organization_id or actor.is_admin


def can_set_hud_vash(actor: Actor) -> bool:
    """HUD-VASH eligibility (Housing Needs Assessment) is set only by users acting for a
    veteran-services organization; for everyone else the last recorded value stands."""
    return actor.organization.veteran_services


def can_write_enrollment(actor: Actor, facts: EnrollmentFacts) -> bool:
    """The write rule itself (no database): see the module docstring."""
    if actor.organization.victim_service_provider or actor.coc_id != facts.coc_id:
        return False
    if actor.is_admin:
        return True
    org = actor.organization_id
    return (
        org == facts.project_organization_id
        or (facts.is_coordinated_entry and actor.organization.is_cas)
        or org == facts.created_by_organization_id
        or org in facts.assigned_organization_ids
        or actor.user_id in facts.assigned_user_ids
    )


class AccessPointNotApproved(Forbidden):
    slug, title = "access-point-not-approved", "Not an approved Access Point"


def can_run_intake(actor: Actor, member_of_approved_access_point: bool) -> bool:
    """The CAS & Diversion Intake is run at an Access Point approved by the Director of CAS
    (seed 000): acting for an organization with ``access_point`` set, or acting for the shared
    CAS organization (where the seeds' Access Point case managers record it) as a member of an
    approved Access Point of the CoC."""
    org = actor.organization
    if org.victim_service_provider:
        return False
    return org.access_point or (org.is_cas and member_of_approved_access_point)


def can_see_domestic_violence(actor: Actor, enrollment_created_by: uuid.UUID) -> bool:
    """4.11 Domestic Violence answers are read only by admins (system, CAS), the shared CAS
    organization and the organization that enrolled the client; others get 404 on these
    records, and nothing of them elsewhere (latest values leave them out)."""
    if actor.organization.victim_service_provider:
        return False
    return (
        actor.is_admin
        or actor.organization.is_cas
        or actor.organization_id == enrollment_created_by
    )


async def enrollment_facts(
    session: AsyncSession, enrollments: Sequence[Enrollment]
) -> dict[uuid.UUID, EnrollmentFacts]:
    """``EnrollmentFacts`` per enrollment id (two queries for any number of enrollments)."""
    if not enrollments:
        return {}
    ids = [e.id for e in enrollments]
    project_orgs = dict(
        (
            await session.execute(
                select(Project.id, Project.organization_id).where(
                    Project.id.in_({e.project_id for e in enrollments})
                )
            )
        ).all()
    )
    assigned: dict[uuid.UUID, set[uuid.UUID]] = {i: set() for i in ids}
    users: dict[uuid.UUID, set[uuid.UUID]] = {i: set() for i in ids}
    for enrollment_id, organization_id, user_id in await session.execute(
        select(
            CaseAssignment.enrollment_id, CaseAssignment.organization_id, CaseAssignment.user_id
        ).where(CaseAssignment.enrollment_id.in_(ids), CaseAssignment.status == "active")
    ):
        assigned[enrollment_id].add(organization_id)
        users[enrollment_id].add(user_id)
    return {
        e.id: EnrollmentFacts(
            coc_id=e.coc_id,
            project_organization_id=project_orgs[e.project_id],
            is_coordinated_entry=e.is_coordinated_entry,
            created_by_organization_id=e.created_by_organization_id,
            assigned_organization_ids=frozenset(assigned[e.id]),
            assigned_user_ids=frozenset(users[e.id]),
        )
        for e in enrollments
    }


async def writable_enrollments(
    session: AsyncSession, actor: Actor, enrollments: Sequence[Enrollment]
) -> list[Enrollment]:
    """The enrollments (order kept) whose client ``actor`` may see and that it may write: what a
    write on one household member may carry along to the others."""
    if not enrollments:
        return []
    visible = set(
        (
            await session.scalars(
                select(Enrollment.id)
                .join(Client, Client.id == Enrollment.client_id)
                .where(
                    Enrollment.id.in_([e.id for e in enrollments]),
                    client_access.visible_clients_filter(actor),
                )
            )
        ).all()
    )
    facts = await enrollment_facts(session, [e for e in enrollments if e.id in visible])
    return [e for e in enrollments if e.id in facts and can_write_enrollment(actor, facts[e.id])]


async def require_writable(session: AsyncSession, actor: Actor, enrollment: Enrollment) -> None:
    """403 unless ``actor`` may write ``enrollment`` (which it is known to see)."""
    facts = await enrollment_facts(session, [enrollment])
    if not can_write_enrollment(actor, facts[enrollment.id]):
        raise EnrollmentNotWritable(
            "You may see this enrollment but not change it: changes are made by its project's "
            "organization, the organization that created it, an organization or a case manager "
            "with an active case assignment on it, the CAS organization (Coordinated Entry) or "
            "an admin."
        )
