"""The duplicate report and the refused duplicate intakes (CAS and system admins). Mounted
before ``clients`` so ``/clients/duplicates`` is not read as a client id."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from app.context import Actor
from app.deps import Session, require_for_clients
from app.http.contract import Visibility, documented
from app.http.pagination import Pages
from app.permissions import Permission
from app.routers import api_router
from app.schemas.data_quality import DuplicatePairRead, DuplicateRefusalRead
from app.schemas.pagination import Page
from app.services.clients import duplicates as svc

router = api_router("/clients", "clients")

DuplicateReader = Annotated[Actor, Depends(require_for_clients(Permission.CLIENTS_DUPLICATES_READ))]


@router.get(
    "/duplicates",
    name="clients_duplicates",
    summary="The duplicate report",
    response_model=Page[DuplicatePairRead],
    openapi_extra=documented(Visibility.COC_CLIENTS),
)
async def list_duplicates(
    actor: DuplicateReader, session: Session, page: Pages
) -> dict[str, object]:
    """Pairs of clients of the CoC that are likely one person -- the same SSN (placeholder
    SSNs such as 123456789 left out) or the same exact name and date of birth -- to merge from
    (`POST /clients/{client_id}/merge`). Ids and reasons only."""
    return (await svc.list_duplicate_pairs(session, actor, page)).body()


@router.get(
    "/duplicate-refusals",
    name="clients_duplicate_refusals",
    summary="Intakes refused as possible duplicates",
    response_model=Page[DuplicateRefusalRead],
    openapi_extra=documented(Visibility.COC_CLIENTS),
)
async def list_refusals(
    actor: DuplicateReader,
    session: Session,
    page: Pages,
    reference: Annotated[
        str | None,
        Query(
            max_length=16,
            pattern=r"^[A-Za-z0-9-]+$",
            description="The reference a refused intake was given (e.g. D-7KQ2M9XA).",
        ),
    ] = None,
) -> dict[str, object]:
    """Intakes refused because the person may already be enrolled in Coordinated Entry by an
    agency the caller could not see (409 `possibly-enrolled-elsewhere`), newest first: the
    existing client and enrollment, and who was refused."""
    return (await svc.list_refusals(session, actor, page, reference)).body()
