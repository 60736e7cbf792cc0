"""The CE outcome machine and which outcome an answer asks for (no database)."""

from __future__ import annotations

import dataclasses

import pytest

from app.errors import Forbidden, ValidationFailed
from app.permissions import Role
from app.reference.ce import Outcome
from app.services.ce.outcome import OUTCOME, target_outcome
from app.services.platform.statemachine import TransitionNotAllowed
from tests.support.actors import make_actor

PENDING, DIVERTED, PLACED = Outcome.PENDING, Outcome.DIVERTED, Outcome.PLACED
WRITER = make_actor(Role.CASE_MANAGER)


@pytest.mark.parametrize("target", [PENDING, DIVERTED, PLACED])
def test_an_intake_may_end_in_any_outcome(target: Outcome) -> None:
    assert OUTCOME.check(None, target, WRITER) is target


@pytest.mark.parametrize("target", [PENDING, DIVERTED, PLACED])
def test_a_pending_household_stays_pending_or_is_placed_or_diverted(target: Outcome) -> None:
    assert OUTCOME.check(PENDING, target, WRITER) is target


def test_a_placed_household_stays_placed_until_it_exits() -> None:
    assert OUTCOME.check(PLACED, PLACED, WRITER) is PLACED  # a re-assessment
    for target in (PENDING, DIVERTED):
        with pytest.raises(TransitionNotAllowed) as refused:
            OUTCOME.check(PLACED, target, WRITER)
        assert "exit the enrollment instead" in refused.value.detail
        assert refused.value.extra == {"current": "placed", "allowed": ["placed"]}
        assert refused.value.errors is not None
        assert refused.value.errors[0]["loc"] == ["body", "diverted"]


def test_a_diverted_household_is_exited_and_nothing_moves_on() -> None:
    for target in Outcome:
        with pytest.raises(TransitionNotAllowed) as refused:
            OUTCOME.check(DIVERTED, target, WRITER)
        assert refused.value.extra["allowed"] == []


def test_moving_an_outcome_needs_the_enrollment_write_permission() -> None:
    assert OUTCOME.check(PENDING, PLACED, make_actor(Role.SYSTEM_ADMIN)) is PLACED
    # Housing providers hold enrollments:write too; the routes also ask for clients:write.
    assert OUTCOME.check(PENDING, PLACED, make_actor(Role.HOUSING_PROVIDER)) is PLACED
    reader = dataclasses.replace(make_actor(Role.CASE_MANAGER), permissions=frozenset())
    with pytest.raises(Forbidden):
        OUTCOME.check(PENDING, PLACED, reader)


def test_the_answer_decides_the_target() -> None:
    assert target_outcome(None, False, None) is PENDING
    assert target_outcome(PLACED, False, None) is PLACED  # not ready: unchanged
    assert target_outcome(PENDING, True, True) is DIVERTED
    assert target_outcome(PENDING, True, False) is PLACED
    with pytest.raises(ValidationFailed) as missing:
        target_outcome(PENDING, True, None)
    assert missing.value.errors is not None
    assert missing.value.errors[0]["loc"] == ["body", "diverted"]
