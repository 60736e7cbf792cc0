"""The queue's list as one SQL statement: filters, sorts, keyset pagination and rank (DOMAIN 7).

Reusable by every list of queue entries (the queue itself, caseloads, exports, the benchmark):

* ``QueueFilter`` -- what to keep (every filter of the issue; values already checked against
  their vocabularies, see ``check_filter`` for the ones the database must confirm);
* ``QueueOrder`` -- one of ``QueueSort`` ascending, or exactly reversed (``-score``);
* ``list_statement(coc_id, filter, order, after, limit, now, today)`` -- the SELECT for one
  page (rows of ``ROW_COLUMNS`` plus ``rank``), ``limit + 1`` rows so the caller knows there
  is more;
* ``encode_queue_cursor`` / ``decode_queue_cursor`` -- the opaque cursor, bound to its order (a
  cursor from another order is a 422).

**Orders.** Each sort is a tuple of columns ending with rank order ``(priority_key, id)`` (the
client id sort: ``(head_client_id, id)``), so ties are listed in rank order; each tuple is an
index of ``queue_entries`` (open entries of one CoC), scanned forwards or backwards: ``-x`` is
exactly the reverse of ``x``. Keyset: the row comparison ``(cols) > (cursor values)`` is an
index range condition, so page 100 costs what page 1 does.

**Rank** is the entry's position by ``(priority_key, id)`` among its CoC's open entries, every
intake status included (1 = first). It is counted in the same statement: the page's rows in
rank order, and for each the entries strictly between it and the previous one (an index-only
range count of ``ix_queue_entries_rank``); rank = the rows before it on the page + the running
sum + 1. The whole count scans the index up to the page's last-ranked row, never the table. In
rank order (ascending) the cursor carries its row's rank too, and the next page counts from the
cursor's row (``after_rank``): deep pages of a sparse filter cost their own stretch of the
queue, not everything before them.

**Cost of building.** ``list_query`` returns a statement built once per shape (``FilterShape``,
the order, cursor or not) with bound parameters, plus the values: SQLAlchemy's compiled cache
then serves every request of the shape. ``list_statement`` builds the same SQL with the values
bound in it (to compile for a raw baseline). The queue's list runs ``list_driver_query``:
``list_statement`` compiled once per shape (and number of listed values) as the driver sends
it, only the request's values bound, on the session's connection. Every table the statement
reads is confined to the CoC by the statement itself (``coc_id`` named for each), so it needs
no ORM scope (``app.models.scoping``).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Select,
    String,
    Subquery,
    Text,
    Uuid,
    and_,
    bindparam,
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
from app.models.scoping import ALL_COCS
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


def _sort_columns(sort: QueueSort, today: Any) -> tuple[Any, ...]:
    """The columns of ``sort``; the referral status as of ``today`` (the CoC's date: a park
    that reached its date reads ``none``)."""
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
        .where(
            ca.enrollment_id == q.head_enrollment_id,
            ca.coc_id == q.coc_id,  # the CoC named (statements run without the ORM scope)
            ca.status == "active",
        )
        .scalar_subquery()
    )
    return type_coerce(rows, JSONB)


# What each row of the statement holds (plus ``rank``); the list's rows carry the scheme as
# its JSON text (``scheme_text``): the same on every row, decoded once per page, not per row.
def _row_columns(today: Any, *, scheme_text: bool = False) -> list[Any]:
    scheme = cast(QueueSettings.scheme, Text) if scheme_text else QueueSettings.scheme
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
        scheme.label("scheme"),
        QueueSettings.score_tool.label("score_tool"),
        _case_managers().label("case_managers"),
    ]


ROW_COLUMNS: tuple[str, ...] = (*(str(c.key) for c in _row_columns(date.min)), "rank")


# --- filters ------------------------------------------------------------------------------


class _Binder:
    """Bound parameters of the statement: with values (a statement of its own), or without
    (a template built once per shape, the values given at execution)."""

    def __init__(self, values: dict[str, Any] | None) -> None:
        self.values = values

    def __call__(self, name: str, type_: Any, *, expanding: bool = False) -> Any:
        if self.values is None:
            return bindparam(name, type_=type_, expanding=expanding)
        return bindparam(name, self.values[name], type_=type_, expanding=expanding)


@dataclass(frozen=True)
class FilterShape:
    """Which filters are set (and the values that change the SQL itself): one template per
    shape."""

    statuses: bool
    client_id: bool
    name: tuple[bool, ...] | None  # per word: whether it has a sound key
    chronic: ChronicFilter | None
    household_types: bool
    household_size_min: bool
    household_size_max: bool
    referral_statuses: tuple[ReferralStatus, ...]
    case_manager_id: bool
    veteran: bool | None
    score_min: bool
    score_max: bool
    inactive: bool | None
    area: bool
    document_status: DocumentStatus | None


def _name_words(name: str | None) -> list[tuple[str, str | None]]:
    """(prefix pattern, sound key) of each word of a name filter."""
    words = []
    for word in (name or "").split()[:MAX_NAME_TOKENS]:
        norm, meta, _ = name_keys(word)
        if norm is not None:
            words.append((norm + "%", meta))
    return words


def filter_shape(f: QueueFilter) -> FilterShape:
    words = _name_words(f.name)
    return FilterShape(
        statuses=bool(f.statuses),
        client_id=f.client_id is not None,
        name=tuple(meta is not None for _, meta in words) if words else None,
        chronic=f.chronic,
        household_types=bool(f.household_types),
        household_size_min=f.household_size_min is not None,
        household_size_max=f.household_size_max is not None,
        referral_statuses=tuple(sorted(set(f.referral_statuses))),
        case_manager_id=f.case_manager_id is not None,
        veteran=f.veteran,
        score_min=f.score_min is not None,
        score_max=f.score_max is not None,
        inactive=f.inactive,
        area=f.area is not None,
        document_status=f.document_status,
    )


def filter_params(coc_id: uuid.UUID, f: QueueFilter, now: datetime, today: date) -> dict[str, Any]:
    """The values of the filters' parameters (names as in the template)."""
    values: dict[str, Any] = {
        "coc_id": coc_id,
        "statuses": [s.value for s in f.statuses],
        "client_id": f.client_id,
        "household_types": [t.value for t in f.household_types],
        "household_size_min": f.household_size_min,
        "household_size_max": f.household_size_max,
        "today": today,
        "case_manager_id": f.case_manager_id,
        "score_min": f.score_min,
        "score_max": f.score_max,
        "inactive_since": now - timedelta(days=INACTIVE_AFTER_DAYS),
        "area": f.area,
    }
    for i, (prefix, meta) in enumerate(_name_words(f.name)):
        values[f"name_prefix_{i}"] = prefix
        values[f"name_key_{i}"] = meta
    return values


def _where(shape: FilterShape, p: _Binder) -> list[Any]:
    """The WHERE clauses of a filter shape (``queue_entries`` as ``q``; the name filter reads
    ``clients``, joined on the head)."""
    where: list[Any] = [q.coc_id == p("coc_id", Uuid), q.closed_at.is_(None)]
    if shape.statuses:
        where.append(q.intake_status.in_(p("statuses", String, expanding=True)))
    if shape.client_id:
        where.append(
            q.head_enrollment_id.in_(
                select(Enrollment.household_group_id).where(
                    Enrollment.client_id == p("client_id", Uuid),
                    Enrollment.coc_id == q.coc_id,
                    Enrollment.is_coordinated_entry,
                    Enrollment.voided_at.is_(None),
                )
            )
        )
    for i, has_key in enumerate(shape.name or ()):
        prefix = p(f"name_prefix_{i}", String)
        options: list[Any] = [
            Client.first_name_norm.like(prefix),
            Client.last_name_norm.like(prefix),
        ]
        if has_key:
            key = p(f"name_key_{i}", String)
            options += [Client.first_name_key == key, Client.last_name_key == key]
        where.append(or_(*options))
    if shape.chronic is not None:
        where.append(
            {
                ChronicFilter.YES: or_(q.chronic_recorded, q.chronic_documented),
                ChronicFilter.NO: and_(~q.chronic_recorded, ~q.chronic_documented),
                ChronicFilter.RECORDED: q.chronic_recorded,
                ChronicFilter.DOCUMENTED: q.chronic_documented,
            }[shape.chronic]
        )
    if shape.household_types:
        where.append(q.household_type.in_(p("household_types", String, expanding=True)))
    if shape.household_size_min:
        where.append(q.household_size >= p("household_size_min", Integer))
    if shape.household_size_max:
        where.append(q.household_size <= p("household_size_max", Integer))
    if shape.referral_statuses:
        where.append(referral_status_in(shape.referral_statuses, p("today", Date)))
    if shape.case_manager_id:
        where.append(
            exists().where(
                CaseAssignment.enrollment_id == q.head_enrollment_id,
                CaseAssignment.coc_id == q.coc_id,
                CaseAssignment.user_id == p("case_manager_id", Uuid),
                CaseAssignment.status == "active",
            )
        )
    if shape.veteran is not None:
        where.append(q.veteran.is_(true()) if shape.veteran else q.veteran.is_(false()))
    if shape.score_min:
        where.append(q.score >= p("score_min", Integer))
    if shape.score_max:
        where.append(q.score <= p("score_max", Integer))
    if shape.inactive is not None:
        since = p("inactive_since", DateTime(timezone=True))
        inactive = or_(q.last_activity_at.is_(None), q.last_activity_at < since)
        where.append(inactive if shape.inactive else ~inactive)
    if shape.area:
        where.append(
            exists().where(
                AreaTie.client_id == q.head_client_id,
                AreaTie.coc_id == q.coc_id,
                AreaTie.area == p("area", String),
            )
        )
    if shape.document_status is not None:
        every = cast(literal_column(_EVERY_ITEM), ARRAY(String))
        where.append(
            {
                DocumentStatus.COMPLETE: q.documents_on_file.contains(every),
                DocumentStatus.NONE: func.cardinality(q.documents_on_file) == 0,
                DocumentStatus.INCOMPLETE: and_(
                    func.cardinality(q.documents_on_file) > 0,
                    ~q.documents_on_file.contains(every),
                ),
            }[shape.document_status]
        )
    return where


_EVERY_ITEM = "ARRAY[" + ", ".join(f"'{i}'" for i in CHECKLIST_ITEMS) + "]"


def filter_clauses(coc_id: uuid.UUID, f: QueueFilter, now: datetime, today: date) -> list[Any]:
    """The WHERE clauses of ``f`` on open entries of the CoC (``queue_entries`` as ``q``, with
    its values bound), for a query of your own (caseloads, exports). The name filter reads
    ``clients``: join it on ``q.head_client_id``."""
    return _where(filter_shape(f), _Binder(filter_params(coc_id, f, now, today)))


# --- the statement --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    filters: FilterShape
    order: QueueOrder
    cursor: bool
    # The cursor carries the rank of its row: count from there (rank order, ascending).
    cursor_rank: bool


def _narrow(columns: Sequence[Any]) -> list[Any]:
    """The columns carried through the page and rank subqueries: the id, the priority key and
    the sort's columns."""
    keys = {"id": q.id, "priority_key": q.priority_key}
    for c in columns:
        keys.setdefault(str(c.key), c)
    return list(keys.values())


@lru_cache(maxsize=512)
def _template(shape: _Shape) -> Select[Any]:
    """The page statement of a shape, with bound parameters only (built once; SQLAlchemy's
    compiled cache then serves every request of the shape)."""
    return _build(shape, _Binder(None))


def _build(shape: _Shape, p: _Binder) -> Select[Any]:
    order = shape.order
    today = p("today", Date)
    columns = _sort_columns(order.sort, today)
    where = _where(shape.filters, p)
    if shape.cursor:
        right = tuple_(*[p(f"after_{i}", c.type) for i, c in enumerate(columns)])
        where.append(tuple_(*columns) < right if order.descending else tuple_(*columns) > right)
    page_q = select(*_narrow(columns)).select_from(q)
    if shape.filters.name is not None:
        page_q = page_q.join(Client, and_(Client.id == q.head_client_id, Client.coc_id == q.coc_id))
    limit = p("limit_plus_one", Integer)
    page = (
        page_q.where(*where)
        .order_by(*[c.desc() if order.descending else c.asc() for c in columns])
        .limit(limit)
        .subquery("page")
    )
    in_rank_order = (page.c.priority_key, page.c.id)
    if shape.cursor_rank:
        first_key, first_id = p("after_0", ARRAY(Integer)), p("after_1", Uuid)
    else:
        first_key, first_id = EMPTY_KEY, literal(ZERO_UUID, Uuid)
    with_previous = select(
        page,
        type_coerce(
            func.lag(page.c.priority_key, 1, first_key).over(order_by=in_rank_order),
            ARRAY(Integer),
        ).label("previous_key"),
        type_coerce(func.lag(page.c.id, 1, first_id).over(order_by=in_rank_order), Uuid).label(
            "previous_id"
        ),
    ).subquery("with_previous")
    w = with_previous.c
    x = aliased(QueueEntry, name="ahead")
    # Open entries strictly between the previous page row (or the cursor's row) and this one.
    between = (
        select(func.count())
        .select_from(x)
        .where(
            x.coc_id == p("coc_id", Uuid),
            x.closed_at.is_(None),
            tuple_(x.priority_key, x.id) < tuple_(w.priority_key, w.id),
            tuple_(x.priority_key, x.id) > tuple_(w.previous_key, w.previous_id),
        )
        .scalar_subquery()
    )
    carried = [w[str(c.key)] for c in _narrow(columns)]
    counted = select(*carried, between.label("between")).subquery("counted")
    c = counted.c
    by_rank = (c.priority_key, c.id)
    base = p("after_rank", Integer) if shape.cursor_rank else literal(0, Integer)
    rank = cast(
        base
        + func.row_number().over(order_by=by_rank)
        + func.sum(c.between).over(order_by=by_rank),
        Integer,
    ).label("rank")
    ordered = [c[str(col.key)] for col in columns]
    return (
        select(*_row_columns(today, scheme_text=True), rank)
        .select_from(counted)
        .join(q, and_(q.id == c.id, q.coc_id == p("coc_id", Uuid)))
        .join(Client, and_(Client.id == q.head_client_id, Client.coc_id == q.coc_id))
        .join(QueueSettings, QueueSettings.coc_id == q.coc_id)
        .order_by(*[o.desc() if order.descending else o.asc() for o in ordered])
        # Every table read is confined to the CoC by the statement itself.
        .execution_options(**ALL_COCS)
    )


def list_query(
    coc_id: uuid.UUID,
    f: QueueFilter,
    order: QueueOrder,
    after: Sequence[Any] | None,
    limit: int,
    now: datetime,
    today: date,
    *,
    after_rank: int | None = None,
) -> tuple[Select[Any], dict[str, Any]]:
    """One page of the CoC's open entries kept by ``f`` in ``order``, after the cursor's
    values ``after`` (and its row's rank ``after_rank``, rank order only): the statement
    (shared by every request of the same shape) and its parameters. Run it as
    ``session.execute(stmt, params)``: ``limit + 1`` rows of ``ROW_COLUMNS`` (the last only
    says there is more), each with its ``rank``."""
    shape, params = _shape_and_params(coc_id, f, order, after, limit, now, today, after_rank)
    return _template(shape), params


def _shape_and_params(
    coc_id: uuid.UUID,
    f: QueueFilter,
    order: QueueOrder,
    after: Sequence[Any] | None,
    limit: int,
    now: datetime,
    today: date,
    after_rank: int | None,
) -> tuple[_Shape, dict[str, Any]]:
    cursor_rank = (
        after is not None
        and after_rank is not None
        and order == QueueOrder(QueueSort.RANK, descending=False)
    )
    shape = _Shape(filter_shape(f), order, after is not None, cursor_rank)
    params = filter_params(coc_id, f, now, today)
    params["limit_plus_one"] = limit + 1
    for i, v in enumerate(after or ()):
        params[f"after_{i}"] = v
    if cursor_rank:
        params["after_rank"] = after_rank
    return shape, params


def list_statement(
    coc_id: uuid.UUID,
    f: QueueFilter,
    order: QueueOrder,
    after: Sequence[Any] | None,
    limit: int,
    now: datetime,
    today: date,
    *,
    after_rank: int | None = None,
) -> Select[Any]:
    """``list_query``'s statement with its values bound in it (to compile, e.g. with
    ``render_postcompile``, or run as it is); the same SQL as the shared statement."""
    shape, params = _shape_and_params(coc_id, f, order, after, limit, now, today, after_rank)
    return _build(shape, _Binder(params))


# Filters whose values are lists: ``list_statement`` expands each into one parameter per item
# (``statuses_1``, ``statuses_2``, ...).
_EXPANDED = ("statuses", "household_types")
_ITEM = re.compile(r"^(statuses|household_types)_(\d+)$")


@dataclass(frozen=True)
class _DriverSql:
    """A page statement compiled for the driver: its SQL, and where each of its positional
    parameters comes from (a value of the request, an item of a list, or a constant of the
    statement's shape)."""

    sql: str
    sources: tuple[tuple[str, Any], ...]  # ("value", name) | ("item", (name, i)) | ("const", v)

    def args(self, values: dict[str, Any]) -> tuple[Any, ...]:
        out = []
        for kind, ref in self.sources:
            if kind == "value":
                out.append(values[ref])
            elif kind == "item":
                out.append(values[ref[0]][ref[1]])
            else:
                out.append(ref)
        return tuple(out)


# Compiled once per shape and list lengths (a handful in practice).
_DRIVER_SQL: dict[tuple[Any, ...], _DriverSql] = {}
_DRIVER_SQL_LIMIT = 1024


def list_driver_query(
    dialect: Any,
    coc_id: uuid.UUID,
    f: QueueFilter,
    order: QueueOrder,
    after: Sequence[Any] | None,
    limit: int,
    now: datetime,
    today: date,
    *,
    after_rank: int | None = None,
) -> tuple[str, tuple[Any, ...]]:
    """``list_query`` as the driver runs it: ``list_statement``'s SQL (compiled once per shape
    and number of listed values, exactly as ``list_statement`` compiles with
    ``render_postcompile``) and this request's arguments. Building and compiling the
    statement, and SQLAlchemy's execution of it, cost more than PostgreSQL takes to run it.
    The statement names the CoC for every table it reads: run it on the session's connection
    (rows of ``ROW_COLUMNS``, as ``list_query``'s)."""
    shape, params = _shape_and_params(coc_id, f, order, after, limit, now, today, after_rank)
    key = (dialect.name, shape, *(len(params[name]) for name in _EXPANDED))
    driver = _DRIVER_SQL.get(key)
    if driver is None:
        compiled = _build(shape, _Binder(params)).compile(
            dialect=dialect, compile_kwargs={"render_postcompile": True}
        )
        sources: list[tuple[str, Any]] = []
        for name in compiled.positiontup or ():
            item = _ITEM.match(name)
            if name in params:
                sources.append(("value", name))
            elif item is not None:
                sources.append(("item", (item.group(1), int(item.group(2)) - 1)))
            else:  # a literal of the shape (an offset, a list of the referral filter)
                sources.append(("const", compiled.params[name]))
        driver = _DriverSql(str(compiled), tuple(sources))
        if len(_DRIVER_SQL) >= _DRIVER_SQL_LIMIT:  # never grows without bound
            _DRIVER_SQL.clear()
        _DRIVER_SQL[key] = driver
    return driver.sql, driver.args(params)


def with_rank(page: Subquery, coc_id: uuid.UUID) -> Select[Any]:
    """Every column of ``page`` (open entries of the CoC: a subquery with at least their
    ``priority_key`` and ``id``, in any order, typically one page cut by ``LIMIT``) plus
    ``rank``, their position among all the CoC's open entries by ``(priority_key, id)``; no
    ORDER BY (the caller orders by ``selected_columns``). How matching's candidate search
    ranks its page.

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
    if isinstance(priority_key, (list, tuple)):
        # A value (a loaded entry's key), not a column: an ORM attribute is indexable, so it
        # must never be turned into a list.
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


_RANK_ORDER = QueueOrder(QueueSort.RANK, descending=False)


def encode_queue_cursor(order: QueueOrder, row: Any) -> str:
    """The cursor after ``row`` (a row of ``list_statement``) in ``order``; in rank order it
    also carries the row's rank, so the next page counts ranks from there."""
    values: list[Any] = [order.token]
    for name in sort_keys(order):
        v = getattr(row, name)
        values.append(str(v) if isinstance(v, uuid.UUID) else v)
    if order == _RANK_ORDER:
        values.append(row.rank)
    raw = json.dumps(values, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _bad_cursor(msg: str = "invalid cursor") -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not valid for this list."
        if msg == "invalid cursor"
        else "The cursor belongs to another sort order: start again without it.",
        errors=[{"loc": ["query", "cursor"], "msg": msg, "type": "value_error"}],
    )


def decode_queue_cursor_with_rank(cursor: str, order: QueueOrder) -> tuple[list[Any], int | None]:
    """The sort values a cursor holds and, in rank order, its row's rank; 422 when it is not
    one of ours, or was made for another order."""
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
    rank: int | None = None
    if order == _RANK_ORDER:
        if len(values) != len(names) + 2:
            raise _bad_cursor()
        rank = values.pop()
        if not isinstance(rank, int) or isinstance(rank, bool) or not 1 <= rank < 2**31:
            raise _bad_cursor()
    if len(values) != len(names) + 1:
        raise _bad_cursor()
    return [_checked(name, v) for name, v in zip(names, values[1:], strict=True)], rank


def decode_queue_cursor(cursor: str, order: QueueOrder) -> list[Any]:
    """The sort values a cursor holds (see ``decode_queue_cursor_with_rank``)."""
    return decode_queue_cursor_with_rank(cursor, order)[0]


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
    "decode_queue_cursor_with_rank",
    "encode_queue_cursor",
    "entry_statement",
    "filter_clauses",
    "filter_params",
    "filter_shape",
    "list_driver_query",
    "list_query",
    "list_statement",
    "sort_keys",
    "with_rank",
]
