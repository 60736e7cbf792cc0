"""Caseload views (DOMAIN 7, seeds' "My CAS Active Cases" and "My Org CAS Active Cases").

A case is a Coordinated Entry enrollment (not voided) with an active case assignment:

* **mine**: assigned to the caller;
* **organization**: assigned to a current member of the organization the caller acts for (the
  seeds' "cases assigned to users at their Access Point organization").

Either way only clients the caller may see are listed (``clients.access``). Each row carries the
seeds' columns: client id and name, enroll date, days enrolled in CAS, exit date, the 4.19
prioritization status of the latest CE assessment, the intake status of the household's open
queue entry, the date of the last workflow assessment, of the most recent service, the most
recent current living situation and its date, the referral status (of the household's open
entry as of today, ``referral.referral_status_sql``; ``enrolled`` when the stay's entry was
closed as housed; else ``none``), and the documents on file (Client Files for everyone;
Document Check items only for those who may use Document Check -- for anyone else the column
is left out as null).

Filtered and sorted like the queue: the queue's own filters (``listing.QueueFilter``, applied
by ``listing.filter_clauses`` to the household's open queue entry, so a case not on the queue
matches none of them) -- except the client, the case manager, inactivity, the name and the
referral status, which are the case's own here (its client, its assigned case manager, its
client's last contact, its client's name, the referral status column) -- plus
whether the household is on the queue and the prioritization status; sorts are named like the
queue's (``-x`` is exactly the reverse of ``x``), the queue's sorts included (``rank`` and
``score`` of the household's entry; cases not on the queue after the others).

One statement per page: the latest records come from correlated subqueries on the
``(enrollment_id, date, id)`` indexes, the page is cut by keyset on the chosen sort (every sort
ends with the enrollment id, so pages never overlap); the documents of the page's clients are
two more queries (``documents.core.summaries_for_clients``) and their case managers one. The
read of every client shown is audited (``pii.read`` with ``subject_ids``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from app import clock
from app.context import Actor
from app.errors import ValidationFailed
from app.models import Client, Membership, User
from app.models.ce_records import CeAssessment, CurrentLivingSituation, Service
from app.models.enrollments import CaseAssignment, Enrollment, EnrollmentAssessment
from app.models.queue import QueueEntry
from app.models.scoping import scope_to_coc
from app.reference import label
from app.reference.caseloads import Caseload, CaseloadSort
from app.reference.queue import ChronicFilter, CloseReason, ReferralStatus
from app.schemas.pagination import PageParams
from app.services.clients.access import visible_clients_filter
from app.services.clients.contacts import INACTIVE_AFTER
from app.services.clients.search import name_keys
from app.services.documents.core import summaries_for_clients
from app.services.documents.policy import can_use_document_check
from app.services.platform import audit
from app.services.platform.pagination import PageOf, decode_cursor, encode_cursor
from app.services.queue.entries import check_filter
from app.services.queue.exports import Column, Export
from app.services.queue.listing import QueueFilter, filter_clauses
from app.services.queue.referral import referral_status_sql


@dataclass(frozen=True)
class CaseloadOrder:
    sort: CaseloadSort = CaseloadSort.ENROLL_DATE
    descending: bool = True

    @property
    def token(self) -> str:
        return ("-" if self.descending else "") + self.sort.value

    @classmethod
    def parse(cls, value: str) -> CaseloadOrder:
        return cls(CaseloadSort(value.removeprefix("-")), value.startswith("-"))


@dataclass(frozen=True)
class CaseloadFilters:
    """Narrow a caseload: the queue's filters (``queue``; its ``client_id``, ``case_manager_id``
    and ``inactive`` read the case itself), whether the household is on the queue, and the
    prioritization status of the latest CE assessment."""

    queue: QueueFilter = field(default_factory=QueueFilter)
    on_queue: bool | None = None
    prioritization_status: int | None = None


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


def _queue_only(f: QueueFilter) -> QueueFilter:
    """The filters read from the household's queue entry (the case's own taken out)."""
    return replace(
        f, client_id=None, case_manager_id=None, inactive=None, name=None, referral_statuses=()
    )


MAX_NAME_WORDS = 4


def _name_clauses(name: str) -> list[Any]:
    """Each word matches the start, or the sound (metaphone), of the client's first or last
    name (as the queue's search does for the head of household)."""
    clauses: list[Any] = []
    for word in name.split()[:MAX_NAME_WORDS]:
        norm, meta, _ = name_keys(word)
        if norm is None:
            continue
        prefix = norm.replace("\\", "") + "%"
        options: list[Any] = [
            Client.first_name_norm.like(prefix),
            Client.last_name_norm.like(prefix),
        ]
        if meta:
            options += [Client.first_name_key == meta, Client.last_name_key == meta]
        clauses.append(or_(*options))
    return clauses


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
    q = QueueEntry
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
            q.id.label("queue_entry_id"),
            q.intake_status.label("intake_status"),
            q.score.label("score"),
            q.score_sort.label("score_sort"),
            q.priority_key.label("priority_key"),
            q.household_type.label("household_type"),
            q.household_size.label("household_size"),
            last_assessment.label("last_assessment_date"),
            last_service.label("last_service_date"),
            cls.c.situation.label("last_cls_situation"),
            cls.c.information_date.label("last_cls_date"),
            _referral_status(q, today).label("referral_status"),
        )
        .select_from(Enrollment)
        .join(Client, Client.id == Enrollment.client_id)
        # The household's open entry (at most one: a unique index).
        .outerjoin(q, and_(q.household_id == Enrollment.household_id, q.closed_at.is_(None)))
        .outerjoin(cls, true())
        .where(
            Enrollment.coc_id == actor.coc_id,
            Enrollment.is_coordinated_entry.is_(True),
            Enrollment.voided_at.is_(None),
            _assigned(actor, caseload, filters.queue.case_manager_id),
            visible_clients_filter(actor),
        )
    )
    f = filters.queue
    if f.client_id is not None:
        stmt = stmt.where(Enrollment.client_id == f.client_id)
    if f.name:
        stmt = stmt.where(*_name_clauses(f.name))
    if f.inactive is not None:
        cutoff = clock.now() - INACTIVE_AFTER
        stale = or_(Client.last_contact_at.is_(None), Client.last_contact_at < cutoff)
        stmt = stmt.where(stale if f.inactive else ~stale)
    if _queue_only(f) != QueueFilter():
        stmt = stmt.where(*filter_clauses(actor.coc_id, _queue_only(f), clock.now(), today))
    if filters.on_queue is not None:
        stmt = stmt.where(q.id.is_not(None) if filters.on_queue else q.id.is_(None))
    rows = stmt.subquery("cases")
    picked = select(rows)
    if filters.prioritization_status is not None:
        picked = picked.where(rows.c.prioritization_status == filters.prioritization_status)
    if f.referral_statuses:
        picked = picked.where(rows.c.referral_status.in_([s.value for s in f.referral_statuses]))
    return picked


def _referral_status(q: Any, today: date) -> ColumnElement[str]:
    """The case's referral status: its household's open entry's as of ``today``; ``enrolled``
    when the stay's entry was closed because the household was housed; else ``none``."""
    done = aliased(QueueEntry, name="housed_entry")
    housed = exists().where(
        done.head_enrollment_id == Enrollment.household_group_id,
        done.closed_reason == CloseReason.HOUSED.value,
    )
    return case(
        (q.id.is_not(None), referral_status_sql(today, q)),
        (housed, literal(ReferralStatus.ENROLLED.value, String)),
        else_=literal(REFERRAL_NONE, String),
    )


# A case not on the queue has none of the queue's sort values: it sorts first ascending (like
# an entry without a score), except by rank, where it comes after every entry.
_LAST_KEY = literal_column("'{2147483647}'::integer[]", type_=ARRAY(Integer))


def _sort_key(rows: Any, sort: CaseloadSort) -> ColumnElement[Any]:
    c = rows.c
    match sort:
        case CaseloadSort.CLIENT_ID:
            return c.client_id
        case CaseloadSort.ENROLL_DATE:
            return c.enroll_date
        case CaseloadSort.DAYS_ENROLLED:
            return c.days_enrolled
        case CaseloadSort.PRIORITIZATION_STATUS:
            return func.coalesce(c.prioritization_status, 0)
        case CaseloadSort.LAST_ASSESSMENT_DATE:
            return func.coalesce(c.last_assessment_date, _NO_DATE)
        case CaseloadSort.LAST_SERVICE_DATE:
            return func.coalesce(c.last_service_date, _NO_DATE)
        case CaseloadSort.LAST_CLS_DATE:
            return func.coalesce(c.last_cls_date, _NO_DATE)
        case CaseloadSort.RANK:
            return func.coalesce(c.priority_key, _LAST_KEY)
        case CaseloadSort.SCORE:
            return func.coalesce(c.score_sort, -1)
        case CaseloadSort.INTAKE_STATUS:
            return func.coalesce(c.intake_status, "")
        case CaseloadSort.HOUSEHOLD_TYPE:
            return func.coalesce(c.household_type, "")
        case CaseloadSort.HOUSEHOLD_SIZE:
            return func.coalesce(c.household_size, 0)
        case CaseloadSort.REFERRAL_STATUS:
            return c.referral_status


def _check_document_check_filters(actor: Actor, f: QueueFilter, loc: str) -> None:
    """Document Check is the CAS organization's and the admins' to know about (the rows leave it
    out for everyone else): a filter that reads it -- the documents on file, the chronic status
    documented from them (``yes``/``no`` combine both determinations) -- is a 422 for others."""
    if can_use_document_check(actor):
        return
    named = []
    if f.document_status is not None:
        named.append("document_status")
    if f.chronic is not None and f.chronic != ChronicFilter.RECORDED:
        named.append("chronic")
    if named:
        msg = (
            "Filters on Document Check (documents on file, the documented chronic status) are "
            "for the CAS organization and admins; chronic=recorded reads the recorded data only."
        )
        raise ValidationFailed(
            msg, errors=[{"loc": [loc, name], "msg": msg, "type": "value_error"} for name in named]
        )


async def list_caseload(
    session: AsyncSession,
    actor: Actor,
    caseload: Caseload,
    filters: CaseloadFilters,
    page: PageParams,
    order: CaseloadOrder = CaseloadOrder(),
    *,
    read_as: str = "caseload",
    loc: str = "query",
    primary: AsyncSession | None = None,
) -> PageOf[CaseloadRow]:
    """One page of the caseload in ``order`` (ties by enrollment id, the same way); the read of
    every client shown is audited.

    ``primary``: the rows are read on ``session`` (a read replica's, read-only), while the
    filter's check and the audit of the read are done on ``primary`` (by default all of it on
    ``session``)."""
    primary = primary or session
    _check_document_check_filters(actor, filters.queue, loc)
    await check_filter(primary, actor, filters.queue, loc=loc)
    today = clock.today(actor)
    rows = _rows(actor, caseload, filters, today).subquery("caseload")
    key = _sort_key(rows, order.sort)
    desc = order.descending
    stmt: Select[Any] = select(rows, key.label("sort_value"))
    if page.cursor:
        value, last_id = _decode(page.cursor, order, loc)
        bound = literal(value, key.type)
        stmt = stmt.where(
            or_(key < bound, and_(key == bound, rows.c.enrollment_id < last_id))
            if desc
            else or_(key > bound, and_(key == bound, rows.c.enrollment_id > last_id))
        )
    stmt = stmt.order_by(
        key.desc() if desc else key.asc(),
        rows.c.enrollment_id.desc() if desc else rows.c.enrollment_id.asc(),
    ).limit(page.limit + 1)
    found = (await session.execute(stmt)).all()
    next_cursor = None
    if len(found) > page.limit:
        found = found[: page.limit]
        last = found[-1]
        next_cursor = encode_cursor([order.token, last.sort_value, last.enrollment_id])
    shaped = await _shape(session, actor, found, today)
    if primary is not session and shaped:
        # Read on a replica (a snapshot a few seconds old): the clients the caller may see are
        # decided on the primary, so an access ended since then is not shown from the replica.
        visible = set(
            await primary.scalars(
                select(Client.id).where(
                    Client.id.in_([r.client_id for r in shaped]), visible_clients_filter(actor)
                )
            )
        )
        if caseload == Caseload.MINE:
            # "Mine" is the caller's active assignments: one ended since the snapshot is out.
            assigned = set(
                await primary.scalars(
                    select(Enrollment.id).where(
                        Enrollment.id.in_([r.enrollment_id for r in shaped]),
                        _assigned(actor, caseload, None),
                    )
                )
            )
            shaped = [r for r in shaped if r.enrollment_id in assigned]
        shaped = [r for r in shaped if r.client_id in visible]
    audit.record_pii_reads(primary, actor, [r.client_id for r in shaped], fields=[read_as, "name"])
    return PageOf(shaped, next_cursor)


def _fits(sort: CaseloadSort, value: Any) -> bool:
    if isinstance(value, bool):
        return False
    match sort:
        case CaseloadSort.CLIENT_ID:
            return isinstance(value, uuid.UUID)
        case (
            CaseloadSort.DAYS_ENROLLED
            | CaseloadSort.PRIORITIZATION_STATUS
            | CaseloadSort.SCORE
            | CaseloadSort.HOUSEHOLD_SIZE
        ):
            return isinstance(value, int) and -(2**31) <= value < 2**31
        case (
            CaseloadSort.INTAKE_STATUS | CaseloadSort.HOUSEHOLD_TYPE | CaseloadSort.REFERRAL_STATUS
        ):
            return isinstance(value, str) and "\x00" not in value and len(value) <= 30
        case CaseloadSort.RANK:
            return (
                isinstance(value, list)
                and 0 < len(value) <= 20
                and all(
                    isinstance(v, int) and not isinstance(v, bool) and -(2**31) <= v < 2**31
                    for v in value
                )
            )
        case _:
            return isinstance(value, date) and not isinstance(value, datetime)


def _decode(cursor: str, order: CaseloadOrder, loc: str) -> tuple[Any, uuid.UUID]:
    """The cursor's sort value and enrollment id; 422 unless it was made for ``order``."""
    bad = ValidationFailed(
        "The cursor is not valid for this list (a cursor continues only the sort it was made "
        "for: start again without it).",
        errors=[{"loc": [loc, "cursor"], "msg": "invalid cursor", "type": "value_error"}],
    )
    try:
        token, value, last_id = decode_cursor(cursor, 3)
    except ValidationFailed:
        raise bad from None
    if token != order.token or not isinstance(last_id, uuid.UUID) or not _fits(order.sort, value):
        raise bad
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
    order: CaseloadOrder,
    *,
    page_size: int,
    sessionmaker: async_sessionmaker[AsyncSession],
    replica: AsyncSession | None = None,
) -> Export[CaseloadRow]:
    """The caseload as an export: its first page read now (a bad filter is still a problem
    answer), the others as the file is sent (``exports``); each page's clients audited.
    ``replica``: the rows are read there (``exports``: read replica), the audit is written on
    the primary."""
    if replica is not None:
        scope_to_coc(replica, actor.coc_id)

    async def page(s: AsyncSession, cursor: str | None) -> PageOf[CaseloadRow]:
        return await list_caseload(
            replica or s,
            actor,
            caseload,
            filters,
            PageParams(limit=page_size, cursor=cursor),
            order,
            read_as=f"caseload_export_{caseload}",
            primary=s,
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
        coc_id=actor.coc_id,
        sheet_title="Caseload",
    )
