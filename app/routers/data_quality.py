"""The data-quality report (system and CAS admins)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from app.context import Actor
from app.deps import Session, require_for_clients
from app.http.contract import Visibility, documented
from app.http.pagination import Pages
from app.permissions import Permission
from app.routers import api_router
from app.schemas.data_quality import DataQualityIssueRead, DataQualityKind
from app.schemas.pagination import Page
from app.services.clients import data_quality as svc

router = api_router("/data-quality", "data-quality")

DataQualityReader = Annotated[Actor, Depends(require_for_clients(Permission.DATA_QUALITY_READ))]


@router.get(
    "/issues",
    name="data_quality_issues",
    summary="Open data-quality issues",
    response_model=Page[DataQualityIssueRead],
    openapi_extra=documented(Visibility.COC_CLIENTS),
)
async def list_issues(
    actor: DataQualityReader,
    session: Session,
    page: Pages,
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Issues of this organization's records.")
    ] = None,
    kind: Annotated[DataQualityKind | None, Query()] = None,
) -> dict[str, object]:
    """Open data-quality issues of the CoC, newest first: values HUD accepts but its reports
    count as data issues (sequential or repeated-digit SSNs, DOB before 1915, DOB after the
    entry date, age over 105 at entry). Ids and kinds only; fix the record to resolve one."""
    found = await svc.list_issues(session, actor, page, organization_id=organization_id, kind=kind)
    return found.body()
