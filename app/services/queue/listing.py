"""The queue's list as one SQL statement: filters, sorts, keyset pagination and rank (DOMAIN 7).

Reusable by every list of queue entries (the queue itself, caseloads, exports, the benchmark):

* ``QueueFilter`` -- what to keep (every filter of the issue; values already checked against
  their vocabularies, see ``check_filter`` for the ones the database must confirm);
* ``QueueOrder`` -- one of ``QueueSort`` ascending, or exactly reversed (``-score``);
* ``list_statement(coc_id, filter, order, after, limit, now, today)`` -- the SELECT for one
  page (rows of ``ROW_COLUMNS`` plus ``rank``), ``limit + 1`` rows so the caller knows there
  is more;
* ``with_rank(page, coc_id)`` -- any page of the CoC's open entries (a subquery with their
  ``priority_key`` and ``id``, in whatever order) with each row's ``rank``: how matching's
  candidate search ranks its page;
* ``encode_queue_cursor`` / ``decode_queue_cursor`` -- the opaque cursor, bound to its order (a
  cursor from another order is a 422).

**Orders.** Each sort is a tuple of columns ending with rank order ``(priority_key, id)`` (the
client id sort: ``(head_client_id, id)``), so ties are listed in rank order; each tuple is an
index of ``queue_entries`` (open entries of one CoC), scanned forwards or backwards: ``-x`` is
exactly the reverse of ``x``. Keyset: the row comparison ``(cols) > (cursor values)`` is an
index range condition, so page 100 costs what page 1 does.

**Rank** is the entry's position by ``(priority_key, id)`` among its CoC's open entries, every
intake status included (1 = first). It is counted in the same statement: the page's rows in
rank order, and for each the entries between it and the previous one (an index-only range
count of ``ix_queue_entries_rank``); the running sum is the rank. The whole count scans the
index up to the page's last-ranked row, never the table.

**Referral status** (column, filter and sort) is read as of the CoC's date
(``referral.referral_status_sql``): a park that reached its date reads ``none``. The sort by
it is therefore on that expression, not on an index (a sort of the filtered entries).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Subquery,
    Uuid,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import aliased

from app.errors import ValidationFailed
from app.models import Client, User
from app.models.area_ties import AreaTie
from app.models.enrollments import CaseAssignment, Enrollment
from app.models.queue import QueueEntry, QueueSettings
from app.reference.queue import (
    CHECKLIST_ITEMS,
    INACTIVE_AFTER_DAYS,
    ChronicFilter,
    DocumentStatus,
    HouseholdType,
    IntakeStatus,
    QueueSort,
    QueueSortOrder,
    ReferralStatus,
)
from app.services.clients.search import name_keys
from app.services.queue.referral import referral_status_in, referral_status_sql

MAX_NAME_TOKENS = 4


@dataclass(frozen=True)
class QueueOrder:
    sort: QueueSort = QueueSort.RANK
    descending: bool = False

    @property
    def token(self) -> str:
        return ("-" if self.descending else "") + self.sort.value

    @classmethod
    def parse(cls, value: str) -> QueueOrder:
        """``rank``, ``-rank``, ``score``, ``-score``, ...; 422 for anything else."""
        name = value[1:] if value.startswith("-") else value
        try:
            return cls(QueueSort(name), value.startswith("-"))
        except ValueError:
            raise ValidationFailed(
                f"Unknown sort '{value}'.",
                errors=[
                    {
                        "loc": ["query", "sort"],
                        "msg": "one of " + ", ".join(SORT_VALUES),
                        "type": "enum",
                    }
                ],
            )


SORT_VALUES: tuple[str, ...] = tuple(QueueSortOrder)


@dataclass(frozen=True)
class QueueFilter:
    """What a list of queue entries keeps (all given filters apply; empty = any)."""

    statuses: tuple[IntakeStatus, ...] = ()
    # A client of the household (the head or a member).
    client_id: uuid.UUID | None = None
    # Words each matching the start (or the sound) of the head's first or last name.
    name: str | None = None
    chronic: ChronicFilter | None = None
    household_types: tuple[HouseholdType, ...] = ()
    household_size_min: int | None = None
    household_size_max: int | None = None
    referral_statuses: tuple[ReferralStatus, ...] = ()
    # An active case assignment of this user on the head's Coordinated Entry enrollment.
    case_manager_id: uuid.UUID | None = None
    veteran: bool | None = None
    score_min: int | None = None
    score_max: int | None = None
    # No contact, assessment, service or document upload for INACTIVE_AFTER_DAYS days.
    inactive: bool | None = None
    # An area tie of the head of household (an area code of the CoC's list).
    area: str | None = None
    document_status: DocumentStatus | None = None


# --- the statement --------------------------------------------------------------------------

q = QueueEntry
ZERO_UUID = uuid.UUID(int=0)
EMPTY_KEY = literal_column("'{}'::integer[]", type_=ARRAY(Integer))

_SORT_COLUMNS: dict[QueueSort, tuple[Any, ...]] = {
    QueueSort.RANK: (q.priority_key, q.id),
    QueueSort.CLIENT_ID: (q.head_client_id, q.id),
    QueueSort.SCORE: (q.score_sort, q.priority_key, q.id),
    QueueSort.INTAKE_STATUS: (q.intake_status, q.priority_key, q.id),
    QueueSort.HOUSEHOLD_TYPE: (q.household_type, q.priority_key, q.id),
    QueueSort.HOUSEHOLD_SIZE: (q.household_size, q.priority_key, q.id),
    QueueSort.REFERRAL_STATUS: (q.referral_status, q.priority_key, q.id),
}


def _sort_columns(sort: QueueSort, today: date) -> tuple[Any, ...]:
    """The columns of ``sort``; the referral status as of ``today``."""
    if sort == QueueSort.REFERRAL_STATUS:
        return (referral_status_sql(today).label("referral_status"), q.priority_key, q.id)
    return _SORT_COLUMNS[sort]


def sort_keys(order: QueueOrder) -> list[str]:
    """The names of the columns ``order`` sorts by (the cursor's values, in order)."""
    return [str(c.key) for c in _SORT_COLUMNS[order.sort]]


def _case_managers() -> ColumnElement[Any]:
    """The head enrollment's active case managers as ``[{"user_id", "full_name"}]`` (index
    lookups per row: the assignment, then the user by its key)."""
    ca = aliased(CaseAssignment, name="cm")
    full_name = select(User.full_name).where(User.id == ca.user_id).scalar_subquery()
    rows = (
        select(
            func.coalesce(
                func.jsonb_agg(
                    func.jsonb_build_object("user_id", ca.user_id, "full_name", full_name)
                ),
                literal_column("'[]'::jsonb"),
            )
        )
        .where(ca.enrollment_id == q.head_enrollment_id, ca.status == "active")
        .scalar_subquery()
    )
    return type_coerce(rows, JSONB)


# What each row of the statement holds (plus ``rank``).
def _row_columns(today: date) -> list[Any]:
    return [
        q.id,
        q.coc_id,
        q.version,
        q.household_id,
        q.head_client_id,
        q.head_enrollment_id,
        q.intake_status,
        q.placed_on,
        q.score,
        q.score_recorded_at,
        q.score_sort,
        referral_status_sql(today).label("referral_status"),
        q.parked_until,
        q.tie_breaker,
        q.priority_key,
        q.chronic_recorded,
        q.chronic_documented,
        q.days_homeless_3y,
        q.veteran,
        q.family_with_children,
        q.youth,
        q.household_size,
        q.household_type,
        q.documents_on_file,
        q.last_activity_at,
        q.facts_as_of,
        q.facts_stale,
        q.created_at,
        Client.first_name.label("first_name"),
        Client.last_name.label("last_name"),
        QueueSettings.scheme.label("scheme"),
        QueueSettings.score_tool.label("score_tool"),
        _case_managers().label("case_managers"),
    ]


ROW_COLUMNS: tuple[str, ...] = (*(str(c.key) for c in _row_columns(date.min)), "rank")


def filter_clauses(coc_id: uuid.UUID, f: QueueFilter, now: datetime, today: date) -> list[Any]:
    """The WHERE clauses of ``f`` on open entries of the CoC (``queue_entries`` as ``q``);
    ``today`` is the CoC's date (the referral status reads it)."""
    where: list[Any] = [q.coc_id == coc_id, q.closed_at.is_(None)]
    if f.statuses:
        where.append(q.intake_status.in_([s.value for s in f.statuses]))
    if f.client_id is not None:
        where.append(
            q.head_enrollment_id.in_(
                select(Enrollment.household_group_id).where(
                    Enrollment.client_id == f.client_id,
                    Enrollment.is_coordinated_entry,
                    Enrollment.voided_at.is_(None),
                )
            )
        )
    if f.name:
        where.extend(_name_clauses(f.name))
    if f.chronic is not None:
        where.append(
            {
                ChronicFilter.YES: or_(q.chronic_recorded, q.chronic_documented),
                ChronicFilter.NO: and_(~q.chronic_recorded, ~q.chronic_documented),
                ChronicFilter.RECORDED: q.chronic_recorded,
                ChronicFilter.DOCUMENTED: q.chronic_documented,
            }[f.chronic]
        )
    if f.household_types:
        where.append(q.household_type.in_([t.value for t in f.household_types]))
    if f.household_size_min is not None:
        where.append(q.household_size >= f.household_size_min)
    if f.household_size_max is not None:
        where.append(q.household_size <= f.household_size_max)
    if f.referral_statuses:
        where.append(referral_status_in(f.referral_statuses, today))
    if f.case_manager_id is not None:
        where.append(
            exists().where(
                CaseAssignment.enrollment_id == q.head_enrollment_id,
                CaseAssignment.user_id == f.case_manager_id,
                CaseAssignment.status == "active",
            )
        )
    if f.veteran is not None:
        where.append(q.veteran.is_(true()) if f.veteran else q.veteran.is_(false()))
    if f.score_min is not None:
        where.append(q.score >= f.score_min)
    if f.score_max is not None:
        where.append(q.score <= f.score_max)
    if f.inactive is not None:
        since = now - timedelta(days=INACTIVE_AFTER_DAYS)
        inactive = or_(q.last_activity_at.is_(None), q.last_activity_at < since)
        where.append(inactive if f.inactive else ~inactive)
    if f.area is not None:
        where.append(exists().where(AreaTie.client_id == q.head_client_id, AreaTie.area == f.area))
    if f.document_status is not None:
        every = cast(literal(list(CHECKLIST_ITEMS)), ARRAY(q.documents_on_file.type.item_type))
        where.append(
            {
                DocumentStatus.COMPLETE: q.documents_on_file.contains(every),
                DocumentStatus.NONE: func.cardinality(q.documents_on_file) == 0,
                DocumentStatus.INCOMPLETE: and_(
                    func.cardinality(q.documents_on_file) > 0,
                    ~q.documents_on_file.contains(every),
                ),
            }[f.document_status]
        )
    return where


def _name_clauses(name: str) -> list[Any]:
    clauses: list[Any] = []
    for word in name.split()[:MAX_NAME_TOKENS]:
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


def list_statement(
    coc_id: uuid.UUID,
    f: QueueFilter,
    order: QueueOrder,
    after: Sequence[Any] | None,
    limit: int,
    now: datetime,
    today: date,
) -> Select[Any]:
    """One page of the CoC's open entries kept by ``f`` in ``order``, after the cursor's
    values ``after``: ``limit + 1`` rows of ``ROW_COLUMNS`` (the last only says there is more),
    each with its ``rank``."""
    columns = _sort_columns(order.sort, today)
    where = filter_clauses(coc_id, f, now, today)
    if after is not None:
        left = tuple_(*columns)
        right = tuple_(*[literal(v, col.type) for col, v in zip(columns, after, strict=True)])
        where.append(left < right if order.descending else left > right)
    page = (
        select(*_row_columns(today))
        .join(Client, Client.id == q.head_client_id)
        .join(QueueSettings, QueueSettings.coc_id == q.coc_id)
        .where(*where)
        .order_by(*[c.desc() if order.descending else c.asc() for c in columns])
        .limit(limit + 1)
        .subquery("page")
    )
    ranked = with_rank(page, coc_id)
    ordered = [ranked.selected_columns[str(col.key)] for col in columns]
    return ranked.order_by(*[o.desc() if order.descending else o.asc() for o in ordered])


def with_rank(page: Subquery, coc_id: uuid.UUID) -> Select[Any]:
    """Every column of ``page`` (open entries of the CoC: a subquery with at least their
    ``priority_key`` and ``id``, in any order, typically one page cut by ``LIMIT``) plus
    ``rank``, their position among all the CoC's open entries by ``(priority_key, id)``; no
    ORDER BY (the caller orders by ``selected_columns``).

    The rows are taken in rank order; for each, the open entries from the previous row
    (included) up to it (excluded) are counted (an index-only range count of
    ``ix_queue_entries_rank``), and the running sum plus one is the rank: the whole count
    reads the rank index up to the page's last-ranked row, once."""
    names = [str(c.key) for c in page.c]
    in_rank_order = (page.c.priority_key, page.c.id)
    with_previous = select(
        page,
        func.lag(page.c.priority_key).over(order_by=in_rank_order).label("previous_key"),
        func.lag(page.c.id).over(order_by=in_rank_order).label("previous_id"),
    ).subquery("with_previous")
    w = with_previous.c
    x = aliased(QueueEntry, name="ahead")
    # Open entries from the previous page row (included) up to this one (excluded).
    between = (
        select(func.count())
        .select_from(x)
        .where(
            x.coc_id == coc_id,
            x.closed_at.is_(None),
            tuple_(x.priority_key, x.id) < tuple_(w.priority_key, w.id),
            tuple_(x.priority_key, x.id)
            >= tuple_(
                func.coalesce(w.previous_key, EMPTY_KEY),
                func.coalesce(w.previous_id, literal(ZERO_UUID, Uuid)),
            ),
        )
        .scalar_subquery()
    )
    counted = select(*[w[name] for name in names], between.label("between")).subquery("counted")
    c = counted.c
    rank = cast(func.sum(c.between).over(order_by=(c.priority_key, c.id)) + 1, Integer).label(
        "rank"
    )
    return select(*[c[name] for name in names], rank)


def ahead_of(coc_id: uuid.UUID, priority_key: Any, entry_id: Any) -> Select[Any]:
    """How many of the CoC's open entries rank ahead of ``(priority_key, entry_id)`` (columns
    or values): an index-only range count of ``ix_queue_entries_rank``. An open entry's rank
    is this plus one."""
    x = aliased(QueueEntry, name="ahead")
    if not isinstance(priority_key, ColumnElement):
        priority_key = literal(list(priority_key), q.priority_key.type)
    return (
        select(func.count())
        .select_from(x)
        .where(
            x.coc_id == coc_id,
            x.closed_at.is_(None),
            tuple_(x.priority_key, x.id) < tuple_(priority_key, entry_id),
        )
    )


def entry_statement(coc_id: uuid.UUID, entry_id: uuid.UUID, today: date) -> Select[Any]:
    """One entry of the CoC (open or closed) as a row of ``ROW_COLUMNS`` plus ``closed_at``
    and ``closed_reason``; ``rank`` is null for a closed entry."""
    ahead = ahead_of(coc_id, q.priority_key, q.id).scalar_subquery()
    rank = case((q.closed_at.is_(None), ahead + 1), else_=None).label("rank")
    return (
        select(*_row_columns(today), rank, q.closed_at, q.closed_reason)
        .join(Client, Client.id == q.head_client_id)
        .join(QueueSettings, QueueSettings.coc_id == q.coc_id)
        .where(q.id == entry_id, q.coc_id == coc_id)
    )


# --- cursors --------------------------------------------------------------------------------


def encode_queue_cursor(order: QueueOrder, row: Any) -> str:
    """The cursor after ``row`` (a row of ``list_statement``) in ``order``."""
    values: list[Any] = [order.token]
    for name in sort_keys(order):
        v = getattr(row, name)
        values.append(str(v) if isinstance(v, uuid.UUID) else v)
    raw = json.dumps(values, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _bad_cursor(msg: str = "invalid cursor") -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not valid for this list."
        if msg == "invalid cursor"
        else "The cursor belongs to another sort order: start again without it.",
        errors=[{"loc": ["query", "cursor"], "msg": msg, "type": "value_error"}],
    )


def decode_queue_cursor(cursor: str, order: QueueOrder) -> list[Any]:
    """The sort values a cursor holds; 422 when it is not one of ours, or was made for
    another order."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        raise _bad_cursor()
    if not isinstance(values, list) or not values or not isinstance(values[0], str):
        raise _bad_cursor()
    if values[0] != order.token:
        if values[0] in SORT_VALUES:
            raise _bad_cursor("cursor from another sort order")
        raise _bad_cursor()
    names = sort_keys(order)
    if len(values) != len(names) + 1:
        raise _bad_cursor()
    return [_checked(name, v) for name, v in zip(names, values[1:], strict=True)]


_INT32 = range(-(2**31), 2**31)


def _checked(name: str, value: Any) -> Any:
    """A cursor value of column ``name``, of the column's type (a tampered one is a 422)."""
    ok: bool
    if name in ("id", "head_client_id"):
        try:
            return uuid.UUID(value)
        except (ValueError, TypeError, AttributeError):
            raise _bad_cursor()
    if name == "priority_key":
        ok = (
            isinstance(value, list)
            and 0 < len(value) <= 16
            and all(isinstance(i, int) and not isinstance(i, bool) and i in _INT32 for i in value)
        )
    elif name in ("score_sort", "household_size"):
        ok = isinstance(value, int) and not isinstance(value, bool) and value in _INT32
    else:  # intake_status, household_type, referral_status
        ok = isinstance(value, str) and 0 < len(value) <= 30 and "\x00" not in value
    if not ok:
        raise _bad_cursor()
    return value


def days_on_queue(placed_on: date, today: date) -> int:
    return max((today - placed_on).days, 0)


__all__ = [
    "ROW_COLUMNS",
    "SORT_VALUES",
    "ChronicFilter",
    "QueueFilter",
    "QueueOrder",
    "QueueSort",
    "ahead_of",
    "days_on_queue",
    "decode_queue_cursor",
    "encode_queue_cursor",
    "entry_statement",
    "filter_clauses",
    "list_statement",
    "sort_keys",
    "with_rank",
]
