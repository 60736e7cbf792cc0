"""Fixtures for the cross-organization probe (tests/api/test_cross_org_probe.py).

Each module here defines::

    PRIVATE: set[str]          # path parameters a same-CoC outsider agency must not reach
    SHARED: set[str]           # optional: parameters of data every CoC shares (no probe)
    async def arrange(ctx: ProbeContext) -> dict[str, uuid.UUID]

``arrange`` creates resources in the home CoC (as home users) and returns an id for every path
parameter name its routes use. A route whose path parameter has no id fails the probe, so every
new route is covered as soon as it exists.
"""

from __future__ import annotations

import importlib
import pkgutil
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.services.demo import DEMO_TIME_ZONE


@dataclass
class ProbeContext:
    client: httpx.AsyncClient
    db: AsyncSession
    world: Any  # tests.conftest.World
    auth: Any  # tests.conftest.Auth


Arrange = Callable[[ProbeContext], Awaitable[dict[str, uuid.UUID]]]


def probe_modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{__name__}.{m.name}")
        for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
    ]


def example_from_schema(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """A small value satisfying ``schema``: required properties only, first enum/anyOf choice."""
    if depth > 8:
        return None
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return example_from_schema(components[name], components, depth + 1)
    if schema.get("examples"):
        return schema["examples"][0]
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example_from_schema(options[0], components, depth + 1)
    if "allOf" in schema:
        return example_from_schema(schema["allOf"][0], components, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {
            name: example_from_schema(props[name], components, depth + 1)
            for name in schema.get("required", [])
        }
    if kind == "array":
        return []
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return False
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "uuid":
            return str(uuid.uuid4())
        if fmt == "date":
            return clock.today(DEMO_TIME_ZONE).isoformat()
        if fmt == "date-time":
            return clock.today(DEMO_TIME_ZONE).isoformat() + "T12:00:00Z"
        if fmt == "email":
            return "probe@example.org"
        if fmt == "binary":
            return "probe"
        return "x" * max(1, int(schema.get("minLength", 1)))
    return None
