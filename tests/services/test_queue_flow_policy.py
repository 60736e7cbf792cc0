"""Who takes part in the queue's review workflow (``queue.flow_policy``), by role and acting
organization."""

from __future__ import annotations

from app.permissions import Role
from app.services.queue.flow_policy import (
    assignment_decides,
    can_review_as_case_manager,
    can_see_entry,
    sees_whole_queue,
)
from tests.support.actors import make_actor

ADMINS = (Role.SYSTEM_ADMIN, Role.CAS_ADMIN)
STAFF = (Role.AGENCY_ADMIN, Role.CASE_MANAGER, Role.HOUSING_PROVIDER)


def test_admins_and_the_cas_organization_see_the_whole_queue() -> None:
    for role in ADMINS:
        assert sees_whole_queue(make_actor(role))
    for role in STAFF:
        assert sees_whole_queue(make_actor(role, kind="cas"))
        assert not sees_whole_queue(make_actor(role, kind="agency"))


def test_assigned_case_managers_see_their_own_clients_entries() -> None:
    agency = make_actor(Role.CASE_MANAGER)
    assert can_see_entry(agency, assigned=True)
    assert not can_see_entry(agency, assigned=False)
    assert can_see_entry(make_actor(Role.CASE_MANAGER, kind="cas"), assigned=False)


def test_the_case_managers_move_is_for_the_assigned_ones() -> None:
    assert can_review_as_case_manager(make_actor(Role.CASE_MANAGER), assigned=True)
    assert not can_review_as_case_manager(make_actor(Role.CASE_MANAGER, kind="cas"), assigned=False)
    assert can_review_as_case_manager(make_actor(Role.SYSTEM_ADMIN), assigned=False)


def test_the_case_assignment_is_looked_up_only_where_it_decides_something() -> None:
    """Admins' entries skip the case-assignment query: for them, nothing depends on it."""
    for role in (*ADMINS, *STAFF):
        for kind in ("agency", "cas"):
            actor = make_actor(role, kind=kind)
            if assignment_decides(actor):
                continue
            assert role in ADMINS
            for rule in (can_see_entry, can_review_as_case_manager):
                assert rule(actor, assigned=True) == rule(actor, assigned=False)
    assert assignment_decides(make_actor(Role.CASE_MANAGER, kind="cas"))
    assert assignment_decides(make_actor(Role.CASE_MANAGER))
