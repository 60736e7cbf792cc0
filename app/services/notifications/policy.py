"""Who may configure notifications for an organization -- the named rules, no database.

* Webhook subscriptions (``webhooks:manage``): system admins for any organization of their CoC;
  CAS and agency admins for the organization they act for.
* A provider's CAS contact (``notifications:configure``): system and CAS admins for any
  organization of their CoC; agency admins for their own.
* Jobs (``jobs:manage``): system admins.
"""

from __future__ import annotations

import uuid

from app.context import Actor
from app.permissions import Permission, Role


def can_manage_webhooks_of(actor: Actor, organization_id: uuid.UUID) -> bool:
    if not actor.can(Permission.WEBHOOKS_MANAGE):
        return False
    return actor.role == Role.SYSTEM_ADMIN or actor.organization_id == organization_id


def manages_all_webhooks(actor: Actor) -> bool:
    return actor.can(Permission.WEBHOOKS_MANAGE) and actor.role == Role.SYSTEM_ADMIN


def can_set_cas_contact(actor: Actor, organization_id: uuid.UUID) -> bool:
    if not actor.can(Permission.NOTIFICATIONS_CONFIGURE):
        return False
    return actor.is_admin or actor.organization_id == organization_id
