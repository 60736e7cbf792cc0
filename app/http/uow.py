"""The request's unit of work and idempotent creation.

``UnitOfWorkRoute`` is the route class of every API router:

* the request's single ``AsyncSession`` (made lazily by ``get_session``) is committed once,
  after the handler succeeded and before the response is sent, so a failing commit still becomes
  a problem response; any error rolls back (unless the error asks for its work to be kept);
* on operations marked idempotent, an ``Idempotency-Key`` header replays the first response
  for the same key and body, and a different body under the same key is a 422. The key record is
  written in the same transaction as the work it stands for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from starlette.types import Message

from app.db import constraint_name
from app.errors import Conflict, DomainError, PreconditionFailed, ValidationFailed
from app.models import IdempotencyRecord

IDEMPOTENT_EXTRA = "x-idempotent"
_REPLAYED_HEADERS = ("content-type", "location", "etag")
MAX_KEY_LENGTH = 255


async def get_session(request: Request) -> AsyncSession:
    session: AsyncSession | None = getattr(request.state, "db", None)
    if session is None:
        session = request.app.state.sessionmaker()
        request.state.db = session
    return session


def idempotent() -> dict[str, Any]:
    """``openapi_extra`` marker (and documentation) for creating POSTs."""
    return {
        IDEMPOTENT_EXTRA: True,
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
                "description": (
                    "Makes the request safe to retry: the same key with the same body replays "
                    "the first response; the same key with a different body is a 422."
                ),
            }
        ],
    }


def _translate_db_error(exc: Exception) -> DomainError | None:
    if isinstance(exc, StaleDataError):
        return PreconditionFailed("The resource was changed by someone else; reload and retry.")
    if isinstance(exc, IntegrityError):
        constraint = constraint_name(exc)
        if constraint == "uq_idempotency_records_scope_key":
            return Conflict(
                "Another request with this Idempotency-Key finished first; retry to get its "
                "response.",
                extra={"constraint": constraint},
            )
        return Conflict(
            "The change conflicts with existing data.",
            extra={"constraint": constraint} if constraint else None,
        )
    if isinstance(exc, DBAPIError):
        cause = getattr(exc.orig, "__cause__", None)
        sqlstate = getattr(cause, "sqlstate", None)
        if sqlstate == "40001" or sqlstate == "40P01":
            return Conflict("The change collided with a concurrent one; retry it.")
    return None


class UnitOfWorkRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()
        is_idempotent = bool((self.openapi_extra or {}).get(IDEMPOTENT_EXTRA))
        operation = f"{','.join(sorted(self.methods or []))} {self.path_format}"

        async def handler(request: Request) -> Response:
            try:
                record_key: _PendingKey | None = None
                if is_idempotent:
                    replay, record_key = await _idempotency_check(request, operation)
                    if replay is not None:
                        return replay
                response = await original(request)
                session: AsyncSession | None = getattr(request.state, "db", None)
                if session is not None:
                    if response.status_code < 400:
                        if record_key is not None:
                            _store_idempotent(session, record_key, response)
                        await session.commit()
                    else:
                        await session.rollback()
                return response
            except DomainError as exc:
                await _finish_failed(request, keep=exc.commit)
                raise
            except Exception as exc:
                await _finish_failed(request, keep=False)
                translated = _translate_db_error(exc)
                if translated is not None:
                    raise translated from exc
                raise
            finally:
                session = getattr(request.state, "db", None)
                if session is not None:
                    await session.close()
                    request.state.db = None

        return handler


async def _finish_failed(request: Request, *, keep: bool) -> None:
    session: AsyncSession | None = getattr(request.state, "db", None)
    if session is None:
        return
    if keep:
        try:
            await session.commit()
            return
        except Exception:
            pass
    await session.rollback()


class _PendingKey:
    """An Idempotency-Key seen for the first time: stored with the response on success."""

    def __init__(self, scope: str, key: str, body_hash: str | None,
                 hasher: _BoundaryNeutralHasher | None) -> None:
        self.scope = scope
        self.key = key
        self._body_hash = body_hash
        self._hasher = hasher

    @property
    def body_hash(self) -> str:
        if self._body_hash is not None:
            return self._body_hash
        assert self._hasher is not None
        return self._hasher.hexdigest()


async def _idempotency_check(
    request: Request, operation: str
) -> tuple[Response | None, _PendingKey | None]:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None, None
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
            errors=[{"loc": ["header", "Idempotency-Key"], "msg": "invalid length",
                     "type": "value_error"}],
        )
    session = await get_session(request)
    subject = await _live_subject(request, session)
    if subject is None:
        # Not (or no longer) authenticated: nothing is replayed or remembered; the operation's
        # own authentication answers.
        return None, None
    scope = f"{subject} {operation} {request.url.path}"

    existing = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
        )
    )
    boundary = _multipart_boundary(request)
    if existing is None:
        if boundary is None:
            return None, _PendingKey(scope, key, await _json_hash(request), None)
        # Streamed uploads are hashed as the handler reads them, never buffered.
        hasher = _BoundaryNeutralHasher(boundary)
        _hash_while_receiving(request, hasher)
        return None, _PendingKey(scope, key, None, hasher)

    if boundary is None:
        body_hash = await _json_hash(request)
    else:
        hasher = _BoundaryNeutralHasher(boundary)
        async for chunk in request.stream():
            hasher.update(chunk)
        body_hash = hasher.hexdigest()
    if existing.request_hash != body_hash:
        raise ValidationFailed(
            "This Idempotency-Key was already used with a different request body.",
            errors=[{"loc": ["header", "Idempotency-Key"], "msg": "key reused with another body",
                     "type": "idempotency_key_reused"}],
        )
    headers = dict(existing.response_headers)
    headers["idempotent-replayed"] = "true"
    return (
        Response(content=existing.response_body, status_code=existing.status_code,
                 headers=headers),
        None,
    )


async def _live_subject(request: Request, session: AsyncSession) -> str | None:
    """The caller's user id if the bearer token is valid and its session, user and membership
    are still live (a logged-out token must not replay earlier responses)."""
    from app.errors import Unauthorized
    from app.security import decode_access_token
    from app.services.auth import load_actor

    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        return None
    try:
        claims = decode_access_token(request.app.state.settings, auth[7:].strip())
        actor = await load_actor(session, claims)
    except Unauthorized:
        return None
    return str(actor.user_id)


def _multipart_boundary(request: Request) -> bytes | None:
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/"):
        return None
    for param in ctype.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary" and value:
            return value.strip('"').encode("latin-1", "replace")
    return b""


async def _json_hash(request: Request) -> str:
    raw = await request.body()
    digest = hashlib.sha256()
    try:
        # Key order and whitespace do not make a different request.
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))
        digest.update(canonical.encode())
    except (ValueError, UnicodeDecodeError):
        digest.update(raw)
    return digest.hexdigest()


class _BoundaryNeutralHasher:
    """SHA-256 of a multipart body with its boundary removed: a client's retry of the same
    upload uses a new random boundary but is the same request."""

    def __init__(self, boundary: bytes) -> None:
        self.boundary = boundary
        self.digest = hashlib.sha256()
        self.pending = b""

    def update(self, chunk: bytes) -> None:
        if not self.boundary:
            self.digest.update(chunk)
            return
        data = (self.pending + chunk).replace(self.boundary, b"")
        keep = len(self.boundary) - 1  # may be the start of a boundary split across chunks
        self.digest.update(data[: len(data) - keep])
        self.pending = data[len(data) - keep :]

    def hexdigest(self) -> str:
        final = self.digest.copy()
        final.update(self.pending.replace(self.boundary, b"") if self.boundary else self.pending)
        return final.hexdigest()


def _hash_while_receiving(request: Request, hasher: _BoundaryNeutralHasher) -> None:
    receive = request._receive

    async def hashing_receive() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            hasher.update(message.get("body", b""))
        return message

    request._receive = hashing_receive


def _store_idempotent(session: AsyncSession, pending: _PendingKey, response: Response) -> None:
    body = getattr(response, "body", None)
    if not isinstance(body, bytes | bytearray):
        return  # streamed responses are not replayable
    headers = {k: v for k, v in response.headers.items() if k.lower() in _REPLAYED_HEADERS}
    session.add(
        IdempotencyRecord(
            scope=pending.scope,
            key=pending.key,
            request_hash=pending.body_hash,
            status_code=response.status_code,
            response_headers=headers,
            response_body=bytes(body),
        )
    )
