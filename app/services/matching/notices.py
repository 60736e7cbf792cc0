"""Matching's scheduled scans (DOMAIN 9 and 10): the events nobody's request causes.

* **About to stall** / **stalled**: a ``sent`` match without a provider response, in its
  warning window / past its due time (``matches.about_to_stall_sql`` / ``stalled_sql``, the
  same conditions the match list filters on). The stall itself needs no write: the match read
  derives it from its timestamps; the scans only record the notices.
* **Park ended**: a parked match whose ``parked_until`` has come (the CoC's date) while its
  queue entry is still held by that park: the household is back on the queue -- the queue
  already reads it so at read time (``queue.referral``), nothing is written to the entry -- and
  its case managers and the CAS admins are told.

Each is one set-based ``INSERT ... SELECT`` (``events.emit_from``) keyed by ``dedupe_key``
under the unique index ``uq_notification_events_dedupe_key``: a scan that runs again, or on two
workers at once, records each notice once (the second insert waits for the first's commit and
then does nothing). Keys: ``match.about_to_stall:<match>:<clock start>`` and
``match.stalled:<match>:<clock start>`` -- once per match and response period (a stall
response restarts the clock, so a match that stalls again is told again) --, and
``match.park_ended:<match>`` (a match is parked once: parking ends it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, cast, func, literal, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Coc
from app.models.matching import Match
from app.models.queue import QueueEntry
from app.reference.matching import MatchStatus
from app.reference.notifications import NotificationKind
from app.reference.queue import ReferralStatus
from app.services.matching.matches import about_to_stall_sql, stall_due_sql, stalled_sql
from app.services.platform import events

K = NotificationKind


def _utc_stamp(at: Any, fmt: str = 'YYYY-MM-DD"T"HH24:MI:SS"Z"') -> ColumnElement[str]:
    return func.to_char(func.timezone("UTC", at), fmt)


def _local_date(at: Any) -> ColumnElement[Any]:
    """``at`` as a date in the CoC's time zone (``Coc`` joined)."""
    return cast(func.timezone(Coc.time_zone, at), Date)


def _match_data(*extra: Any) -> ColumnElement[Any]:
    """The ids every match notice carries (``project_id`` / ``organization_id`` find the
    provider's CAS contact); codes and dates only, never PII."""
    return type_coerce(
        func.jsonb_build_object(
            "match_id",
            Match.id,
            "project_id",
            Match.project_id,
            "organization_id",
            Match.organization_id,
            "unit_id",
            Match.unit_id,
            "queue_entry_id",
            Match.queue_entry_id,
            "sent_on",
            func.to_char(Match.sent_on, "YYYY-MM-DD"),
            *extra,
        ),
        JSONB,
    )


def _stall_rows(kind: NotificationKind, condition: ColumnElement[bool]) -> Any:
    due = stall_due_sql()
    return (
        select(
            Match.coc_id,
            literal("match").label("entity_type"),
            Match.id.label("entity_id"),
            Match.head_client_id.label("client_id"),
            _match_data(
                "stall_due_at",
                _utc_stamp(due),
                "stalls_on",
                func.to_char(_local_date(due), "YYYY-MM-DD"),
            ).label("data"),
            func.concat(
                kind.value,
                ":",
                Match.id,
                ":",
                _utc_stamp(Match.clock_started_at, "YYYYMMDDHH24MISSUS"),
            ).label("dedupe_key"),
        )
        .join(Coc, Coc.id == Match.coc_id)
        .where(condition)
    )


async def about_to_stall(session: AsyncSession, now: datetime) -> int:
    """``match.about_to_stall`` for every waiting match in its warning window; how many now."""
    return await events.emit_from(
        session,
        K.MATCH_ABOUT_TO_STALL.value,
        _stall_rows(K.MATCH_ABOUT_TO_STALL, about_to_stall_sql(now)),
    )


async def stalled(session: AsyncSession, now: datetime) -> int:
    """``match.stalled`` for every waiting match past its due time; how many now."""
    return await events.emit_from(
        session, K.MATCH_STALLED.value, _stall_rows(K.MATCH_STALLED, stalled_sql(now))
    )


async def parks_ended(session: AsyncSession, now: datetime) -> int:
    """``match.park_ended`` for every park whose date has come (the CoC's today) and whose
    queue entry, still open, is held by it; how many now. Indefinite parks never end here."""
    today = _local_date(literal(now))
    rows = (
        select(
            Match.coc_id,
            literal("match").label("entity_type"),
            Match.id.label("entity_id"),
            Match.head_client_id.label("client_id"),
            _match_data(
                "parked_until",
                func.to_char(Match.parked_until, "YYYY-MM-DD"),
                "park_reason",
                Match.park_reason,
            ).label("data"),
            func.concat(K.MATCH_PARK_ENDED.value, ":", Match.id).label("dedupe_key"),
        )
        .join(QueueEntry, QueueEntry.id == Match.queue_entry_id)
        .join(Coc, Coc.id == Match.coc_id)
        .where(
            Match.status == MatchStatus.PARKED.value,
            Match.parked_until.is_not(None),
            Match.parked_until <= today,
            QueueEntry.closed_at.is_(None),
            QueueEntry.referral_status == ReferralStatus.PARKED.value,
            QueueEntry.parked_until == Match.parked_until,
        )
    )
    return await events.emit_from(session, K.MATCH_PARK_ENDED.value, rows)
