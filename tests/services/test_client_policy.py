"""Who may change a visible client (``clients.policy``) and the bounds of the ROI dates, as rules
(their HTTP behaviour is tests/api/test_client_edit_rights.py)."""

from __future__ import annotations

from datetime import date

import pytest

from app.context import Actor
from app.permissions import Role
from app.services.clients.core import roi_latest_end
from app.services.clients.policy import can_edit_client, can_edit_consent
from tests.support.actors import make_actor


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
