"""The shared state-machine helper, on a machine of its own (the real ones have their tests)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Forbidden, ValidationFailed
from app.models import AuditEvent
from app.permissions import Permission, Role
from app.services.platform.statemachine import (
    AuditHistory,
    Machine,
    Rule,
    Transition,
    TransitionNotAllowed,
)
from tests.conftest import World
from tests.support.actors import make_actor


class Light(StrEnum):
    RED = "red"
    GREEN = "green"
    AMBER = "amber"


class Closed(Forbidden):
    slug = "closed"


def _not_at_night(t: Transition[Light]) -> None:
    if t.actor.organization.name == "Night shift":
        raise Closed("Not at night.")


LIGHTS = Machine(
    "light",
    Light,
    {
        (None, Light.RED): Rule(Permission.CLIENTS_READ),
        (Light.RED, Light.GREEN): Rule(Permission.CLIENTS_WRITE),
        (Light.GREEN, Light.AMBER): Rule(Permission.USERS_MANAGE, guard=_not_at_night),
        (Light.AMBER, Light.RED): Rule(Permission.CLIENTS_READ),
    },
    attribute="light",
    field="signal.light",
    history=AuditHistory("crossing", "crossing.light"),
    explanations={(Light.RED, Light.AMBER): "Red goes to green first."},
)


def test_an_allowed_move_returns_the_target() -> None:
    actor = make_actor(Role.CASE_MANAGER)
    assert LIGHTS.check(None, Light.RED, actor) is Light.RED
    assert LIGHTS.check(Light.RED, "green", actor) is Light.GREEN


def test_a_status_that_does_not_exist_is_a_422_naming_the_field() -> None:
    with pytest.raises(ValidationFailed) as refused:
        LIGHTS.check(Light.RED, "blue", make_actor())
    assert refused.value.errors is not None
    assert refused.value.errors[0]["loc"] == ["body", "signal", "light"]


def test_a_move_the_table_lacks_is_a_409_with_current_and_allowed() -> None:
    with pytest.raises(TransitionNotAllowed) as refused:
        LIGHTS.check(Light.GREEN, Light.RED, make_actor(Role.SYSTEM_ADMIN))
    problem = refused.value
    assert (problem.status, problem.slug) == (409, "transition-not-allowed")
    assert problem.extra == {"current": "green", "allowed": ["amber"]}
    assert problem.detail == (
        "The light cannot move from green to red; from green it can move to: amber."
    )
    assert problem.errors == [
        {
            "loc": ["body", "signal", "light"],
            "msg": "green -> red is not allowed",
            "type": "transition",
        }
    ]


def test_the_table_can_explain_a_refusal() -> None:
    with pytest.raises(TransitionNotAllowed) as refused:
        LIGHTS.check(Light.RED, Light.AMBER, make_actor())
    assert refused.value.detail == "Red goes to green first."
    assert refused.value.extra["allowed"] == ["green"]


def test_nothing_allowed_from_a_state_says_so() -> None:
    machine = Machine(
        "light",
        Light,
        {(Light.RED, Light.GREEN): Rule(Permission.CLIENTS_READ)},
        attribute="light",
        field="light",
        history=LIGHTS.history,
    )
    with pytest.raises(TransitionNotAllowed) as refused:
        machine.check(Light.GREEN, Light.RED, make_actor())
    assert refused.value.extra == {"current": "green", "allowed": []}
    assert refused.value.detail.endswith("it can move to: nothing.")


def test_the_permission_decides_not_the_role() -> None:
    # USERS_MANAGE: system admins only; a CAS admin is refused, naming the permission.
    with pytest.raises(Forbidden) as refused:
        LIGHTS.check(Light.GREEN, Light.AMBER, make_actor(Role.CAS_ADMIN))
    assert "users:manage" in refused.value.detail
    assert LIGHTS.check(Light.GREEN, Light.AMBER, make_actor(Role.SYSTEM_ADMIN)) is Light.AMBER


def test_a_guard_refuses_with_its_own_problem() -> None:
    admin = make_actor(Role.SYSTEM_ADMIN)
    night = make_actor(Role.SYSTEM_ADMIN, org_name="Night shift")
    assert LIGHTS.check(Light.GREEN, Light.AMBER, admin) is Light.AMBER
    with pytest.raises(Closed):
        LIGHTS.check(Light.GREEN, Light.AMBER, night)


def test_allowed_from_lists_the_table_and_with_an_actor_what_it_may_do() -> None:
    assert LIGHTS.allowed_from(None) == [Light.RED]
    assert LIGHTS.allowed_from(Light.GREEN) == [Light.AMBER]
    assert LIGHTS.allowed_from(Light.GREEN, make_actor(Role.CASE_MANAGER)) == []


async def test_the_history_records_who_moved_what(db: AsyncSession, world: World) -> None:
    actor = make_actor(
        Role.CASE_MANAGER,
        world.org_id("access_point_1"),
        coc=world.home.coc.id,
        user_id=world.user_id("case_manager"),
    )
    subject = uuid.uuid4()
    LIGHTS.record(db, actor, subject, Light.RED, Light.GREEN, note="by hand", extra={"n": 1})
    await db.flush()
    event = await db.scalar(select(AuditEvent).where(AuditEvent.entity_id == subject))
    assert event is not None
    changes: dict[str, Any] = dict(event.changes or {})
    assert (event.action, event.entity_type, event.actor_user_id) == (
        "crossing.light",
        "crossing",
        actor.user_id,
    )
    assert changes == {"light": {"old": "red", "new": "green"}, "note": "[redacted]", "n": 1}
