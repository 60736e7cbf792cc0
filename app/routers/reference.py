"""HUD FY2026 code lists with their labels, so a UI renders dropdowns without copying HUD's
tables (the same lists the schemas' ``x-enum-descriptions`` carry)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from app.deps import CurrentActor
from app.errors import NotFound
from app.http.contract import Visibility, documented
from app.reference import hud_lists
from app.routers import api_router
from app.schemas.codes import schema_names
from app.schemas.pagination import Page
from app.schemas.reference import CodeListRead, CodeRead

router = api_router("/reference", "reference")


def _natural(element: str) -> list[tuple[int, int, str]]:
    """Sort key: numbered elements first, ``3.12.1`` before ``3.917.2``, ``4.2`` before
    ``4.10.2``, then the lettered ones (``C2.2``, ``R1.1``, ...)."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in element.split(".")]


def _code_list(element: str) -> CodeListRead:
    labels = hud_lists()[element]
    return CodeListRead(
        element=element,
        schema_name=schema_names().get(element),
        codes=[CodeRead(value=v, label=labels[v]) for v in sorted(labels)],
    )


@router.get(
    "/code-lists",
    name="reference_code_lists_list",
    summary="Every HUD code list",
    response_model=Page[CodeListRead],
    openapi_extra=documented(Visibility.REFERENCE),
)
async def list_code_lists(actor: CurrentActor) -> Page[CodeListRead]:
    """Every list of the HMIS CSV FY2026 specification, by element, with values and labels.
    All lists are in one page (`next_cursor` is null)."""
    items = [_code_list(e) for e in sorted(hud_lists(), key=_natural)]
    return Page[CodeListRead](items=items, next_cursor=None)


@router.get(
    "/code-lists/{element}",
    name="reference_code_lists_get",
    summary="One HUD code list",
    response_model=CodeListRead,
    openapi_extra=documented(Visibility.REFERENCE),
)
async def get_code_list(
    element: Annotated[
        str,
        Path(
            max_length=20,
            pattern=r"^[A-Z0-9.\-]+$",
            description="The list's element number, e.g. `3.12.1` or `4.19.3`.",
            examples=["3.12.1"],
        ),
    ],
    actor: CurrentActor,
) -> CodeListRead:
    """The values and labels of one list (404 for an element without a list)."""
    if element not in hud_lists():
        raise NotFound(f"HUD FY2026 has no code list {element}.")
    return _code_list(element)
