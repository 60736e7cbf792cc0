"""The match state machine (DOMAIN 9) on the shared helper; its history is the match timeline
(``match_events``, append-only: one row per change with who, the acting organization, the
statuses, a note and the change's codes).

Provider moves need ``referrals:respond`` (and, checked by ``policy.can_respond``, acting for
the provider or the EHV case-manager agency); CAS administrators' moves ``referrals:manage``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Actor
from app.models.matching import MatchEvent
from app.permissions import Permission
from app.reference.matching import ACTIVE_MATCH_STATUSES, MatchStatus
from app.services.platform.statemachine import Machine, Rule

S = MatchStatus
RESPOND = Rule[MatchStatus](Permission.REFERRALS_RESPOND)
MANAGE = Rule[MatchStatus](Permission.REFERRALS_MANAGE)

_TABLE: dict[tuple[MatchStatus | None, MatchStatus], Rule[MatchStatus]] = {
    (None, S.SENT): MANAGE,
    (S.SENT, S.ACCEPTED): RESPOND,
    (S.ACCEPTED, S.ENROLLED): RESPOND,
    # EHV: the CoC admin accepts, the navigator records the voucher and the RFTA, the CoC admin
    # assigns the case-manager agency contact, who takes over.
    (S.SENT, S.EHV_NAVIGATION): MANAGE,
    (S.EHV_NAVIGATION, S.EHV_VOUCHER_ISSUED): RESPOND,
    (S.EHV_VOUCHER_ISSUED, S.EHV_RFTA_SUBMITTED): RESPOND,
    (S.EHV_RFTA_SUBMITTED, S.EHV_CASE_MANAGEMENT): MANAGE,
    (S.EHV_CASE_MANAGEMENT, S.ENROLLED): RESPOND,
}
for _active in ACTIVE_MATCH_STATUSES:
    for _end in (S.DECLINED, S.PARKED, S.REJECTED, S.NO_SHOW):
        _TABLE[(_active, _end)] = RESPOND
    _TABLE[(_active, S.CANCELED)] = MANAGE


class MatchTimeline:
    """The machine's history: a ``match_events`` row (``extra``: ``change`` and codes)."""

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
        data: dict[str, Any] = dict(extra)
        change = str(data.pop("change", target))
        session.add(
            MatchEvent(
                coc_id=actor.coc_id,
                match_id=subject_id,
                change=change,
                from_status=current,
                to_status=target,
                note=note,
                data={k: _plain(v) for k, v in data.items()},
                actor_user_id=actor.user_id,
                acting_organization_id=actor.organization_id,
            )
        )


def _plain(value: object) -> object:
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


MATCH = Machine(
    "match status",
    MatchStatus,
    _TABLE,
    attribute="status",
    field="status",
    history=MatchTimeline(),
    explanations={
        (S.SENT, S.ENROLLED): "A match is accepted (the program intake started) before its "
        "outcome can be client_enrolled.",
    },
)


def needs_provider(current: MatchStatus | None, target: MatchStatus) -> bool:
    """Whether the move is a provider's (checked with ``policy.can_respond``)."""
    rule = _TABLE.get((current, target))
    return rule is not None and rule.permission == Permission.REFERRALS_RESPOND
