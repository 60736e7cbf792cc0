"""Routers, one module per resource family. ``ROUTERS`` is the list ``create_app`` mounts."""

from __future__ import annotations

import importlib
import pkgutil

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


# Mounted first, in this order; every other module of this package follows, by name.
_FIRST = ("health", "auth")


def all_routers() -> list[APIRouter]:
    """Every ``APIRouter`` defined at module level in this package (discovered, not listed)."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__))
    ordered = [n for n in _FIRST if n in names] + [n for n in names if n not in _FIRST]
    routers: list[APIRouter] = []
    for name in ordered:
        module = importlib.import_module(f"{__name__}.{name}")
        for value in vars(module).values():
            if isinstance(value, APIRouter) and value not in routers:
                routers.append(value)
    return routers
