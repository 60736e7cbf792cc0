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
* an organization with an active case assignment on the enrollment.

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
    for enrollment_id, organization_id in await session.execute(
        select(CaseAssignment.enrollment_id, CaseAssignment.organization_id).where(
            CaseAssignment.enrollment_id.in_(ids), CaseAssignment.status == "active"
        )
    ):
        assigned[enrollment_id].add(organization_id)
    return {
        e.id: EnrollmentFacts(
            coc_id=e.coc_id,
            project_organization_id=project_orgs[e.project_id],
            is_coordinated_entry=e.is_coordinated_entry,
            created_by_organization_id=e.created_by_organization_id,
            assigned_organization_ids=frozenset(assigned[e.id]),
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
            "organization, the organization that created it, an organization with an active "
            "case assignment on it, the CAS organization (Coordinated Entry) or an admin."
        )
