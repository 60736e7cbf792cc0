"""The ``limit`` and ``cursor`` query parameters of every list route (the paging itself is
``app.services.platform.pagination``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from app.schemas.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageParams


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (max 200).")] = (
        DEFAULT_LIMIT
    ),
    cursor: Annotated[
        str | None, Query(max_length=500, description="Opaque cursor from `next_cursor`.")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


Pages = Annotated[PageParams, Depends(page_params)]
