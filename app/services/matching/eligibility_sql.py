"""The SQL of eligibility (DOMAIN 9): each requirement as a predicate over the queue entry's
household facts and the head of household's records, the candidate page and the one-entry
explanation row.

**Built once per shape.** A statement depends on the requirements' kinds and polarities (and
whether a cursor is given), never on their values: the values (CoC, project, today, areas,
bounds, the cursor, the limit) are bound parameters given at execution. So a statement is
built once per shape (``lru_cache``) and SQLAlchemy's compiled cache serves every request of
the shape: a request pays for neither building nor compiling.

**Plans that hold when prepared.** asyncpg prepares each statement per connection, and after
five runs PostgreSQL may keep a generic plan, made without the parameters' values. Fixed codes
(match statuses, ``approved``, ``declined``, ``disability``) are therefore written into the SQL,
not bound: a generic plan can then prove the partial indexes' predicates
(``uq_matches_one_active_per_entry``, ``ix_matches_declined_pair``) and probe them per
candidate instead of scanning every match. An area tie is a plain ``EXISTS`` (it is never
NULL, so it needs no ``coalesce``): PostgreSQL then plans a semi join probing the head's ties
(``ix_area_ties_client_id``) for the few entries it walks, where ``coalesce(EXISTS ...)``
made it hash every tie of the area on each request.

**Run as the driver runs them.** The service runs these statements compiled once per shape
and dialect (``driver_sql``: the SQL exactly as SQLAlchemy compiles it, with where each
positional argument comes from) on the session's connection (``exec_driver_sql``), as the
queue's list does (``listing.list_driver_query``): building the ORM execution of a statement
costs more than PostgreSQL takes to run these. Every table they read is confined to the CoC by
the statement itself, so they need no ORM scope (``app.models.scoping``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    Text,
    Uuid,
    and_,
    any_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
    true,
    tuple_,
)

from app.models import Client, Project
from app.models.area_ties import AreaTie
from app.models.ce_records import HousingNeedsAssessment, IncomeBenefits
from app.models.matching import Match, ProjectMatchingProfile, ProjectRequirement, Unit
from app.models.queue import QueueEntry, QueueSettings
from app.models.scoping import ALL_COCS
from app.reference.matching import (
    ACTIVE_MATCH_STATUSES,
    PEOPLE_PER_BEDROOM,
    MatchStatus,
    Polarity,
    RequirementKind,
)
from app.reference.queue import IntakeStatus
from app.services.clients.access import VisibilityShape, bound_visible_clients_filter
from app.services.platform import audit
from app.services.queue.listing import ahead_of, with_rank
from app.services.queue.referral import still_parked

Q = QueueEntry

_CODE = re.compile(r"^[a-z_]+$")


def code(value: str) -> ColumnElement[str]:
    """A fixed code written into the SQL (never a value from a request)."""
    assert _CODE.match(value), value
    return literal_column(f"'{value}'", String)


_ONE = literal_column("1", Integer)
_ACTIVE = [code(s.value) for s in ACTIVE_MATCH_STATUSES]


@dataclass(frozen=True)
class RuleShape:
    """What of a requirement changes the SQL: its kind, polarity and which bounds it has."""

    kind: RequirementKind
    polarity: Polarity
    has_area: bool = False
    has_min: bool = False
    has_max: bool = False


Shape = tuple[RuleShape, ...]


def _p(name: str, type_: Any) -> BindParameter[Any]:
    return bindparam(name, type_=type_)


def _latest_hna(column: Any) -> Any:
    return (
        select(column)
        .where(HousingNeedsAssessment.enrollment_id == Q.head_enrollment_id)
        .order_by(
            HousingNeedsAssessment.assessment_date.desc(), HousingNeedsAssessment.created_at.desc()
        )
        .limit(_ONE)
        .scalar_subquery()
    )


def _latest_income() -> Any:
    return (
        select(IncomeBenefits.total_monthly_income)
        .where(
            IncomeBenefits.enrollment_id == Q.head_enrollment_id,
            IncomeBenefits.total_monthly_income.is_not(None),
        )
        .order_by(IncomeBenefits.information_date.desc(), IncomeBenefits.created_at.desc())
        .limit(_ONE)
        .scalar_subquery()
    )


def _area_tie(i: int, has_area: bool) -> ColumnElement[bool]:
    stmt = select(AreaTie.id).where(AreaTie.client_id == Q.head_client_id)
    if has_area:
        stmt = stmt.where(AreaTie.area == _p(f"area_{i}", AreaTie.area.type))
    return exists(stmt)


def fact(s: RuleShape, i: int) -> tuple[Any, Any]:
    """(the data the ``i``-th rule reads, the predicate that it holds) over ``QueueEntry``; the
    predicate may be NULL when the data is missing (``passes`` treats NULL as not true). Its
    values are the parameters ``rule_params`` names."""
    kind = s.kind
    if kind == RequirementKind.CHRONIC:
        v: Any = or_(Q.chronic_recorded, Q.chronic_documented)
        return v, v
    if kind == RequirementKind.VETERAN:
        return Q.veteran, Q.veteran
    if kind == RequirementKind.FAMILY_WITH_CHILDREN:
        return Q.family_with_children, Q.family_with_children
    if kind == RequirementKind.YOUTH:
        return Q.youth, Q.youth
    if kind == RequirementKind.VERIFIED_DISABILITY:
        v = code("disability") == any_(Q.documents_on_file)
        return v, v
    if kind == RequirementKind.VASH_ELIGIBLE:
        v = _latest_hna(HousingNeedsAssessment.hud_vash_eligible)
        return v, v == _ONE
    if kind == RequirementKind.SEX_OFFENDER_REGISTRY:
        v = _latest_hna(HousingNeedsAssessment.sex_offender_registry)
        return v, v == _ONE
    if kind == RequirementKind.METH_CONVICTION:
        v = _latest_hna(HousingNeedsAssessment.meth_manufacturing_conviction)
        return v, v == _ONE
    if kind == RequirementKind.AREA_TIE:
        v = _area_tie(i, s.has_area)
        return v, v
    size_type = Q.household_size.type
    if kind == RequirementKind.HOUSEHOLD_SIZE:
        conds = []
        if s.has_min:
            conds.append(Q.household_size >= _p(f"min_{i}", size_type))
        if s.has_max:
            conds.append(Q.household_size <= _p(f"max_{i}", size_type))
        return Q.household_size, and_(true(), *conds)
    if kind == RequirementKind.FITS_BEDROOMS:
        return Q.household_size, Q.household_size <= _p(f"people_{i}", size_type)
    if kind == RequirementKind.INCOME_CEILING:
        v = _latest_income()
        return v, v <= _p(f"max_{i}", IncomeBenefits.total_monthly_income.type)
    raise AssertionError(kind)  # pragma: no cover - every kind is handled above


def rule_params(
    i: int, kind: RequirementKind, area: str | None, low: Any, high: Any, bedrooms: int
) -> dict[str, Any]:
    """The values of the ``i``-th rule's parameters in ``fact``."""
    if kind == RequirementKind.AREA_TIE:
        return {f"area_{i}": area} if area is not None else {}
    if kind == RequirementKind.HOUSEHOLD_SIZE:
        out = {}
        if low is not None:
            out[f"min_{i}"] = low
        if high is not None:
            out[f"max_{i}"] = high
        return out
    if kind == RequirementKind.FITS_BEDROOMS:
        return {f"people_{i}": PEOPLE_PER_BEDROOM * max(bedrooms, 1)}
    if kind == RequirementKind.INCOME_CEILING:
        return {f"max_{i}": high}
    return {}


def passes(s: RuleShape, i: int) -> ColumnElement[bool]:
    """True exactly when the requirement is met (missing data: a ``must`` fails, a
    ``must_not`` passes)."""
    _, predicate = fact(s, i)
    # EXISTS is never NULL: left bare, it stays a semi (anti) join (see the module).
    exists_only = s.kind == RequirementKind.AREA_TIE
    held = predicate if exists_only else func.coalesce(predicate, false())
    return held if s.polarity == Polarity.MUST else not_(held)


def _in_active_match() -> ColumnElement[bool]:
    return exists(select(Match.id).where(Match.queue_entry_id == Q.id, Match.status.in_(_ACTIVE)))


def _declined_by_project() -> ColumnElement[bool]:
    return exists(
        select(Match.id).where(
            Match.project_id == _p("project_id", Uuid),
            Match.head_client_id == Q.head_client_id,
            Match.status == code(MatchStatus.DECLINED.value),
        )
    )


def _target(with_stale: bool, client: VisibilityShape | None = None) -> Select[Any]:
    r = ProjectRequirement
    # Plain columns, no ORM instances: a request reads these few values once.
    columns: list[Any] = [
        Unit.id.label("unit_id"),
        Unit.coc_id,
        Unit.bedrooms,
        Project.id.label("project_id"),
        Project.funding_source,
        ProjectMatchingProfile.funding_sources,
        r.id,
        r.kind,
        r.polarity,
        r.area,
        r.min_value,
        r.max_value,
    ]
    if with_stale:
        # ``facts.has_stale``'s probe, asked in the same statement (not correlated: evaluated
        # once, not per requirement row).
        stale = select(Q.id).where(
            Q.coc_id == _p("coc_id", Uuid), Q.facts_stale, Q.closed_at.is_(None)
        )
        columns.append(exists(stale).label("facts_stale"))
    if client is not None:
        # ``client_access.visible_client_id``'s read of the client (``client_id``), asked in
        # the same statement: its ``merged_into_id`` and whether the caller may see it (the
        # ``visible_*`` parameters), NULL both when the CoC has no such client (the ORM scope
        # confines the read to the CoC). Not correlated: evaluated once.
        def about_client(column: Any, label: str) -> Any:
            found = select(column).where(
                Client.id == _p("client_id", Uuid), Client.coc_id == _p("coc_id", Uuid)
            )
            return found.scalar_subquery().label(label)

        columns.append(about_client(Client.id, "client_found"))
        columns.append(about_client(Client.merged_into_id, "client_merged_into_id"))
        columns.append(about_client(bound_visible_clients_filter(client), "client_visible"))
    # It names the CoC itself (the unit; its project, profile and requirements are the unit's)
    # and is exempt from the request's automatic scope (one more option to apply per request).
    return (
        select(*columns)
        .join(Project, Project.id == Unit.project_id)
        .outerjoin(ProjectMatchingProfile, ProjectMatchingProfile.project_id == Project.id)
        .outerjoin(r, r.project_id == Project.id)
        .where(Unit.id == _p("unit_id", Uuid), Unit.coc_id == _p("coc_id", Uuid))
        .order_by(r.position, r.id)
        .execution_options(**ALL_COCS)
    )


# A unit of the CoC (``unit_id``, ``coc_id``), its project, the project's matching profile's
# funding sources and its requirements in order (``inventory.requirements_of``): one row per
# requirement, or one row with none; no row for a unit of another CoC.
TARGET = _target(False)
# The same, plus ``facts_stale``: whether the CoC has open entries whose facts are stale (what
# a read of candidates asks before ranking them).
TARGET_WITH_STALE = _target(True)


@lru_cache(maxsize=8)
def target_with_client(visibility: VisibilityShape) -> Select[Any]:
    """``TARGET`` plus ``client_found``, ``client_merged_into_id`` and ``client_visible``:
    the client ``client_id`` of the CoC as ``client_access.visible_client_id`` reads it, for
    a caller of ``visibility`` (its parameters: ``client_access.visibility_values``)."""
    return _target(False, visibility)


def _candidate_columns() -> list[Any]:
    """The columns of a candidate (what the answer and the queue's ``priority`` read)."""
    return [
        Q.id,
        Q.priority_key,
        Q.head_client_id,
        Q.household_id,
        Q.score,
        Q.chronic_recorded,
        Q.chronic_documented,
        Q.days_homeless_3y,
        Q.placed_on,
        Q.veteran,
        Q.family_with_children,
        Q.youth,
        Q.household_size,
        Q.tie_breaker,
        # As text: the same on every row, parsed once per page (a ``jsonb`` column would be
        # decoded on each row by the driver).
        cast(QueueSettings.scheme, Text).label("scheme"),
    ]


@lru_cache(maxsize=256)
def candidate_page(shape: Shape, cursor: bool) -> Select[Any]:
    """Candidates of a unit in rank order: open ``approved`` entries of the CoC (``coc_id``)
    meeting every requirement, not parked on ``today``, in no active match, never declined by
    the project (``project_id``); ``limit_plus_one`` rows after the cursor's
    ``(after_key, after_id)``, each with its ``rank`` counted by the queue
    (``listing.with_rank``). Parameters: those plus ``rule_params``."""
    coc = _p("coc_id", Uuid)
    where: list[ColumnElement[bool]] = [
        Q.coc_id == coc,
        Q.closed_at.is_(None),
        Q.intake_status == code(IntakeStatus.APPROVED.value),
        *[passes(s, i) for i, s in enumerate(shape)],
        ~still_parked(_p("today", Date)),  # type: ignore[arg-type]
        ~_in_active_match(),
        ~_declined_by_project(),
    ]
    if cursor:
        after = tuple_(_p("after_key", Q.priority_key.type), _p("after_id", Uuid))
        where.append(tuple_(Q.priority_key, Q.id) > after)
    page = (
        select(*_candidate_columns())
        .join(QueueSettings, QueueSettings.coc_id == Q.coc_id)
        .where(*where)
        .order_by(Q.priority_key, Q.id)
        .limit(_p("limit_plus_one", Integer))
        .subquery("page")
    )
    # ``with_rank`` takes the CoC as a value; a bound parameter keeps the statement shared.
    ranked = with_rank(page, coc)  # type: ignore[arg-type]
    c = ranked.selected_columns
    # It names the CoC itself (the entries, their settings, the rank); the request's automatic
    # scope would add it to every correlated subquery too, and those extra predicates lead
    # PostgreSQL to a plan 100 times slower at 100,000 entries (from the area ties, not the
    # rank order).
    return ranked.order_by(c.priority_key, c.id).execution_options(**ALL_COCS)


@lru_cache(maxsize=256)
def entry_row(shape: Shape, by_head: bool) -> Select[Any]:
    """One entry of the CoC (``coc_id``) as the explanation reads it: the open entry headed by
    ``client_id`` (``by_head``), else the entry ``entry_id``. For each rule ``value_i`` (the
    data, as text) and ``passed_i``; whether its facts are stale, its intake and referral
    status, its rank (the queue's count of the entries ahead, plus one; null when closed), its
    active match and whether the project (``project_id``) declined its head before.
    Parameters: those plus ``rule_params``."""
    columns: list[Any] = []
    for i, s in enumerate(shape):
        value, _ = fact(s, i)
        columns.append(cast(value, String).label(f"value_{i}"))
        columns.append(passes(s, i).label(f"passed_{i}"))
    ahead = ahead_of(Q.coc_id, Q.priority_key, Q.id).scalar_subquery()  # type: ignore[arg-type]
    active = (
        select(Match.id)
        .where(Match.queue_entry_id == Q.id, Match.status.in_(_ACTIVE))
        .limit(_ONE)
        .scalar_subquery()
    )
    stmt = select(
        *columns,
        Q.id,
        Q.facts_stale,
        Q.head_client_id,
        Q.intake_status,
        Q.referral_status,
        Q.parked_until,
        case((Q.closed_at.is_(None), ahead + 1), else_=None).label("rank"),
        active.label("active_match_id"),
        _declined_by_project().label("declined"),
    )
    # It names the CoC itself (the entry; the rest is read through the entry's own keys) and
    # is exempt from the request's automatic scope, whose predicates on every correlated
    # subquery would double the cost of running it.
    stmt = stmt.where(Q.coc_id == _p("coc_id", Uuid)).execution_options(**ALL_COCS)
    if by_head:
        return stmt.where(Q.head_client_id == _p("client_id", Uuid), Q.closed_at.is_(None)).limit(
            _ONE
        )
    return stmt.where(Q.id == _p("entry_id", Uuid))


# The prefix of the explanation's read event's parameters (``entry_row_recorded``).
READ = "read_"


@lru_cache(maxsize=256)
def entry_row_recorded(shape: Shape) -> Select[Any]:
    """``entry_row(shape, True)`` writing the explanation's PII read event in the same
    statement (``audit.read_event(READ)``, an INSERT in a ``WITH``: run once, whatever the
    read finds). Parameters: ``entry_row``'s plus ``audit.read_event_values(READ, ...)``."""
    return entry_row(shape, True).add_cte(audit.read_event(READ))


@lru_cache(maxsize=256)
def entry_passes(shape: Shape) -> Select[Any]:
    """``passed_i`` of each rule for one entry (``entry_id``)."""
    columns: list[Any] = [passes(s, i).label(f"passed_{i}") for i, s in enumerate(shape)]
    return select(*columns).where(Q.id == _p("entry_id", Uuid))


# --- as the driver runs them ---------------------------------------------------------------------


@dataclass(frozen=True)
class DriverSql:
    """A statement compiled for the driver: its SQL, and where each of its positional
    arguments comes from (a value of the request by its name, or a constant of the statement,
    such as the ``1`` of ``rank + 1``)."""

    sql: str
    sources: tuple[tuple[bool, Any], ...]  # (True, name) | (False, constant)

    def args(self, values: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(values[ref] if named else ref for named, ref in self.sources)


# Compiled once per statement and dialect: a statement is one of a few per requirement shape
# (``candidate_page``, ``entry_row``, the targets), a handful in practice. Bounded all the
# same: a full cache is emptied and refills.
_DRIVER_SQL: dict[tuple[str, Any], DriverSql] = {}
DRIVER_SQL_LIMIT = 512


def driver_sql(dialect: Any, stmt: Select[Any], values: dict[str, Any]) -> DriverSql:
    """``stmt`` (one of this module's statements, built once: the cache holds it by identity)
    compiled for ``dialect`` as the driver runs it; ``values`` names its parameters (any
    request's: only their names are read)."""
    key = (dialect.name, stmt)
    found = _DRIVER_SQL.get(key)
    if found is None:
        compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        sources = []
        for name in compiled.positiontup or ():
            if name in values:
                sources.append((True, name))
            elif compiled.binds[name].required:  # a parameter the caller forgot to name
                raise KeyError(name)
            else:
                sources.append((False, compiled.params[name]))
        found = DriverSql(str(compiled), tuple(sources))
        if len(_DRIVER_SQL) >= DRIVER_SQL_LIMIT:  # never grows without bound
            _DRIVER_SQL.clear()
        _DRIVER_SQL[key] = found
    return found


def page_params(
    coc_id: uuid.UUID,
    project_id: uuid.UUID,
    today: date,
    limit: int,
    after: tuple[list[int], uuid.UUID] | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "coc_id": coc_id,
        "project_id": project_id,
        "today": today,
        "limit_plus_one": limit + 1,
    }
    if after is not None:
        out["after_key"], out["after_id"] = after
    return out
