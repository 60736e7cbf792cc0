"""Who takes part in the queue's workflow (DOMAIN 3 and 7) -- the named rules, no database.

* The whole queue (every entry, its history, its scores) is seen by system and CAS admins and
  by users acting for the shared CAS organization.
* A client's assigned case managers (an active case assignment on the household's Coordinated
  Entry stay) also see their own clients' entries -- the Case Manager Review, the history, the
  scores -- whichever organization they act for; everyone else is answered 404.
* The case manager's one move (incomplete_documentation -> pending_second_review, permission
  ``queue:case_manager_review``) is for the client's assigned case managers (and system admins,
  who hold every permission); another case manager who sees the entry through the CAS
  organization is refused with 403.
"""

from __future__ import annotations

from app.context import Actor


def sees_whole_queue(actor: Actor) -> bool:
    return actor.is_admin or actor.organization.is_cas


def can_see_entry(actor: Actor, *, assigned: bool) -> bool:
    """``assigned``: the actor is an assigned case manager of the entry's household."""
    return sees_whole_queue(actor) or assigned


def can_review_as_case_manager(actor: Actor, *, assigned: bool) -> bool:
    return actor.is_admin or assigned


def assignment_decides(actor: Actor) -> bool:
    """Whether the actor's case assignment on an entry decides anything above: never for
    admins (they see every entry and make every move), so it need not be looked up."""
    return not actor.is_admin
