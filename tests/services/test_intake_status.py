"""The intake-status machine (DOMAIN 7), by what each role may do."""

from __future__ import annotations

import pytest

from app.errors import Forbidden, ValidationFailed
from app.permissions import Role
from app.reference.queue import IntakeStatus
from app.services.platform.statemachine import TransitionNotAllowed
from app.services.queue.intake_status import INTAKE_STATUS
from tests.support.actors import make_actor

PENDING = IntakeStatus.PENDING
INCOMPLETE = IntakeStatus.INCOMPLETE_DOCUMENTATION
SECOND_REVIEW = IntakeStatus.PENDING_SECOND_REVIEW
APPROVED = IntakeStatus.APPROVED

# What CAS administrators do: review a record (approve it or mark it incomplete), decide a
# second review, and reopen an approved record (e.g. a document expired).
CAS_REVIEW = [
    (PENDING, INCOMPLETE),
    (PENDING, APPROVED),
    (SECOND_REVIEW, APPROVED),
    (SECOND_REVIEW, INCOMPLETE),
    (APPROVED, INCOMPLETE),
]
# What the case manager does (Case Manager Review): send fixed documentation back.
CASE_MANAGER_REVIEW = [(INCOMPLETE, SECOND_REVIEW)]


@pytest.mark.parametrize(("current", "target"), CAS_REVIEW)
def test_cas_admins_review(current: IntakeStatus, target: IntakeStatus) -> None:
    assert INTAKE_STATUS.check(current, target, make_actor(Role.CAS_ADMIN)) is target
    for role in (Role.CASE_MANAGER, Role.AGENCY_ADMIN, Role.HOUSING_PROVIDER):
        with pytest.raises(Forbidden):
            INTAKE_STATUS.check(current, target, make_actor(role))


@pytest.mark.parametrize(("current", "target"), CASE_MANAGER_REVIEW)
def test_case_managers_send_incomplete_documentation_back(
    current: IntakeStatus, target: IntakeStatus
) -> None:
    assert INTAKE_STATUS.check(current, target, make_actor(Role.CASE_MANAGER)) is target
    for role in (Role.CAS_ADMIN, Role.AGENCY_ADMIN, Role.HOUSING_PROVIDER):
        with pytest.raises(Forbidden):
            INTAKE_STATUS.check(current, target, make_actor(role))


@pytest.mark.parametrize(("current", "target"), CAS_REVIEW + CASE_MANAGER_REVIEW)
def test_system_admins_hold_every_permission_so_may_make_every_move(
    current: IntakeStatus, target: IntakeStatus
) -> None:
    assert INTAKE_STATUS.check(current, target, make_actor(Role.SYSTEM_ADMIN)) is target


def test_nothing_else_moves_an_intake_status() -> None:
    allowed = set(CAS_REVIEW + CASE_MANAGER_REVIEW)
    admin = make_actor(Role.SYSTEM_ADMIN)
    for current in IntakeStatus:
        for target in IntakeStatus:
            if (current, target) not in allowed:
                with pytest.raises(TransitionNotAllowed):
                    INTAKE_STATUS.check(current, target, admin)


def test_case_managers_are_told_why_pending_cannot_go_to_second_review() -> None:
    with pytest.raises(TransitionNotAllowed) as refused:
        INTAKE_STATUS.check(PENDING, SECOND_REVIEW, make_actor(Role.CASE_MANAGER))
    assert "must not move pending to pending_second_review" in refused.value.detail
    assert refused.value.errors is not None
    assert refused.value.errors[0]["loc"] == ["body", "to_status"]
    assert refused.value.extra == {
        "current": "pending",
        "allowed": ["approved", "incomplete_documentation"],
    }


def test_a_refused_move_names_what_is_allowed() -> None:
    with pytest.raises(TransitionNotAllowed) as missing:
        INTAKE_STATUS.check(APPROVED, PENDING, make_actor(Role.CAS_ADMIN))
    assert missing.value.status == 409
    assert missing.value.extra["allowed"] == ["incomplete_documentation"]


def test_an_unknown_status_is_a_422() -> None:
    with pytest.raises(ValidationFailed):
        INTAKE_STATUS.check(PENDING, "parked", make_actor(Role.CAS_ADMIN))
