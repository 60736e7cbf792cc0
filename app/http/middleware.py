"""Pure ASGI middleware: request id + access log + security headers, and body size limits."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PROBLEM_CONTENT_TYPE, internal_error_body, log_unhandled, problem_body
from app.http.logging import request_id_var

access_log = logging.getLogger("app.access")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "geolocation=(), camera=(), microphone=()",
}
# Interactive docs load their own scripts and styles; everything else is plain data.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOC_PATHS = ("/docs", "/redoc")


class RequestContextMiddleware:
    """Assigns ``X-Request-ID``, adds security headers and writes one access log line."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts
        security = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        csp = [(b"content-security-policy", API_CSP.encode())]
        no_store = [(b"cache-control", b"no-store")]
        hsts_header = [(b"strict-transport-security", b"max-age=31536000")] if hsts else []
        # The headers a response gets unless it set them, in this order, by (doc path, /api/).
        self._by_kind = {
            (doc, api): security + ([] if doc else csp) + (no_store if api else []) + hsts_header
            for doc in (False, True)
            for api in (False, True)
        }

    def _defaults(self, path: str) -> list[tuple[bytes, bytes]]:
        return self._by_kind[(path.startswith(DOC_PATHS), path.startswith("/api/"))]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id")
        rid = incoming if incoming and _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status_holder = {"status": 500}
        path: str = scope.get("path", "")
        defaults = self._defaults(path)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = rid
                # What the response set itself is kept; the rest is added (one pass over the
                # response's headers, not one per header added).
                raw = headers.raw
                present = {name for name, _ in raw}
                for key, value in defaults:
                    if key not in present:
                        raw.append((key, value))
            await send(message)

        started_holder = {"started": False}

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started_holder["started"] = True
            await send_wrapper(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            # Starlette's outermost error middleware would answer the 500 outside this one,
            # without the request id and security headers; answer it here instead. The error is
            # re-raised so the server (or a test client) still sees it.
            log_unhandled(exc)
            if not started_holder["started"]:
                body = json.dumps(internal_error_body(path)).encode()
                await send_wrapper(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send_wrapper({"type": "http.response.body", "body": body})
            raise
        finally:
            # Path only: ids, never names (search is POST); the query string is left out.
            access_log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": path,
                    "status": status_holder["status"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)


class BodySizeLimitMiddleware:
    """413 for bodies over the limit, whether announced by Content-Length or streamed."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        json_limit: int,
        upload_limit: int,
        upload_limits: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.json_limit = json_limit
        # Multipart carries the file plus a few small fields.
        self.upload_limit = upload_limit + 256 * 1024
        # Paths that take larger uploads (an HMIS CSV zip), by exact path.
        self.upload_limits = {
            path: limit + 256 * 1024 for path, limit in (upload_limits or {}).items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        ctype = headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):
            limit = self.upload_limits.get(scope.get("path", ""), self.upload_limit)
        else:
            limit = self.json_limit
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(scope, send, limit)
            return

        received = 0
        exceeded = False
        replaced = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _TooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            # The app may turn our signal into its own error (e.g. a 400 "error parsing the
            # body"); once the limit was exceeded, that response is replaced by the 413.
            nonlocal replaced
            if exceeded:
                if message["type"] == "http.response.start" and not replaced:
                    replaced = True
                    await self._reject(scope, send, limit)
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _TooLarge:
            if not replaced:
                await self._reject(scope, send, limit)

    @staticmethod
    async def _reject(scope: Scope, send: Send, limit: int) -> None:
        body = json.dumps(
            problem_body(
                status=413,
                slug="payload-too-large",
                title="Payload too large",
                detail=f"The request body exceeds the limit of {limit} bytes.",
                instance=scope.get("path", ""),
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
