"""Who may change a visible client (``clients.policy``) and the bounds of the ROI dates, as rules
(their HTTP behaviour is tests/api/test_client_edit_rights.py)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from app.context import Actor
from app.permissions import Role
from app.services.clients.core import roi_latest_end
from app.services.clients.policy import (
    HouseholdFacts,
    can_edit_client,
    can_edit_consent,
    can_write_household,
)
from tests.support.actors import COC, make_actor


def _actor(role: Role, kind: str = "agency") -> Actor:
    return make_actor(role, kind=kind)


@pytest.mark.parametrize(
    ("role", "kind", "links", "edit", "consent"),
    [
        # Visible through the ROI only: read (and enroll), not edit.
        (Role.CASE_MANAGER, "agency", set(), False, False),
        (Role.AGENCY_ADMIN, "agency", set(), False, False),
        (Role.CASE_MANAGER, "cas", set(), False, False),
        # Linked organizations edit; consent stays with the creator and the CAS organization.
        (Role.CASE_MANAGER, "agency", {"enrolled"}, True, False),
        (Role.CASE_MANAGER, "agency", {"referred"}, True, False),
        (Role.CASE_MANAGER, "agency", {"created"}, True, True),
        (Role.CASE_MANAGER, "agency", {"enrolled", "created"}, True, True),
        (Role.CASE_MANAGER, "cas", {"enrolled"}, True, True),
        # Admins: everything in their CoC, linked or not.
        (Role.CAS_ADMIN, "cas", set(), True, True),
        (Role.SYSTEM_ADMIN, "hmis_lead", set(), True, True),
    ],
)
def test_edit_policy(role: Role, kind: str, links: set[str], edit: bool, consent: bool) -> None:
    actor = _actor(role, kind)
    assert can_edit_client(actor, frozenset(links)) is edit
    assert can_edit_consent(actor, frozenset(links)) is consent


def test_latest_roi_end_is_five_years_ahead() -> None:
    assert roi_latest_end(date(2026, 12, 1)) == date(2031, 12, 1)
    assert roi_latest_end(date(2028, 2, 29)) == date(2033, 2, 28)


# --- households ----------------------------------------------------------------------------------

CREATOR = uuid.uuid4()
WRITER = uuid.uuid4()


def _facts(*, ce: bool = False, coc: uuid.UUID = COC) -> HouseholdFacts:
    return HouseholdFacts(
        coc_id=coc,
        created_by_organization_id=CREATOR,
        enrollment_writers=frozenset({WRITER}),
        open_coordinated_entry=ce,
    )


@pytest.mark.parametrize(
    ("actor", "facts", "allowed"),
    [
        # The creating organization, writers of an open member enrollment, admins.
        (make_actor(Role.CASE_MANAGER, CREATOR), _facts(), True),
        (make_actor(Role.CASE_MANAGER, WRITER), _facts(), True),
        (make_actor(Role.SYSTEM_ADMIN, kind="hmis_lead"), _facts(), True),
        (make_actor(Role.CAS_ADMIN, kind="cas"), _facts(), True),
        # The CAS organization while a member has an open Coordinated Entry enrollment.
        (make_actor(Role.CASE_MANAGER, kind="cas"), _facts(ce=True), True),
        (make_actor(Role.CASE_MANAGER, kind="cas"), _facts(), False),
        # Anyone else who sees a member (an ROI): no.
        (make_actor(Role.AGENCY_ADMIN), _facts(ce=True), False),
        # Another CoC, or a victim service provider: never.
        (make_actor(Role.SYSTEM_ADMIN, kind="hmis_lead"), _facts(coc=uuid.uuid4()), False),
        (make_actor(Role.CASE_MANAGER, CREATOR, vsp=True), _facts(), False),
    ],
)
def test_household_write_policy(actor: Actor, facts: HouseholdFacts, allowed: bool) -> None:
    assert can_write_household(actor, facts) is allowed
