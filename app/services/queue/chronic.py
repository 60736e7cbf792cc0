"""Chronic homelessness of clients, from recorded data and from Document Check (DOMAIN 7).

``chronic_status`` (one client) and ``chronic_statuses`` (many, e.g. a page of the queue) load
what they need in five queries (the clients, the enrollments with their projects and exits, the
current living situations, the disabilities, the Document Check items) and hand them to the
pure rules in ``app.reference.chronic``:

* **recorded**: a disabling condition (3.08 Yes on the client's Coordinated Entry enrollment,
  or a disabling barrier), homeless now (the latest recorded situation), and 12 months by HUD's
  logic over the enrollment's 3.917 answers (holding while no break was recorded since the
  entry) or by the recorded history: stays in emergency shelters and safe havens, the 3.917
  episode (DateToStreetESSH to the entry) and the stay before each entry, every current living
  situation, transitional housing, permanent housing from move-in, exit destinations;
* **documented**: a current (unexpired) verification of disability, homeless now, and 12
  months counted from the periods Document Check items of homelessness show, with the breaks
  the recorded history shows.

No access check and no audit here: the caller has checked the client is visible and records
the read of what it shows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Executable, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.models import Client
from app.models.ce_records import CurrentLivingSituation, Disability
from app.models.documents import DocumentCheck
from app.models.enrollments import Enrollment, Exit
from app.models.organizations import Project
from app.reference.chronic import (
    HOMELESS_PROJECT_TYPES,
    LENGTH_OF_STAY_NIGHTS,
    PERMANENT_HOUSING_PROJECT_TYPES,
    TRANSITIONAL_HOUSING,
    VA_FUNDING_SOURCES,
    ChronicResult,
    ChronicStatus,
    PriorLivingSituation,
    Situation,
    Stay,
    StayKind,
    chronic_at_project_start,
    documented_result,
    homeless_history,
    recorded_result,
    situation_kind,
)
from app.services.ce.barriers import barrier_verdict

__all__ = [
    "ChronicInputs",
    "ChronicResult",
    "ChronicStatus",
    "chronic_status",
    "chronic_statuses",
    "compute_statuses",
    "load_chronic_inputs",
]

INSTITUTION_DISCHARGE = "institution_discharge"
# A result row of one of the queries below (named columns).
_Row = Any
ONE_DAY = timedelta(days=1)


async def chronic_status(session: AsyncSession, client_id: uuid.UUID, today: date) -> ChronicStatus:
    """Both determinations for the client as of ``today`` (the CoC's date). 404 for an unknown
    client id."""
    found = await chronic_statuses(session, [client_id], today)
    if client_id not in found:
        raise NotFound("No such client.")
    return found[client_id]


async def chronic_statuses(
    session: AsyncSession, client_ids: Collection[uuid.UUID], today: date
) -> dict[uuid.UUID, ChronicStatus]:
    """``chronic_status`` for many clients in the same five queries; unknown ids are left
    out. The rules run on a worker thread when there are more than a few clients (they walk
    every night of four years per client: never on the event loop for a batch)."""
    inputs = await load_chronic_inputs(session, client_ids)
    if len(inputs.veterans) > INLINE_CLIENTS:
        return await asyncio.to_thread(compute_statuses, inputs, today)
    return compute_statuses(inputs, today)


# Up to this many clients are computed on the event loop (a detail view, a small household).
INLINE_CLIENTS = 8


@dataclass(frozen=True)
class ChronicInputs:
    """What the rules read, per client (rows of the five queries)."""

    veterans: dict[uuid.UUID, int]
    enrollments: dict[uuid.UUID, list[_Row]]
    situations: dict[uuid.UUID, list[_Row]]
    disabilities: dict[uuid.UUID, list[_Row]]
    documents: dict[uuid.UUID, list[_Row]]


async def load_chronic_inputs(
    session: AsyncSession, client_ids: Collection[uuid.UUID]
) -> ChronicInputs:
    """The five queries behind ``chronic_statuses``."""
    ids = list(set(client_ids))
    if not ids:
        return ChronicInputs({}, {}, {}, {}, {})
    veterans = dict(
        (await session.execute(select(Client.id, Client.veteran_status).where(Client.id.in_(ids))))
        .tuples()
        .all()
    )
    enrollments = await _by_client(
        session,
        select(
            Enrollment.client_id,
            Enrollment.entry_date,
            Enrollment.exit_date,
            Enrollment.move_in_date,
            Enrollment.is_coordinated_entry,
            Enrollment.disabling_condition,
            Enrollment.living_situation,
            Enrollment.length_of_stay,
            Enrollment.los_under_threshold,
            Enrollment.previous_street_essh,
            Enrollment.date_to_street_essh,
            Enrollment.times_homeless_past_three_years,
            Enrollment.months_homeless_past_three_years,
            Project.project_type,
            Project.funding_source,
            Exit.destination,
        )
        .join(Project, Project.id == Enrollment.project_id)
        .outerjoin(Exit, Exit.enrollment_id == Enrollment.id)
        # An intake recorded in error (voided) is evidence of nothing.
        .where(Enrollment.client_id.in_(ids), Enrollment.voided_at.is_(None))
        .order_by(Enrollment.entry_date, Enrollment.created_at),
    )
    situations = await _by_client(
        session,
        select(
            CurrentLivingSituation.client_id,
            CurrentLivingSituation.information_date,
            CurrentLivingSituation.current_living_situation,
        )
        .join(Enrollment, Enrollment.id == CurrentLivingSituation.enrollment_id)
        .where(CurrentLivingSituation.client_id.in_(ids), Enrollment.voided_at.is_(None))
        .order_by(CurrentLivingSituation.information_date, CurrentLivingSituation.created_at),
    )
    disabilities = await _by_client(
        session,
        select(
            Disability.client_id,
            Disability.disability_type,
            Disability.disability_response,
            Disability.indefinite_and_impairs,
        )
        .join(Enrollment, Enrollment.id == Disability.enrollment_id)
        .where(Disability.client_id.in_(ids), Enrollment.voided_at.is_(None))
        .order_by(Disability.information_date, Disability.created_at),
    )
    documents = await _by_client(
        session,
        select(
            DocumentCheck.client_id,
            DocumentCheck.category,
            DocumentCheck.item,
            DocumentCheck.document_type,
            DocumentCheck.expiration_date,
            DocumentCheck.period_start,
            DocumentCheck.period_end,
        ).where(DocumentCheck.client_id.in_(ids), DocumentCheck.deleted_at.is_(None)),
    )
    return ChronicInputs(veterans, enrollments, situations, disabilities, documents)


def compute_statuses(inputs: ChronicInputs, today: date) -> dict[uuid.UUID, ChronicStatus]:
    """The rules over loaded inputs (pure; safe on a worker thread)."""
    return {
        client_id: _status(
            veteran == 1,
            inputs.enrollments.get(client_id, []),
            inputs.situations.get(client_id, []),
            inputs.disabilities.get(client_id, []),
            inputs.documents.get(client_id, []),
            today,
        )
        for client_id, veteran in inputs.veterans.items()
    }


async def _by_client(session: AsyncSession, stmt: Executable) -> dict[uuid.UUID, list[_Row]]:
    """The rows of ``stmt`` (its first column the client id) grouped by client, in order."""
    out: dict[uuid.UUID, list[_Row]] = {}
    for row in await session.execute(stmt):
        out.setdefault(row[0], []).append(row)
    return out


def _status(
    veteran: bool,
    enrollments: Sequence[_Row],
    situations: Sequence[_Row],
    disabilities: Sequence[_Row],
    documents: Sequence[_Row],
    today: date,
) -> ChronicStatus:
    stays, seen = _recorded_evidence(enrollments, situations, veteran, today)
    current = _current_enrollment(enrollments)
    recorded = recorded_result(
        disabled=_disabled(current, disabilities),
        situations=seen,
        history=homeless_history(stays, today),
        at_start=None if current is None else chronic_at_project_start(_prior(current)),
        entry_date=None if current is None else current.entry_date,
        today=today,
    )

    documented_stays = [s for s in stays if s.kind != StayKind.HOMELESS]
    undated = 0
    verified = False
    for doc in documents:
        if doc.category == "disability":
            verified = verified or doc.expiration_date is None or doc.expiration_date >= today
        elif doc.item != "identity":
            if doc.period_start is None or doc.period_end is None:
                undated += 1
                continue
            kind = (
                StayKind.INSTITUTION
                if doc.document_type == INSTITUTION_DISCHARGE
                else StayKind.HOMELESS
            )
            documented_stays.append(Stay(kind, doc.period_start, doc.period_end))
    documented = documented_result(
        disability_verified=verified,
        situations=seen,
        history=homeless_history(documented_stays, today),
        undated_documents=undated,
        today=today,
    )
    return ChronicStatus(recorded=recorded, documented=documented)


def _recorded_evidence(
    enrollments: Sequence[_Row], situations: Sequence[_Row], veteran: bool, today: date
) -> tuple[list[Stay], list[Situation]]:
    """Stays (for months, episodes and breaks) and dated situations (for "homeless now") from
    the enrollment history and the current living situations."""
    stays: list[Stay] = []
    seen: list[Situation] = []

    def add(kind: StayKind | None, first: date, last: date) -> None:
        if kind is not None and first <= last:
            stays.append(Stay(kind, first, last))
            seen.append(Situation(kind, last, since=first))

    for e in enrollments:
        # The night before the entry (and, for a short stay, the homelessness before it).
        eve = e.entry_date - ONE_DAY
        prior = situation_kind(e.living_situation)
        if prior == StayKind.HOMELESS:
            add(prior, min(e.date_to_street_essh or eve, eve), eve)
        elif prior is not None:
            first = e.entry_date - timedelta(days=LENGTH_OF_STAY_NIGHTS.get(e.length_of_stay, 1))
            if e.previous_street_essh == 1:
                before = first - ONE_DAY
                add(StayKind.HOMELESS, min(e.date_to_street_essh or before, before), before)
            add(prior, first, eve)
        # The stay in the project itself.
        last = min(e.exit_date - ONE_DAY, today) if e.exit_date else today
        if e.project_type in HOMELESS_PROJECT_TYPES:
            add(StayKind.HOMELESS, e.entry_date, last)
        elif e.project_type == TRANSITIONAL_HOUSING:
            if veteran and e.funding_source in VA_FUNDING_SOURCES:
                # Neither a break nor homeless time; says nothing about "homeless now".
                stays.append(Stay(StayKind.NEUTRAL, e.entry_date, last))
            else:
                add(StayKind.NOT_HOMELESS, e.entry_date, last)
        elif e.project_type in PERMANENT_HOUSING_PROJECT_TYPES and e.move_in_date is not None:
            add(StayKind.NOT_HOMELESS, e.move_in_date, last)
        if e.exit_date is not None:
            add(situation_kind(e.destination), e.exit_date, e.exit_date)
    for s in situations:
        add(situation_kind(s.current_living_situation), s.information_date, s.information_date)
    return stays, seen


def _current_enrollment(enrollments: Sequence[_Row]) -> _Row | None:
    """The open Coordinated Entry enrollment, else the latest one."""
    for e in enrollments:
        if e.is_coordinated_entry and e.exit_date is None:
            return e
    return enrollments[-1] if enrollments else None


def _prior(e: _Row) -> PriorLivingSituation:
    return PriorLivingSituation(
        entry_date=e.entry_date,
        project_type=e.project_type,
        living_situation=e.living_situation,
        length_of_stay=e.length_of_stay,
        los_under_threshold=e.los_under_threshold,
        previous_street_essh=e.previous_street_essh,
        date_to_street_essh=e.date_to_street_essh,
        times_homeless_past_three_years=e.times_homeless_past_three_years,
        months_homeless_past_three_years=e.months_homeless_past_three_years,
    )


def _disabled(current: _Row | None, disabilities: Sequence[_Row]) -> bool:
    """3.08 Yes on the current enrollment, or a disabling barrier (the latest answer of each
    type: present and, where it applies, indefinite and impairing)."""
    if current is not None and current.disabling_condition == 1:
        return True
    latest = {
        d.disability_type: (d.disability_type, d.disability_response, d.indefinite_and_impairs)
        for d in disabilities
    }
    return barrier_verdict(list(latest.values()))[0]
