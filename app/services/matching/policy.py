"""Who may do what with housing inventory and matches (named rules, unit-tested).

* A project's units, events and matching profile: the project's organization (with the route's
  permission) and admins.
* A match is seen by admins, the provider organization, the EHV case-manager agency, the CAS
  organization (it works the queue) and the client's assigned case managers (read only: an
  active assignment on an enrollment that is not voided, as for the client). The provider and
  the agency keep seeing it after it ended, when their access to the client may have ended.
* A provider action on a match: the provider organization (or, once assigned, the EHV
  case-manager agency) with ``referrals:respond``; admin actions need ``referrals:manage``.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, and_, exists, or_, select

from app.context import Actor
from app.models.enrollments import CaseAssignment, Enrollment
from app.models.matching import Match


def can_manage_project_inventory(actor: Actor, project_organization_id: uuid.UUID) -> bool:
    """Units and unit events of a project: admins and the project's organization."""
    return actor.is_admin or actor.organization_id == project_organization_id


def can_configure_project(actor: Actor, project_organization_id: uuid.UUID) -> bool:
    """A project's matching profile (funding, referrals through CAS, requirements, stall
    days): admins, and the project organization's own project managers."""
    return actor.is_admin or actor.organization_id == project_organization_id


def is_provider(actor: Actor, match: Match) -> bool:
    """Acting for the match's provider, or for its assigned EHV case-manager agency."""
    return actor.organization_id in (match.organization_id, match.ehv_case_manager_organization_id)


def can_respond(actor: Actor, match: Match) -> bool:
    """Provider actions (accept, decline, park, outcome, stall responses, EHV steps)."""
    return actor.is_admin or is_provider(actor, match)


def visible_matches_filter(actor: Actor) -> ColumnElement[bool]:
    """WHERE over ``Match``: what ``actor`` may read."""
    in_coc = Match.coc_id == actor.coc_id
    if actor.organization.victim_service_provider:
        return and_(in_coc, Match.id.is_(None))
    if actor.is_admin or actor.organization.is_cas:
        return in_coc
    # The client's case managers, as client visibility counts them (``clients.access``): an
    # active assignment on an enrollment that is not voided.
    assigned = exists(
        select(CaseAssignment.id)
        .join(Enrollment, Enrollment.id == CaseAssignment.enrollment_id)
        .where(
            CaseAssignment.client_id == Match.head_client_id,
            CaseAssignment.user_id == actor.user_id,
            CaseAssignment.status == "active",
            Enrollment.voided_at.is_(None),
        )
    )
    return and_(
        in_coc,
        or_(
            Match.organization_id == actor.organization_id,
            Match.ehv_case_manager_organization_id == actor.organization_id,
            assigned,
        ),
    )
