"""Cross-agency duplicates: the intake's refusal and the admins' duplicate report.

Creating a client never blocks on a possible duplicate the caller may see (it is listed in
``possible_duplicates``). But an agency cannot see a person another agency enrolled, so two
agencies could each hold an open Coordinated Entry enrollment for one person. An intake of a
new client whose SSN (a full SSN that is not a placeholder, see ``app.reference.data_quality``)
or exact name and date of birth match a client with an open CE enrollment the caller cannot see
is refused with a 409 that says nothing about the other client: only a reference, kept with a
``duplicate_refusals`` row that CAS and system admins look up (the refusal is committed although
the intake is not). The duplicate report lists pairs of clients of the CoC with the same SSN or
the same exact name and date of birth, for admins to merge.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, func, literal, not_, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.context import Actor
from app.errors import Conflict
from app.models import Client
from app.models.data_quality import DataQualityIssue, DuplicateRefusal
from app.models.enrollments import Enrollment
from app.reference.data_quality import ssn_is_sequential_or_repeated
from app.schemas.clients import ClientCreate
from app.schemas.pagination import PageParams
from app.services.clients import access as client_access
from app.services.clients.search import name_keys
from app.services.platform import audit
from app.services.platform.crypto import FieldCipher
from app.services.platform.pagination import PageOf, decode_cursor, encode_cursor, paginate

_REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U


class PossiblyEnrolledElsewhere(Conflict):
    slug, title = "possibly-enrolled-elsewhere", "Possibly enrolled in Coordinated Entry already"


def new_reference() -> str:
    return "D-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def _open_ce_enrollment() -> ColumnElement[bool]:
    return and_(
        Enrollment.client_id == Client.id,
        Enrollment.is_coordinated_entry,
        Enrollment.exit_date.is_(None),
        Enrollment.voided_at.is_(None),
    )


async def check_not_enrolled_elsewhere(
    session: AsyncSession, actor: Actor, new: ClientCreate, cipher: FieldCipher, field: str
) -> None:
    """409 (nothing else written; the refusal is logged) when the new client matches a client
    with an open CE enrollment that ``actor`` cannot see."""
    matches: list[ColumnElement[bool]] = []
    ssn_hash = None
    if new.ssn and new.ssn.isdigit() and not ssn_is_sequential_or_repeated(new.ssn):
        ssn_hash = cipher.ssn_hash(new.ssn)
        matches.append(Client.ssn_hash == ssn_hash)
    first, last = name_keys(new.first_name)[0], name_keys(new.last_name)[0]
    if first and last and new.dob is not None:
        matches.append(
            and_(
                Client.dob == new.dob,
                Client.first_name_norm == first,
                Client.last_name_norm == last,
            )
        )
    if not matches:
        return
    found = (
        await session.execute(
            select(Client.id, Enrollment.id, Client.ssn_hash)
            .join(Enrollment, _open_ce_enrollment())
            .where(
                Client.coc_id == actor.coc_id,
                Client.merged_into_id.is_(None),
                or_(*matches),
                not_(client_access.visible_clients_filter(actor)),
            )
            .order_by(Client.created_at, Client.id)
            .limit(1)
        )
    ).first()
    if found is None:
        return
    client_id, enrollment_id, matched_hash = found
    refusal = DuplicateRefusal(
        reference=new_reference(),
        coc_id=actor.coc_id,
        organization_id=actor.organization_id,
        user_id=actor.user_id,
        matched_client_id=client_id,
        matched_enrollment_id=enrollment_id,
        reason="ssn" if ssn_hash is not None and matched_hash == ssn_hash else "name_dob",
    )
    session.add(refusal)
    await session.flush()
    audit.record(
        session,
        actor,
        "duplicate_refusal.create",
        "duplicate_refusal",
        refusal.id,
        {"reference": refusal.reference, "reason": refusal.reason},
    )
    message = (
        "This person may already be enrolled in Coordinated Entry; contact the CAS team and "
        f"quote reference {refusal.reference}."
    )
    raise PossiblyEnrolledElsewhere(
        message,
        errors=[{"loc": ["body", *field.split(".")], "msg": message, "type": "possible_duplicate"}],
        extra={"reference": refusal.reference},
        commit=True,
    )


async def list_refusals(
    session: AsyncSession, actor: Actor, page: PageParams, reference: str | None
) -> PageOf[DuplicateRefusal]:
    """The acting CoC's refused intakes, newest first (``reference``: the one quoted)."""
    stmt = select(DuplicateRefusal).where(DuplicateRefusal.coc_id == actor.coc_id)
    if reference is not None:
        stmt = stmt.where(DuplicateRefusal.reference == reference.strip().upper())
    return await paginate(
        session, stmt, page, [DuplicateRefusal.created_at, DuplicateRefusal.id], descending=True
    )


@dataclass(frozen=True)
class DuplicatePair:
    client_id: uuid.UUID
    other_client_id: uuid.UUID
    reasons: list[str]


async def list_duplicate_pairs(
    session: AsyncSession, actor: Actor, page: PageParams
) -> PageOf[DuplicatePair]:
    """Pairs of the CoC's (unmerged) clients with the same SSN (placeholder SSNs left out) or
    the same exact name and date of birth, ordered by their ids (keyset pages)."""
    a, b = aliased(Client), aliased(Client)
    live = and_(
        a.coc_id == actor.coc_id,
        b.coc_id == actor.coc_id,
        a.merged_into_id.is_(None),
        b.merged_into_id.is_(None),
        a.id < b.id,
    )
    placeholder = exists(
        select(DataQualityIssue.id).where(
            DataQualityIssue.client_id == a.id,
            DataQualityIssue.kind == "ssn_sequential_or_repeated",
            DataQualityIssue.resolved_at.is_(None),
        )
    )
    by_ssn = (
        select(a.id.label("a_id"), b.id.label("b_id"), literal("ssn").label("reason"))
        .join(b, b.ssn_hash == a.ssn_hash)
        .where(live, a.ssn_hash.is_not(None), not_(placeholder))
    )
    by_name = (
        select(a.id.label("a_id"), b.id.label("b_id"), literal("name_dob").label("reason"))
        .join(
            b,
            and_(
                b.dob == a.dob,
                b.first_name_norm == a.first_name_norm,
                b.last_name_norm == a.last_name_norm,
            ),
        )
        .where(live, a.dob.is_not(None), a.first_name_norm.is_not(None))
        .where(a.last_name_norm.is_not(None))
    )
    pairs = union_all(by_ssn, by_name).subquery()
    stmt = select(
        pairs.c.a_id, pairs.c.b_id, func.array_agg(pairs.c.reason.distinct()).label("reasons")
    ).group_by(pairs.c.a_id, pairs.c.b_id)
    if page.cursor:
        after_a, after_b = decode_cursor(page.cursor, 2, [Client.id, Client.id])
        stmt = stmt.where(
            or_(pairs.c.a_id > after_a, and_(pairs.c.a_id == after_a, pairs.c.b_id > after_b))
        )
    rows = (
        await session.execute(stmt.order_by(pairs.c.a_id, pairs.c.b_id).limit(page.limit + 1))
    ).all()
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        next_cursor = encode_cursor([rows[-1].a_id, rows[-1].b_id])
    return PageOf(
        [DuplicatePair(r.a_id, r.b_id, sorted(r.reasons)) for r in rows],
        next_cursor,
    )
