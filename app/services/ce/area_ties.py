"""Area ties: where a client is tied to (area) and how (lived, worked, family, ...).

Both lists are configurable per CoC (``area_tie_options``); until a CoC configures its own, the
built-in default lists below apply, so a new deployment works out of the box. Area ties are
required for EHV referrals (checked by matching, not here).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import ValidationFailed
from app.models import Client
from app.models.area_ties import AreaTie, AreaTieOption
from app.reference.living_situations import check_not_future
from app.schemas.enrollments import AreaTieIn, AreaTieOptionsUpdate
from app.schemas.pagination import PageParams
from app.services.clients import access as client_access
from app.services.clients import policy as client_policy
from app.services.platform import audit
from app.services.platform.pagination import PageOf, paginate

DEFAULT_AREAS: tuple[tuple[str, str], ...] = (
    ("coc_area", "The Continuum of Care's geographic area"),
    ("outside_coc_area", "Outside the Continuum of Care's geographic area"),
)
DEFAULT_HOW: tuple[tuple[str, str], ...] = (
    ("lived", "Lived in the area"),
    ("worked", "Worked in the area"),
    ("family", "Family lives in the area"),
    ("school", "Attended school in the area (the client or their children)"),
    ("services", "Received services in the area"),
    ("born", "Born in the area"),
    ("other", "Other"),
)


@dataclass(frozen=True)
class TieOptions:
    areas: list[tuple[str, str]]
    how: list[tuple[str, str]]
    configured: bool


async def options(session: AsyncSession, coc_id: uuid.UUID) -> TieOptions:
    """The CoC's (code, label) lists; the defaults for a kind the CoC has not configured."""
    rows = (
        await session.scalars(
            select(AreaTieOption)
            .where(AreaTieOption.coc_id == coc_id, AreaTieOption.is_active)
            .order_by(AreaTieOption.kind, AreaTieOption.position, AreaTieOption.code)
        )
    ).all()
    out: dict[str, list[tuple[str, str]]] = {"area": [], "how": []}
    for row in rows:
        out[row.kind].append((row.code, row.label))
    return TieOptions(
        areas=out["area"] or list(DEFAULT_AREAS),
        how=out["how"] or list(DEFAULT_HOW),
        configured=bool(rows),
    )


async def replace_options(
    session: AsyncSession, actor: Actor, data: AreaTieOptionsUpdate
) -> TieOptions:
    for kind, items in (("areas", data.areas), ("how", data.how)):
        codes = [i.code for i in items]
        if len(set(codes)) != len(codes):
            raise ValidationFailed("Each code may be listed once.", field=kind)
    await session.execute(delete(AreaTieOption).where(AreaTieOption.coc_id == actor.coc_id))
    for kind, items in (("area", data.areas), ("how", data.how)):
        for position, item in enumerate(items):
            session.add(
                AreaTieOption(
                    coc_id=actor.coc_id,
                    kind=kind,
                    code=item.code,
                    label=item.label,
                    position=position,
                )
            )
    await session.flush()
    audit.record(
        session,
        actor,
        "area_tie_options.replace",
        "coc",
        actor.coc_id,
        {"areas": [i.code for i in data.areas], "how": [i.code for i in data.how]},
    )
    return await options(session, actor.coc_id)


async def add_area_ties(
    session: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    ties: Sequence[AreaTieIn],
    *,
    prefix: str = "area_ties",
    enrollment_id: uuid.UUID | None = None,
    assessment_id: uuid.UUID | None = None,
) -> list[AreaTie]:
    if not ties:
        return []
    allowed = await options(session, actor.coc_id)
    areas = {code for code, _ in allowed.areas}
    hows = {code for code, _ in allowed.how}
    rows: list[AreaTie] = []
    today = clock.today(actor)
    for i, tie in enumerate(ties):
        if tie.area not in areas:
            raise ValidationFailed(
                f"'{tie.area}' is not on this CoC's list of areas.", field=f"{prefix}.{i}.area"
            )
        if tie.how not in hows:
            raise ValidationFailed(
                f"'{tie.how}' is not on this CoC's list of area-tie kinds.",
                field=f"{prefix}.{i}.how",
            )
        check_not_future(tie.tie_date, f"{prefix}.{i}", "tie_date", today)
        row = AreaTie(
            coc_id=actor.coc_id,
            client_id=client_id,
            tie_date=tie.tie_date,
            area=tie.area,
            how=tie.how,
            enrollment_id=enrollment_id,
            assessment_id=assessment_id,
            created_by_user_id=actor.user_id,
            created_by_organization_id=actor.organization_id,
        )
        session.add(row)
        rows.append(row)
    await session.flush()
    for row in rows:
        audit.record(
            session,
            actor,
            "area_tie.create",
            "area_tie",
            row.id,
            {"client_id": client_id, "area": row.area, "how": row.how, "tie_date": row.tie_date},
        )
    return rows


async def client_for_area_ties(session: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client:
    """The client whose area ties are recorded on their own (not in an intake or update): 404
    unless visible; adding to its record needs the client edit right (``clients.policy``, 403
    otherwise)."""
    client = await client_access.get_visible_client(session, actor, client_id)
    await client_policy.check_may_change(session, actor, client)
    return client


async def list_client_area_ties(
    session: AsyncSession, actor: Actor, client_id: uuid.UUID, page: PageParams
) -> PageOf[AreaTie]:
    """The (visible) client's area ties, oldest first (audited as a read of the client)."""
    found = await paginate(
        session,
        client_area_ties_stmt(client_id).where(AreaTie.coc_id == actor.coc_id),
        page,
        [AreaTie.created_at, AreaTie.id],
    )
    audit.record_pii_read(session, actor, "client", client_id, fields=["area_ties"])
    return found


def client_area_ties_stmt(client_id: uuid.UUID) -> Select[AreaTie]:
    return select(AreaTie).where(AreaTie.client_id == client_id)
