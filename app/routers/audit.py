from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from app.context import Actor
from app.deps import Session, require
from app.http.contract import Visibility, documented
from app.http.pagination import Pages
from app.permissions import Permission
from app.routers import api_router
from app.schemas.audit import AuditEventFilters, AuditEventRead
from app.schemas.common import FilterDateTime
from app.schemas.pagination import Page
from app.services.platform import audit as svc

router = api_router("/audit-events", "audit")


@router.get(
    "",
    name="audit_events_list",
    summary="Search the audit trail",
    response_model=Page[AuditEventRead],
    openapi_extra=documented(Visibility.AUDIT),
)
async def list_audit_events(
    actor: Annotated[Actor, Depends(require(Permission.AUDIT_READ))],
    session: Session,
    page: Pages,
    actor_user_id: uuid.UUID | None = None,
    organization_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
    entity_type: Annotated[str | None, Query(max_length=60)] = None,
    entity_id: uuid.UUID | None = None,
    since: Annotated[
        FilterDateTime | None,
        Query(description="From this time (inclusive); UTC without an offset."),
    ] = None,
    until: Annotated[
        FilterDateTime | None, Query(description="Before this time; UTC without an offset.")
    ] = None,
) -> dict[str, object]:
    """The acting CoC's audit trail, newest first (system admins)."""
    filters = AuditEventFilters(
        actor_user_id=actor_user_id,
        organization_id=organization_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        since=since,
        until=until,
    )
    return (await svc.search_events(session, actor, filters, page)).body()
