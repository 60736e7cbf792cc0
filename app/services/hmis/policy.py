"""Who may export and import HUD HMIS CSV, and which projects and jobs they see.

* Exports: system and CAS admins, any project of their CoC; agency admins, their own
  organization's projects only (``hmis:export``). Victim service providers are refused before
  this (no identifiable client data).
* An export job is seen by whoever may export, for jobs of their CoC: admins see every export
  of the CoC, an agency admin those requested acting for their organization.
* Imports: the HMIS lead's system admins (``hmis:import``), and the import jobs of their CoC.
"""

from __future__ import annotations

import uuid

from app.context import Actor
from app.permissions import Permission
from app.services.ce.policy import can_see_domestic_violence


def exports_all_projects(actor: Actor) -> bool:
    return actor.is_admin and actor.can(Permission.HMIS_EXPORT)


def may_export_project(actor: Actor, organization_id: uuid.UUID) -> bool:
    if not actor.can(Permission.HMIS_EXPORT):
        return False
    return exports_all_projects(actor) or organization_id == actor.organization_id


def sees_export(actor: Actor, coc_id: uuid.UUID, organization_id: uuid.UUID) -> bool:
    if coc_id != actor.coc_id or not actor.can(Permission.HMIS_EXPORT):
        return False
    return exports_all_projects(actor) or organization_id == actor.organization_id


_NO_ORGANIZATION = uuid.UUID(int=0)


def domestic_violence_organization(actor: Actor) -> uuid.UUID | None:
    """4.11 answers go into an export only for whoever may read them
    (``ce.policy.can_see_domestic_violence``): None when the actor reads every enrollment's
    (admins, the CAS organization), else the one organization whose enrollments' they read."""
    if can_see_domestic_violence(actor, _NO_ORGANIZATION):
        return None
    return actor.organization_id


def may_import(actor: Actor) -> bool:
    return actor.can(Permission.HMIS_IMPORT)


def sees_import(actor: Actor, coc_id: uuid.UUID) -> bool:
    return may_import(actor) and coc_id == actor.coc_id
