"""One helper for every state machine: a table of allowed transitions, each with the permission
(not the role) that may make it and an optional guard; one problem shape for a refused
transition; one way of writing the transition history.

A machine is built once, at import time, from its table::

    OUTCOME = Machine(
        "outcome",
        Outcome,
        {(None, Outcome.PENDING): Rule(Permission.ENROLLMENTS_WRITE), ...},
        attribute="outcome",
        field="diverted",
        history=AuditHistory("enrollment", "enrollment.update"),
    )

``check(current, target, actor)`` answers, in this order: a target that is not a status is a 422;
a pair the table lacks is a 409 ``transition-not-allowed`` with ``current`` and ``allowed`` (the
targets the table has from ``current``, whoever may make them), and the table's own explanation
for that pair when it has one; a permission the actor lacks is a 403 naming it; a failing guard
raises its own problem. ``None`` as the current status is "not started yet" (the first status).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Actor
from app.errors import Conflict, Forbidden, ValidationFailed
from app.permissions import Permission
from app.services.platform import audit

S = TypeVar("S", bound=StrEnum)


class TransitionNotAllowed(Conflict):
    slug, title = "transition-not-allowed", "Transition not allowed"


@dataclass(frozen=True)
class Transition(Generic[S]):
    """A transition being asked for (what a guard judges)."""

    current: S | None
    target: S
    actor: Actor


@dataclass(frozen=True)
class Rule(Generic[S]):
    """Who may make a transition: a permission, and optionally a guard that raises to refuse."""

    permission: Permission
    guard: Callable[[Transition[S]], None] | None = None


class History(Protocol):
    """Where a machine's transitions are written (who, when, from, to, note, extra)."""

    def append(
        self,
        session: AsyncSession,
        actor: Actor,
        subject_id: uuid.UUID,
        field: str,
        current: str | None,
        target: str,
        *,
        note: str | None,
        extra: Mapping[str, object],
    ) -> None: ...


@dataclass(frozen=True)
class AuditHistory:
    """History kept in the audit trail: one ``action`` event on the subject with
    ``{field: {"old", "new"}}`` (plus the note and ``extra``); who and when are the event's."""

    entity_type: str
    action: str

    def append(
        self,
        session: AsyncSession,
        actor: Actor,
        subject_id: uuid.UUID,
        field: str,
        current: str | None,
        target: str,
        *,
        note: str | None,
        extra: Mapping[str, object],
    ) -> None:
        changes: dict[str, object] = {field: {"old": current, "new": target}}
        if note is not None:
            changes["note"] = note
        changes.update(extra)
        audit.record(session, actor, self.action, self.entity_type, subject_id, changes)


class Machine(Generic[S]):
    def __init__(
        self,
        name: str,
        states: type[S],
        transitions: Mapping[tuple[S | None, S], Rule[S]],
        *,
        attribute: str,
        field: str,
        history: History,
        explanations: Mapping[tuple[S | None, S], str] | None = None,
    ) -> None:
        """``name``: what moves, in messages ("intake status"); ``attribute``: the status's
        name on its subject (the history records it); ``field``: the request body's field that
        asks for the move (problems point at it); ``explanations``: why a pair the table lacks
        is refused, where a plain "not allowed" would not help."""
        self.name = name
        self.states = states
        self.transitions = dict(transitions)
        self.attribute = attribute
        self.field = field
        self.history = history
        self.explanations = dict(explanations or {})

    def parse(self, value: str) -> S:
        """The status named ``value``; 422 when there is none."""
        try:
            return self.states(value)
        except ValueError:
            raise ValidationFailed(f"Unknown {self.name} {value!r}.", field=self.field) from None

    def allowed_from(self, current: S | None, actor: Actor | None = None) -> list[S]:
        """The targets the table has from ``current`` (sorted by name); with ``actor``, only
        those its permissions allow."""
        return sorted(
            target
            for (source, target), rule in self.transitions.items()
            if source == current and (actor is None or actor.can(rule.permission))
        )

    def check(self, current: S | None, target: S | str, actor: Actor) -> S:
        """Raise unless ``actor`` may move from ``current`` to ``target``; returns the target."""
        wanted = target if isinstance(target, self.states) else self.parse(target)
        rule = self.transitions.get((current, wanted))
        if rule is None:
            allowed = self.allowed_from(current)
            detail = self.explanations.get((current, wanted)) or (
                f"The {self.name} cannot move from {current} to {wanted}; from {current} it can "
                f"move to: {', '.join(allowed) or 'nothing'}."
            )
            raise TransitionNotAllowed(
                detail,
                errors=[
                    {
                        "loc": ["body", *self.field.split(".")],
                        "msg": f"{current} -> {wanted} is not allowed",
                        "type": "transition",
                    }
                ],
                extra={
                    "current": None if current is None else str(current),
                    "allowed": [str(a) for a in allowed],
                },
            )
        if not actor.can(rule.permission):
            raise Forbidden(
                f"Moving the {self.name} from {current} to {wanted} needs the "
                f"{rule.permission.value} permission, which your role ({actor.role.value}) "
                "does not have."
            )
        if rule.guard is not None:
            rule.guard(Transition(current, wanted, actor))
        return wanted

    def record(
        self,
        session: AsyncSession,
        actor: Actor,
        subject_id: uuid.UUID,
        current: S | None,
        target: S,
        *,
        note: str | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        """Write the transition to the machine's history."""
        self.history.append(
            session,
            actor,
            subject_id,
            self.attribute,
            current,
            target,
            note=note,
            extra=extra or {},
        )
