"""Routers, one module per resource family. ``ROUTERS`` is the list ``create_app`` mounts."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope

from app.errors import ValidationFailed
from app.http.uow import UnitOfWorkRoute


def storable_query(request: Request) -> None:
    """Query text PostgreSQL cannot store or compare (NUL characters) is a 422, not a 500."""
    query = request.scope.get("query_string", b"")
    if b"\x00" not in query and b"%00" not in query:
        return  # nothing that decodes to NUL (the common case, without parsing the query)
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise ValidationFailed(
                "Query parameters must not contain NUL characters.",
                errors=[
                    {
                        "loc": ["query", name.replace("\x00", "")],
                        "msg": "must not contain NUL characters",
                        "type": "value_error",
                    }
                ],
            )


class ApiRoute(UnitOfWorkRoute):
    """The route class of every API router: a unit of work per request, idempotent creation;
    the query is checked (``storable_query``) before anything else runs. (Checked here rather
    than as a router dependency: every request would pay for resolving one more dependency.)"""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            storable_query(request)
            return await handler(request)

        return checked


class _PrefixedRouter(APIRouter):
    """An ``APIRouter`` that answers "no match" at once for a path outside its prefix.

    The application tries its routers in turn, and each tries its routes in turn (a regular
    expression each): a request for a late router paid for every route of every router before
    it. Each of its routes' paths begins with the router's prefix (added when the route is), so
    a path that does not can match none of them: the answer is the same, found in one
    comparison."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not get_route_path(scope).startswith(self.prefix):
            return Match.NONE, {}
        return super().matches(scope)


def api_router(prefix: str, tag: str) -> APIRouter:
    return _PrefixedRouter(
        prefix="/api/v1" + prefix,
        tags=[tag],
        route_class=ApiRoute,
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
