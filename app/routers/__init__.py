"""Routers, one module per resource family. ``ROUTERS`` is the list ``create_app`` mounts."""

from __future__ import annotations

from fastapi import APIRouter

from app.http.uow import UnitOfWorkRoute
from app.schemas.common import COMMON_PROBLEMS


def api_router(prefix: str, tag: str) -> APIRouter:
    return APIRouter(
        prefix="/api/v1" + prefix,
        tags=[tag],
        route_class=UnitOfWorkRoute,
        responses=COMMON_PROBLEMS,
    )
