"""Scheduled scans that find events nobody's request causes: clients inactive for 90 days,
expired documents, approved queue entries whose document expired.

Each is a set-based query recorded with ``events.emit_from``, keyed so that running a scan
again (every ``CAS_NOTIFICATION_SCAN_INTERVAL_SECONDS``, on any number of workers) records
nothing twice: a client is reported inactive once per period without contact (a new contact
starts a new period), a document once per expiration date.

Hooks for the queue and matching features:

* an approved queue entry whose Document Check document expired is recorded as
  ``queue.review_needed`` (CAS admins are notified); the entry is not changed here -- moving it
  back to ``incomplete_documentation`` stays a CAS admin's decision (DOMAIN 7), and a "needs
  review" flag on the entry itself belongs to the queue (it can read these events, entity
  ``queue_entry``);
* matching adds its "about to stall", "stalled" and park-expiry scans the same way: a
  ``async def scan(session, now) -> int`` in its own package, registered in ``app.jobs.SCANS``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    and_,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.models import Client, Coc
from app.models.documents import ClientFile, DocumentCheck
from app.models.enrollments import Enrollment
from app.models.queue import QueueEntry
from app.reference.notifications import NotificationKind
from app.reference.queue import IntakeStatus
from app.services.clients.contacts import INACTIVE_AFTER
from app.services.platform import events

K = NotificationKind


def _local_date(at: Any) -> ColumnElement[Any]:
    """``at`` (a bound timestamp or a column) as a date in the CoC's time zone."""
    return cast(func.timezone(Coc.time_zone, at), Date)


def _open_ce_enrollment() -> ColumnElement[bool]:
    return and_(
        Enrollment.is_coordinated_entry,
        Enrollment.exit_date.is_(None),
        Enrollment.voided_at.is_(None),
    )


async def inactive_clients(session: AsyncSession, now: datetime) -> int:
    """Heads of household enrolled in Coordinated Entry with no contact for 90 days (their last
    contact, or their enrollment if they never had one)."""
    last = func.coalesce(Client.last_contact_at, Enrollment.created_at)
    stamp = func.to_char(func.timezone("UTC", last), 'YYYY-MM-DD"T"HH24:MI:SS')
    rows = (
        select(
            Client.coc_id,
            literal("client").label("entity_type"),
            Client.id.label("entity_id"),
            Client.id.label("client_id"),
            type_coerce(
                func.jsonb_build_object(
                    "enrollment_id",
                    Enrollment.id,
                    "last_contact_on",
                    func.to_char(_local_date(last), "YYYY-MM-DD"),
                ),
                JSONB,
            ).label("data"),
            func.concat("client.inactive:", Client.id, ":", stamp).label("dedupe_key"),
        )
        .join(Enrollment, Enrollment.client_id == Client.id)
        .join(Coc, Coc.id == Client.coc_id)
        .where(
            _open_ce_enrollment(),
            # Once per household: its head (the queue's entry and its case managers' caseload).
            Enrollment.relationship_to_hoh == 1,
            Client.merged_into_id.is_(None),
            last < now - INACTIVE_AFTER,
        )
    )
    return await events.emit_from(session, K.CLIENT_INACTIVE.value, rows)


async def expired_documents(session: AsyncSession, now: datetime, *, lookback_days: int) -> int:
    """Document Check documents and Client Files that expired (in the CoC's today) at most
    ``lookback_days`` ago, of clients enrolled in Coordinated Entry."""
    today = _local_date(literal(now))
    recorded = 0
    for model, entity_type, kind_sql in (
        (
            DocumentCheck,
            "document_check",
            func.concat(DocumentCheck.category, "/", DocumentCheck.item),
        ),
        (ClientFile, "client_file", ClientFile.file_type),
    ):
        rows = (
            select(
                model.coc_id,
                literal(entity_type).label("entity_type"),
                model.id.label("entity_id"),
                model.client_id.label("client_id"),
                type_coerce(
                    func.jsonb_build_object(
                        "document_id",
                        model.id,
                        "document_kind",
                        kind_sql,
                        "expiration_date",
                        func.to_char(model.expiration_date, "YYYY-MM-DD"),
                    ),
                    JSONB,
                ).label("data"),
                func.concat(
                    "document.expired:", entity_type, ":", model.id, ":", model.expiration_date
                ).label("dedupe_key"),
            )
            .join(Coc, Coc.id == model.coc_id)
            .where(
                model.deleted_at.is_(None),
                model.expiration_date.is_not(None),
                model.expiration_date < today,
                model.expiration_date >= today - lookback_days,
                select(Enrollment.id)
                .where(Enrollment.client_id == model.client_id, _open_ce_enrollment())
                .exists(),
            )
        )
        recorded += await events.emit_from(session, K.DOCUMENT_EXPIRED.value, rows)
    return recorded


async def approved_entries_with_expired_documents(
    session: AsyncSession, now: datetime, *, lookback_days: int
) -> int:
    """Open approved queue entries whose household head's Document Check document expired
    (within the lookback) with no current document of the same item on file (a renewed
    verification needs no review): ``queue.review_needed`` for the CAS admins."""
    today = _local_date(literal(now))
    current = aliased(DocumentCheck)
    renewed = exists().where(
        current.client_id == DocumentCheck.client_id,
        current.item == DocumentCheck.item,
        current.deleted_at.is_(None),
        or_(current.expiration_date.is_(None), current.expiration_date >= today),
    )
    rows = (
        select(
            QueueEntry.coc_id,
            literal("queue_entry").label("entity_type"),
            QueueEntry.id.label("entity_id"),
            QueueEntry.head_client_id.label("client_id"),
            type_coerce(
                func.jsonb_build_object(
                    "queue_entry_id",
                    QueueEntry.id,
                    "document_id",
                    DocumentCheck.id,
                    "expiration_date",
                    func.to_char(DocumentCheck.expiration_date, "YYYY-MM-DD"),
                ),
                JSONB,
            ).label("data"),
            func.concat(
                "queue.review_needed:",
                QueueEntry.id,
                ":",
                DocumentCheck.id,
                ":",
                DocumentCheck.expiration_date,
            ).label("dedupe_key"),
        )
        .join(DocumentCheck, DocumentCheck.client_id == QueueEntry.head_client_id)
        .join(Coc, Coc.id == QueueEntry.coc_id)
        .where(
            QueueEntry.closed_at.is_(None),
            QueueEntry.intake_status == IntakeStatus.APPROVED.value,
            DocumentCheck.deleted_at.is_(None),
            DocumentCheck.expiration_date.is_not(None),
            DocumentCheck.expiration_date < today,
            DocumentCheck.expiration_date >= today - lookback_days,
            ~renewed,
        )
    )
    return await events.emit_from(session, K.QUEUE_REVIEW_NEEDED.value, rows)


async def run_scans(session: AsyncSession, now: datetime, *, lookback_days: int) -> dict[str, int]:
    return {
        "inactive_clients": await inactive_clients(session, now),
        "expired_documents": await expired_documents(session, now, lookback_days=lookback_days),
        "queue_entries_to_review": await approved_entries_with_expired_documents(
            session, now, lookback_days=lookback_days
        ),
    }
