"""Who may see and change the queue (DOMAIN 3 and 7) -- the named rules, no database.

* The queue (entries, their ranks and why, the scheme) is for system and CAS admins and for
  users acting for the shared CAS organization; everyone else is answered 404 (the queue is not
  theirs to know about).
* The CoC's queue settings (score tool and range, the prioritization scheme) are changed by
  whoever holds ``queue:manage`` (CAS and system admins).
"""

from __future__ import annotations

from app.context import Actor
from app.permissions import Permission


def can_see_queue(actor: Actor) -> bool:
    return actor.is_admin or actor.organization.is_cas


def can_manage_queue_settings(actor: Actor) -> bool:
    return can_see_queue(actor) and actor.can(Permission.QUEUE_MANAGE)
