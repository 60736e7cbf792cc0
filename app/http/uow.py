"""The request's unit of work and idempotent creation.

``UnitOfWorkRoute`` is the route class of every API router:

* the request's single ``AsyncSession`` (made lazily by ``get_session``) is committed once,
  after the handler succeeded and before the response is sent, so a failing commit still becomes
  a problem response; any error rolls back (unless the error asks for its work to be kept);
* on operations marked idempotent, an ``Idempotency-Key`` header replays the first response
  for the same key and body, and a different body under the same key is a 422. The key record is
  written in the same transaction as the work it stands for.

Idempotency keys belong to the user *and* the acting organization (and the operation and path).
The key is looked up only once every dependency of the route has run -- authentication, the
declared permissions, the refusal of victim service providers, and the resolution of the path's
resources (``WritableEnrollment``, ``WritableHousehold``, visible clients, ...) -- just before
the operation itself would run: a replay is answered only where the request would have been
allowed to do the work now, and refused exactly as the route refuses it otherwise. (A route
therefore resolves its path's resources in dependencies; ``tests/api/test_replay_probe.py``
plants stored responses for callers who must be refused, on every idempotent route.) The
replayed response must also name only clients -- or records of clients -- the caller may still
see (else 404); it is audited as a read of them.

While a request with a key is in flight, the key is locked (a transaction-level advisory lock):
another request with it is told to retry (409) before the operation does any work, so parallel
retries never store anything twice. Stored responses are encrypted (AES-256-GCM, a key derived
from the field encryption key, bound to their scope and key).

The unit of work itself (commit, rollback, ``on_rollback`` undo) is ``app.unit_of_work``, the
same for requests, jobs and the CLI. The caller of a replay is the actor the route's own
authentication found (``request.state.actor``, set by ``app.deps.current_actor``), and the
stored responses are kept by ``app.services.platform.idempotency``.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from python_multipart.multipart import parse_options_header
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from starlette.types import Message

from app.context import Actor
from app.db import constraint_name
from app.errors import Conflict, DomainError, PreconditionFailed, ValidationFailed
from app.services.clients import core as clients
from app.services.platform import idempotency
from app.unit_of_work import UnitOfWork

IDEMPOTENT_EXTRA = "x-idempotent"
_REPLAYED_HEADERS = ("content-type", "location", "etag")
MAX_KEY_LENGTH = 255
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# The request being handled, for the operation's replay gate (it runs in the request's task).
_REQUEST: ContextVar[Request | None] = ContextVar("cas_request", default=None)
_GATED = "cas_replay_gate"


def _unit_of_work(request: Request) -> UnitOfWork:
    uow: UnitOfWork | None = getattr(request.state, "uow", None)
    if uow is None:  # outside a UnitOfWorkRoute: nobody ends it but the request itself
        uow = UnitOfWork(request.app.state.sessionmaker)
        request.state.uow = uow
    return uow


async def get_session(request: Request) -> AsyncSession:
    """The request's session (made on first use), committed by the route class."""
    return _unit_of_work(request).session


GuardT = TypeVar("GuardT", bound=Callable[..., Awaitable[Any]])


def replay_guard(check: GuardT) -> GuardT:
    """No longer needed, kept so code marking dependencies with it keeps working: every
    dependency of a route runs before an idempotent replay is answered."""
    return check


def replay_scope(actor: Actor, operation: str, path: str) -> str:
    """What an Idempotency-Key belongs to: the user, the acting organization, the operation
    (``"POST /api/v1/clients"``) and the request's path."""
    return f"{actor.user_id} {actor.organization_id} {operation} {path}"


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
                    "Makes the request safe to retry: the same key (yours, for the organization "
                    "you act for) with the same body replays the first response; with a "
                    "different body it is a 422; while the first request is still in progress, "
                    "a 409."
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
    """Runs each request in a unit of work; creating POSTs marked ``idempotent()`` honour
    ``Idempotency-Key``: their endpoint is wrapped in a replay gate that runs after every
    dependency, just before the operation."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if (kwargs.get("openapi_extra") or {}).get(IDEMPOTENT_EXTRA):
            endpoint = _replay_gate(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()
        is_idempotent = bool((self.openapi_extra or {}).get(IDEMPOTENT_EXTRA))
        operation = f"{','.join(sorted(self.methods or []))} {self.path_format}"

        async def handler(request: Request) -> Response:
            uow = UnitOfWork(request.app.state.sessionmaker)
            request.state.uow = uow
            key: _KeyState | None = None
            token = None
            try:
                if is_idempotent:
                    key = _key_state(request, operation)
                    request.state.idempotency = key
                    if key is not None and key.hasher is not None:
                        # Streamed uploads are hashed as the handler reads them.
                        request = _hashing_request(request, key.hasher)
                token = _REQUEST.set(request)
                response = await original(request)
                if uow.started:
                    if key is not None and key.replayed:
                        await uow.commit()  # the replay's audit rows
                    elif response.status_code < 400:
                        if key is not None and key.pending is not None:
                            _store_idempotent(request, uow.session, key.pending, response)
                        await uow.commit()
                    else:
                        await uow.rollback()
                return response
            except DomainError as exc:
                await _finish_failed(uow, keep=exc.commit)
                raise
            except Exception as exc:
                await _finish_failed(uow, keep=False)
                translated = _translate_db_error(exc)
                if translated is not None:
                    raise translated from exc
                raise
            finally:
                if token is not None:
                    _REQUEST.reset(token)
                await uow.close()
                request.state.uow = None

        return handler


async def _finish_failed(uow: UnitOfWork, *, keep: bool) -> None:
    if keep:
        try:
            await uow.commit()
            return
        except Exception:
            pass
    await uow.rollback()


class _PendingKey:
    """An Idempotency-Key seen for the first time: stored with the response on success."""

    def __init__(
        self, scope: str, key: str, body_hash: str | None, hasher: _MultipartHasher | None
    ) -> None:
        self.scope = scope
        self.key = key
        self._body_hash = body_hash
        self.hasher = hasher

    @property
    def body_hash(self) -> str:
        if self._body_hash is not None:
            return self._body_hash
        assert self.hasher is not None
        return self.hasher.hexdigest()


@dataclass
class _KeyState:
    """An Idempotency-Key sent to an idempotent operation, for the length of the request."""

    operation: str
    key: str
    hasher: _MultipartHasher | None  # multipart bodies: hashed as they are read
    pending: _PendingKey | None = None  # a first request: stored with its response
    replayed: bool = False


def _key_state(request: Request, operation: str) -> _KeyState | None:
    """The request's Idempotency-Key (checked, no database yet), or None without one."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
            errors=[
                {
                    "loc": ["header", "Idempotency-Key"],
                    "msg": "invalid length",
                    "type": "value_error",
                }
            ],
        )
    boundary = _multipart_boundary(request)
    hasher = _MultipartHasher(boundary) if boundary is not None else None
    return _KeyState(operation, key, hasher)


def _replay_gate(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """The endpoint of an idempotent operation, behind its key: it runs once FastAPI has
    resolved every dependency (so the caller and the path's resources passed the route's own
    checks), and answers a replay instead of running the operation again."""
    if getattr(endpoint, _GATED, False):
        return endpoint  # a route copied from a router's: its endpoint is gated already

    @functools.wraps(endpoint)
    async def gate(*args: Any, **kwargs: Any) -> Any:
        request = _REQUEST.get()
        key: _KeyState | None = getattr(request.state, "idempotency", None) if request else None
        if request is not None and key is not None:
            replay = await _idempotency_check(request, key)
            if replay is not None:
                key.replayed = True
                return replay
        result = endpoint(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    setattr(gate, _GATED, True)
    return gate


async def _idempotency_check(request: Request, state: _KeyState) -> Response | None:
    """The stored response to replay, or None (then ``state.pending`` is set when the response
    is to be stored)."""
    actor: Actor | None = getattr(request.state, "actor", None)
    if actor is None:
        return None  # an operation without a caller: nothing is replayed or remembered
    session = await get_session(request)
    key = state.key
    scope = replay_scope(actor, state.operation, request.url.path)
    # Held until this request's transaction ends, so a parallel request with the key does no
    # work (stores no file) and a later one sees the committed record.
    if not await idempotency.try_lock(session, scope, key):
        raise Conflict(
            "A request with this Idempotency-Key is still in progress; retry to get its response.",
            headers={"Retry-After": "1"},
        )

    field_key = request.app.state.settings.encryption_keys
    existing = await idempotency.stored_response(session, scope, key, field_key=field_key)
    if existing is None:
        if state.hasher is None:
            state.pending = _PendingKey(scope, key, await _json_hash(request), None)
        else:
            # Streamed uploads are hashed as the handler reads them, never buffered.
            state.pending = _PendingKey(scope, key, None, state.hasher)
        return None

    if state.hasher is None:
        body_hash = await _json_hash(request)
    else:
        async for _ in request.stream():
            pass  # hashed by the request's receive
        body_hash = state.hasher.hexdigest()
    if existing.request_hash != body_hash:
        raise ValidationFailed(
            "This Idempotency-Key was already used with a different request body.",
            errors=[
                {
                    "loc": ["header", "Idempotency-Key"],
                    "msg": "key reused with another body",
                    "type": "idempotency_key_reused",
                }
            ],
        )
    body = existing.body
    await _check_clients_shown(session, actor, body, request.url.path)
    headers = dict(existing.headers)
    headers["idempotent-replayed"] = "true"
    return Response(content=body, status_code=existing.status_code, headers=headers)


async def _check_clients_shown(session: AsyncSession, actor: Actor, body: bytes, path: str) -> None:
    """404 unless the caller may still see every client the stored response (or its path)
    names, directly or through one of their records; then the replay is recorded as a read of
    each of them."""
    named = {uuid.UUID(m) for m in _UUID.findall(path)}
    named |= {uuid.UUID(m) for m in _UUID.findall(body.decode("utf-8", "replace"))}
    if named:
        await clients.audit_replayed_read(session, actor, named)


def _multipart_boundary(request: Request) -> bytes | None:
    """The boundary the multipart parser will use (``b""`` if there is none), or None."""
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/"):
        return None
    _, options = parse_options_header(ctype)
    return options.get(b"boundary", b"")


async def _json_hash(request: Request) -> str:
    return json_body_hash(await request.body())


def json_body_hash(raw: bytes) -> str:
    """What a JSON request body is compared by (a stored response belongs to one body)."""
    digest = hashlib.sha256()
    try:
        # Key order and whitespace do not make a different request.
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))
        digest.update(canonical.encode())
    except (ValueError, UnicodeDecodeError, RecursionError):
        # Not JSON, or nested too deeply to canonicalize: hashed as sent; the operation's own
        # parsing answers it.
        digest.update(raw)
    return digest.hexdigest()


class _MultipartHasher:
    """SHA-256 of a multipart body as the list of what lies between its delimiters, so a
    client's retry of an upload (a new random boundary, the same parts) is the same request.

    Only real delimiters are left out: CRLF ``--`` boundary followed by CRLF, ``--`` or
    transport padding (RFC 2046; exactly where the parser splits the body, the first delimiter
    having an implied CRLF before it). The boundary's bytes anywhere else, inside a file for
    instance, are hashed like any other bytes.
    """

    def __init__(self, boundary: bytes) -> None:
        self._delimiter = b"\r\n--" + boundary
        self._plain = not boundary
        self._digest = hashlib.sha256()  # over the digests of the segments
        self._segment = hashlib.sha256()
        self._pending = b"\r\n"

    def update(self, chunk: bytes) -> None:
        if self._plain:
            self._segment.update(chunk)
            return
        data = self._pending + chunk
        delimiter = self._delimiter
        start = 0
        while (at := data.find(delimiter, start)) >= 0:
            after = data[at + len(delimiter) : at + len(delimiter) + 2]
            if len(after) < 2:
                break  # what follows is still to come
            if after in (b"\r\n", b"--") or after[:1] in (b" ", b"\t"):
                self._segment.update(data[start:at])
                self._digest.update(self._segment.digest())
                self._segment = hashlib.sha256()
                start = at + len(delimiter)
            else:
                self._segment.update(data[start : at + 1])
                start = at + 1
        else:
            # Keep what may be the start of a delimiter split across chunks.
            at = max(start, len(data) - len(delimiter) - 1)
        self._segment.update(data[start:at])
        self._pending = data[at:]

    def hexdigest(self) -> str:
        final = self._digest.copy()
        segment = self._segment.copy()
        segment.update(self._pending)
        final.update(segment.digest())
        return final.hexdigest()


def _hashing_request(request: Request, hasher: _MultipartHasher) -> Request:
    """The same request, its body passed through ``hasher`` as the handler reads it."""
    receive = request.receive

    async def hashing_receive() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            hasher.update(message.get("body", b""))
        return message

    return Request(request.scope, receive=hashing_receive)


def _store_idempotent(
    request: Request, session: AsyncSession, pending: _PendingKey, response: Response
) -> None:
    body = getattr(response, "body", None)
    if not isinstance(body, bytes | bytearray):
        return  # streamed responses are not replayable
    idempotency.store_response(
        session,
        pending.scope,
        pending.key,
        request_hash=pending.body_hash,
        status_code=response.status_code,
        headers={k: v for k, v in response.headers.items() if k.lower() in _REPLAYED_HEADERS},
        body=bytes(body),
        field_key=request.app.state.settings.encryption_keys,
    )
