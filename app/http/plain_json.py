"""JSON responses written straight from plain data, for hot read paths.

A route declaring ``response_model`` and returning a dict has FastAPI validate the dict into
the model, then serialize the model: for a page of 50 queue entries that costs about as much
as the rest of the request. Where the service already builds the body in the model's exact
shape (field order included), ``PlainJson(model).response(request, body)`` serializes it once
with orjson instead. The route keeps its ``response_model`` (the contract and the OpenAPI
document are the model's); returning a ``Response`` only skips the second pass.

Outside production every such body is also checked: validated against the model and
serialized as FastAPI would have, and the bytes compared. A body drifting from the contract (a
field missing, extra or out of order, a value the model would coerce) fails loudly in
development and in the tests instead of reaching a client.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from fastapi import Request, Response
from pydantic import TypeAdapter

# UTC written as "Z", as pydantic writes it (dates and enums need no option).
_OPTIONS = orjson.OPT_UTC_Z


def _default(value: Any) -> Any:
    # asyncpg's UUIDs subclass uuid.UUID, which orjson writes only as the exact type.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not written as JSON")


class ResponseDrift(RuntimeError):
    """A plain body that is not what the declared response model would have sent."""


class PlainJson:
    """Writes bodies of ``model`` (any type a ``TypeAdapter`` takes, e.g. ``Page[Item]``)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self._adapter: TypeAdapter[Any] = TypeAdapter(model)

    def dumps(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_default, option=_OPTIONS)

    def check(self, content: Any, body: bytes) -> None:
        """``body`` is exactly what FastAPI would send for ``content`` (else ``ResponseDrift``)."""
        value = self._adapter.validate_python(content)
        expected = self._adapter.dump_json(value, by_alias=True)
        if body != expected:
            raise ResponseDrift(
                f"The plain body differs from the {self.model!r} response model's: "
                f"{_first_difference(body, expected)}"
            )

    def response(self, request: Request, content: Any, *, status_code: int = 200) -> Response:
        body = self.dumps(content)
        if request.app.state.settings.environment != "production":
            self.check(content, body)
        return Response(body, status_code=status_code, media_type="application/json")


def _first_difference(got: bytes, expected: bytes) -> str:
    at = next(
        (i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b),
        min(len(got), len(expected)),
    )
    start = max(at - 60, 0)
    return f"at byte {at}: {got[start : at + 60]!r} instead of {expected[start : at + 60]!r}"


__all__ = ["PlainJson", "ResponseDrift"]
