"""Caseload views (DOMAIN 7, seeds' "My CAS Active Cases" and "My Org CAS Active Cases").

A case is a Coordinated Entry enrollment (not voided) with an active case assignment:

* **mine**: assigned to the caller;
* **organization**: assigned to a current member of the organization the caller acts for (the
  seeds' "cases assigned to users at their Access Point organization").

Either way only clients the caller may see are listed (``clients.access``). Each row carries the
seeds' columns: client id and name, enroll date, days enrolled in CAS, exit date, the 4.19
prioritization status of the latest CE assessment, the intake status of the household's open
queue entry, the date of the last workflow assessment, of the most recent service, the most
recent current living situation and its date, the referral status (``none`` until matching
exists), and the documents on file (Client Files for everyone; Document Check items only for
those who may use Document Check -- for anyone else the column is left out as null).

One statement per page: the latest records come from correlated subqueries on the
``(enrollment_id, date, id)`` indexes, the page is cut by keyset on the chosen sort (every sort
ends with the enrollment id, so pages never overlap); the documents of the page's clients are
two more queries (``documents.core.summaries_for_clients``). The read of every client shown is
audited (``pii.read`` with ``subject_ids``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    and_,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.context import Actor
from app.errors import ValidationFailed
from app.models import Client, Membership, User
from app.models.ce_records import CeAssessment, CurrentLivingSituation, Service
from app.models.enrollments import CaseAssignment, Enrollment, EnrollmentAssessment
from app.models.queue import QueueEntry
from app.reference import label
from app.reference.queue import IntakeStatus
from app.schemas.pagination import PageParams
from app.services.clients.access import visible_clients_filter
from app.services.clients.contacts import INACTIVE_AFTER
from app.services.documents.core import summaries_for_clients
from app.services.documents.policy import can_use_document_check
from app.services.platform import audit
from app.services.platform.pagination import PageOf, decode_cursor, encode_cursor
from app.services.queue.exports import Column, Export


class Caseload(StrEnum):
    MINE = "mine"
    ORGANIZATION = "organization"


class CaseloadSort(StrEnum):
    CLIENT_ID = "client_id"
    ENROLL_DATE = "enroll_date"
    DAYS_ENROLLED = "days_enrolled"
    INTAKE_STATUS = "intake_status"
    PRIORITIZATION_STATUS = "prioritization_status"
    LAST_ASSESSMENT_DATE = "last_assessment_date"
    LAST_SERVICE_DATE = "last_service_date"
    LAST_CLS_DATE = "last_cls_date"
    REFERRAL_STATUS = "referral_status"


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True)
class CaseloadFilters:
    """Narrow a caseload; the queue's own filters (status, chronic, household type and size,
    veteran, score range, referral status) read the household's open queue entry, so a case not
    on the queue is left out by any of them."""

    client_id: uuid.UUID | None = None
    case_manager_id: uuid.UUID | None = None
    on_queue: bool | None = None
    intake_status: Sequence[IntakeStatus] = ()
    prioritization_status: int | None = None
    chronic: bool | None = None
    household_type: Sequence[str] = ()
    family_size_min: int | None = None
    family_size_max: int | None = None
    veteran: bool | None = None
    score_min: int | None = None
    score_max: int | None = None
    inactive: bool | None = None
    referral_status: Sequence[str] = ()


@dataclass
class CaseloadRow:
    """One case: what a caseload row shows."""

    enrollment_id: uuid.UUID
    client_id: uuid.UUID
    first_name: str | None
    last_name: str | None
    enroll_date: date
    days_enrolled: int
    exit_date: date | None
    prioritization_status: int | None
    queue_entry_id: uuid.UUID | None
    intake_status: str | None
    last_assessment_date: date | None
    last_service_date: date | None
    last_cls: dict[str, Any] | None
    referral_status: str
    inactive: bool
    case_managers: list[dict[str, Any]] = field(default_factory=list)
    documents_on_file: dict[str, Any] = field(default_factory=dict)


REFERRAL_NONE = "none"
# Sort values never NULL (keyset needs a total order): missing dates sort as the earliest day,
# a missing status as the empty text.
_NO_DATE = date(1, 1, 1)


def _assigned(actor: Actor, caseload: Caseload, case_manager_id: uuid.UUID | None) -> Any:
    """Active case assignments on the enrollment the caseload counts."""
    stmt = select(CaseAssignment.id).where(
        CaseAssignment.enrollment_id == Enrollment.id, CaseAssignment.status == "active"
    )
    if caseload == Caseload.MINE:
        stmt = stmt.where(CaseAssignment.user_id == actor.user_id)
    else:
        stmt = stmt.where(
            exists(
                select(Membership.id).where(
                    Membership.user_id == CaseAssignment.user_id,
                    Membership.organization_id == actor.organization_id,
                )
            )
        )
    if case_manager_id is not None:
        stmt = stmt.where(CaseAssignment.user_id == case_manager_id)
    return exists(stmt)


def _rows(actor: Actor, caseload: Caseload, filters: CaseloadFilters, today: date) -> Any:
    """The caseload as a subquery: one row per case with every column and sort value."""
    last_assessment = (
        select(func.max(EnrollmentAssessment.assessment_date))
        .where(EnrollmentAssessment.enrollment_id == Enrollment.id)
        .scalar_subquery()
    )
    prioritization = (
        select(CeAssessment.prioritization_status)
        .where(CeAssessment.enrollment_id == Enrollment.id)
        .order_by(
            CeAssessment.assessment_date.desc(), CeAssessment.created_at.desc(), CeAssessment.id
        )
        .limit(1)
        .scalar_subquery()
    )
    last_service = (
        select(func.max(Service.date_provided))
        .where(Service.enrollment_id == Enrollment.id)
        .scalar_subquery()
    )
    cls = (
        select(
            CurrentLivingSituation.current_living_situation.label("situation"),
            CurrentLivingSituation.information_date.label("information_date"),
        )
        .where(CurrentLivingSituation.enrollment_id == Enrollment.id)
        .order_by(
            CurrentLivingSituation.information_date.desc(),
            CurrentLivingSituation.created_at.desc(),
            CurrentLivingSituation.id,
        )
        .limit(1)
        .lateral("last_cls")
    )
    entry = (
        select(
            QueueEntry.id.label("id"),
            QueueEntry.intake_status.label("intake_status"),
            QueueEntry.referral_status.label("referral_status"),
            QueueEntry.score.label("score"),
            QueueEntry.veteran.label("veteran"),
            (QueueEntry.chronic_recorded | QueueEntry.chronic_documented).label("chronic"),
            QueueEntry.household_type.label("household_type"),
            QueueEntry.household_size.label("household_size"),
        )
        .where(QueueEntry.household_id == Enrollment.household_id, QueueEntry.closed_at.is_(None))
        .limit(1)
        .lateral("queue_entry")
    )
    end = func.coalesce(Enrollment.exit_date, literal(today, Date))
    stmt = (
        select(
            Enrollment.id.label("enrollment_id"),
            Enrollment.client_id.label("client_id"),
            Client.first_name.label("first_name"),
            Client.last_name.label("last_name"),
            Client.last_contact_at.label("last_contact_at"),
            Enrollment.entry_date.label("enroll_date"),
            cast(end - Enrollment.entry_date, Integer).label("days_enrolled"),
            Enrollment.exit_date.label("exit_date"),
            prioritization.label("prioritization_status"),
            entry.c.id.label("queue_entry_id"),
            entry.c.intake_status.label("intake_status"),
            last_assessment.label("last_assessment_date"),
            last_service.label("last_service_date"),
            cls.c.situation.label("last_cls_situation"),
            cls.c.information_date.label("last_cls_date"),
            func.coalesce(entry.c.referral_status, literal(REFERRAL_NONE, String)).label(
                "referral_status"
            ),
        )
        .select_from(Enrollment)
        .join(Client, Client.id == Enrollment.client_id)
        .outerjoin(entry, true())
        .outerjoin(cls, true())
        .where(
            Enrollment.coc_id == actor.coc_id,
            Enrollment.is_coordinated_entry.is_(True),
            Enrollment.voided_at.is_(None),
            _assigned(actor, caseload, filters.case_manager_id),
            visible_clients_filter(actor),
        )
    )
    if filters.client_id is not None:
        stmt = stmt.where(Enrollment.client_id == filters.client_id)
    if filters.on_queue is not None:
        stmt = stmt.where(entry.c.id.is_not(None) if filters.on_queue else entry.c.id.is_(None))
    if filters.intake_status:
        stmt = stmt.where(entry.c.intake_status.in_([str(s) for s in filters.intake_status]))
    if filters.chronic is not None:
        stmt = stmt.where(entry.c.chronic.is_(filters.chronic))
    if filters.household_type:
        stmt = stmt.where(entry.c.household_type.in_([str(t) for t in filters.household_type]))
    if filters.family_size_min is not None:
        stmt = stmt.where(entry.c.household_size >= filters.family_size_min)
    if filters.family_size_max is not None:
        stmt = stmt.where(entry.c.household_size <= filters.family_size_max)
    if filters.veteran is not None:
        stmt = stmt.where(entry.c.veteran.is_(filters.veteran))
    if filters.score_min is not None:
        stmt = stmt.where(entry.c.score >= filters.score_min)
    if filters.score_max is not None:
        stmt = stmt.where(entry.c.score <= filters.score_max)
    if filters.referral_status:
        stmt = stmt.where(entry.c.referral_status.in_([str(r) for r in filters.referral_status]))
    if filters.inactive is not None:
        cutoff = clock.now() - INACTIVE_AFTER
        stale = or_(Client.last_contact_at.is_(None), Client.last_contact_at < cutoff)
        stmt = stmt.where(stale if filters.inactive else ~stale)
    rows = stmt.subquery("cases")
    if filters.prioritization_status is not None:
        return select(rows).where(rows.c.prioritization_status == filters.prioritization_status)
    return select(rows)


def _sort_key(rows: Any, sort: CaseloadSort) -> ColumnElement[Any]:
    c = rows.c
    match sort:
        case CaseloadSort.CLIENT_ID:
            return c.client_id
        case CaseloadSort.ENROLL_DATE:
            return c.enroll_date
        case CaseloadSort.DAYS_ENROLLED:
            return c.days_enrolled
        case CaseloadSort.INTAKE_STATUS:
            return func.coalesce(c.intake_status, "")
        case CaseloadSort.PRIORITIZATION_STATUS:
            return func.coalesce(c.prioritization_status, 0)
        case CaseloadSort.LAST_ASSESSMENT_DATE:
            return func.coalesce(c.last_assessment_date, _NO_DATE)
        case CaseloadSort.LAST_SERVICE_DATE:
            return func.coalesce(c.last_service_date, _NO_DATE)
        case CaseloadSort.LAST_CLS_DATE:
            return func.coalesce(c.last_cls_date, _NO_DATE)
        case CaseloadSort.REFERRAL_STATUS:
            return c.referral_status


async def list_caseload(
    session: AsyncSession,
    actor: Actor,
    caseload: Caseload,
    filters: CaseloadFilters,
    page: PageParams,
    *,
    sort: CaseloadSort = CaseloadSort.ENROLL_DATE,
    order: SortOrder = SortOrder.ASC,
    read_as: str = "caseload",
) -> PageOf[CaseloadRow]:
    """One page of the caseload in ``sort`` order (ties by enrollment id); the read of every
    client shown is audited."""
    today = clock.today(actor)
    base = _rows(actor, caseload, filters, today)
    rows = base.subquery("caseload")
    key = _sort_key(rows, sort)
    desc = order == SortOrder.DESC
    stmt: Select[Any] = select(rows, key.label("sort_value"))
    if page.cursor:
        after = _decode(page.cursor, sort, order)
        value, last_id = after
        ahead = (
            or_(key < value, and_(key == value, rows.c.enrollment_id < last_id))
            if desc
            else or_(key > value, and_(key == value, rows.c.enrollment_id > last_id))
        )
        stmt = stmt.where(ahead)
    stmt = stmt.order_by(
        key.desc() if desc else key.asc(),
        rows.c.enrollment_id.desc() if desc else rows.c.enrollment_id.asc(),
    ).limit(page.limit + 1)
    found = (await session.execute(stmt)).all()
    next_cursor = None
    if len(found) > page.limit:
        found = found[: page.limit]
        last = found[-1]
        next_cursor = _encode(sort, order, last.sort_value, last.enrollment_id)
    shaped = await _shape(session, actor, found, today)
    audit.record_pii_reads(session, actor, [r.client_id for r in shaped], fields=[read_as, "name"])
    return PageOf(shaped, next_cursor)


def _encode(sort: CaseloadSort, order: SortOrder, value: Any, last_id: uuid.UUID) -> str:
    return encode_cursor([f"{sort}:{order}", value, last_id])


def _decode(cursor: str, sort: CaseloadSort, order: SortOrder) -> tuple[Any, uuid.UUID]:
    """A cursor of this sort and order (422 otherwise, e.g. one from another sort)."""
    values = decode_cursor(cursor, 3)
    tag, value, last_id = values
    expected: type | tuple[type, ...]
    match sort:
        case CaseloadSort.CLIENT_ID:
            expected = uuid.UUID
        case CaseloadSort.DAYS_ENROLLED | CaseloadSort.PRIORITIZATION_STATUS:
            expected = int
        case CaseloadSort.INTAKE_STATUS | CaseloadSort.REFERRAL_STATUS:
            expected = str
        case _:
            expected = date
    if (
        tag != f"{sort}:{order}"
        or not isinstance(last_id, uuid.UUID)
        or not isinstance(value, expected)
        or isinstance(value, bool)
        or (isinstance(value, str) and "\x00" in value)
    ):
        raise ValidationFailed(
            "The cursor is not valid for this list (it belongs to another sort or order).",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}],
        )
    return value, last_id


async def _shape(
    session: AsyncSession, actor: Actor, found: Sequence[Any], today: date
) -> list[CaseloadRow]:
    if not found:
        return []
    enrollment_ids = [r.enrollment_id for r in found]
    managers: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for enrollment_id, user_id, full_name in await session.execute(
        select(CaseAssignment.enrollment_id, User.id, User.full_name)
        .join(User, User.id == CaseAssignment.user_id)
        .where(CaseAssignment.enrollment_id.in_(enrollment_ids), CaseAssignment.status == "active")
        .order_by(CaseAssignment.start_date, CaseAssignment.id)
    ):
        managers.setdefault(enrollment_id, []).append({"user_id": user_id, "full_name": full_name})
    documents = await summaries_for_clients(session, [r.client_id for r in found], today)
    show_checks = can_use_document_check(actor)
    cutoff = clock.now() - INACTIVE_AFTER
    out = []
    for r in found:
        summary = documents.get(r.client_id, {})
        out.append(
            CaseloadRow(
                enrollment_id=r.enrollment_id,
                client_id=r.client_id,
                first_name=r.first_name,
                last_name=r.last_name,
                enroll_date=r.enroll_date,
                days_enrolled=r.days_enrolled,
                exit_date=r.exit_date,
                prioritization_status=r.prioritization_status,
                queue_entry_id=r.queue_entry_id,
                intake_status=r.intake_status,
                last_assessment_date=r.last_assessment_date,
                last_service_date=r.last_service_date,
                last_cls=None
                if r.last_cls_situation is None
                else {
                    "current_living_situation": r.last_cls_situation,
                    "information_date": r.last_cls_date,
                },
                referral_status=r.referral_status,
                inactive=r.last_contact_at is None or r.last_contact_at < cutoff,
                case_managers=managers.get(r.enrollment_id, []),
                documents_on_file={
                    "client_files": [
                        f["file_type"] for f in summary.get("client_files", []) if f["current"]
                    ],
                    "document_check": [
                        {"category": i["category"], "item": i["item"]}
                        for i in summary.get("document_checks", [])
                        if i["current"]
                    ]
                    if show_checks
                    else None,
                },
            )
        )
    return out


# --- export -------------------------------------------------------------------------------------


def _label(list_id: str, value: int | None) -> str | None:
    return None if value is None else f"{value} {label(list_id, value)}"


CASELOAD_COLUMNS: list[Column[CaseloadRow]] = [
    Column("Client ID", lambda r: str(r.client_id)),
    Column("First name", lambda r: r.first_name),
    Column("Last name", lambda r: r.last_name),
    Column("Enroll date", lambda r: r.enroll_date),
    Column("Days enrolled in CAS", lambda r: r.days_enrolled),
    Column("Exit date", lambda r: r.exit_date),
    Column("Prioritization status", lambda r: _label("4.19.7", r.prioritization_status)),
    Column("CAS intake status", lambda r: r.intake_status),
    Column("Date of last assessment", lambda r: r.last_assessment_date),
    Column("Date of most recent service", lambda r: r.last_service_date),
    Column(
        "Most recent CLS",
        lambda r: _label("3.12.1", r.last_cls["current_living_situation"]) if r.last_cls else None,
    ),
    Column(
        "Most recent CLS date", lambda r: r.last_cls["information_date"] if r.last_cls else None
    ),
    Column("Referral status", lambda r: r.referral_status),
    Column("Client files", lambda r: "; ".join(r.documents_on_file["client_files"])),
    Column(
        "Document Check",
        lambda r: (
            None
            if r.documents_on_file["document_check"] is None
            else "; ".join(
                f"{d['category']}/{d['item']}" for d in r.documents_on_file["document_check"]
            )
        ),
    ),
    Column("Case managers", lambda r: "; ".join(m["full_name"] for m in r.case_managers)),
    Column("Inactive", lambda r: r.inactive),
    Column("Enrollment ID", lambda r: str(r.enrollment_id)),
    Column("Queue entry ID", lambda r: None if r.queue_entry_id is None else str(r.queue_entry_id)),
]


async def export_caseload(
    session: AsyncSession,
    actor: Actor,
    caseload: Caseload,
    filters: CaseloadFilters,
    *,
    sort: CaseloadSort,
    order: SortOrder,
    page_size: int,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> Export[CaseloadRow]:
    """The caseload as an export: its first page read now (a bad filter is still a problem
    answer), the others as the file is sent (``exports``); each page's clients audited."""

    async def page(s: AsyncSession, cursor: str | None) -> PageOf[CaseloadRow]:
        return await list_caseload(
            s,
            actor,
            caseload,
            filters,
            PageParams(limit=page_size, cursor=cursor),
            sort=sort,
            order=order,
            read_as=f"caseload_export_{caseload}",
        )

    async def next_page(s: AsyncSession, cursor: str) -> tuple[list[CaseloadRow], str | None]:
        found = await page(s, cursor)
        return found.items, found.next_cursor

    first = await page(session, None)
    return Export(
        columns=CASELOAD_COLUMNS,
        first=first.items,
        next_cursor=first.next_cursor,
        next_page=next_page,
        sessionmaker=sessionmaker,
        sheet_title="Caseload",
    )
