"""Domain errors and their RFC 9457 problem+json rendering.

Services raise ``DomainError`` subclasses; one set of handlers turns every error, FastAPI's own
validation errors included, into ``application/problem+json``.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("app.errors")

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "/problems/"


class DomainError(Exception):
    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"
    # True when the unit of work must still be committed although the request fails
    # (e.g. counting a failed login, revoking a reused refresh token's session).
    commit: bool = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        commit: bool | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers
        self.extra = extra or {}
        if commit is not None:
            self.commit = commit


class BadRequest(DomainError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(DomainError):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kw)


class Forbidden(DomainError):
    status, slug, title = 403, "forbidden", "Forbidden"


class VSPForbidden(Forbidden):
    slug, title = "victim-service-provider", "Not available to victim service providers"


class NotFound(DomainError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(DomainError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(DomainError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(DomainError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class ValidationFailed(DomainError):
    status, slug, title = 422, "validation-error", "Validation failed"

    def __init__(self, detail: str, *, field: str | None = None, **kw: Any) -> None:
        if field is not None and "errors" not in kw:
            loc = ["body", *field.split(".")] if field else ["body"]
            kw["errors"] = [{"loc": loc, "msg": detail, "type": "value_error"}]
        super().__init__(detail, **kw)


class TooManyRequests(DomainError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class StorageUnavailable(DomainError):
    """The file store cannot be used (full, read-only, unreachable): nothing was written."""

    status, slug, title = 503, "storage-unavailable", "File storage unavailable"
    retry_after_seconds = 30

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"Retry-After": str(self.retry_after_seconds)})
        super().__init__(
            detail or "Files cannot be stored or read right now; nothing was saved. Retry later.",
            **kw,
        )


RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(DomainError):
    """PostgreSQL is unreachable, too slow (a timeout) or refusing connections."""

    status, slug, title = 503, "database-unavailable", "Database unavailable"

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"Retry-After": str(RETRY_AFTER_SECONDS)})
        super().__init__(detail or "The database is not answering right now; retry shortly.", **kw)


def problem_body(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors is not None:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return body


def problem_response(
    request: Request | None,
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
    instance: str | None = None,
) -> JSONResponse:
    body = problem_body(
        status=status,
        slug=slug,
        title=title,
        detail=detail,
        instance=instance or (request.url.path if request is not None else ""),
        errors=errors,
        extra=extra,
    )
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_CONTENT_TYPE)


def _clean_validation_errors(errors: Any) -> list[dict[str, Any]]:
    cleaned = []
    for err in errors:
        # Never echo the submitted value back (it may be PII); keep where, what and why.
        loc = [str(p) if not isinstance(p, int) else p for p in err.get("loc", ())]
        cleaned.append({"loc": loc, "msg": str(err.get("msg", "")), "type": str(err.get("type"))})
    return cleaned


_STATUS_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Validation failed"),
    429: ("too-many-requests", "Too many requests"),
}


def install_exception_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(
            request,
            status=exc.status,
            slug=exc.slug,
            title=exc.title,
            detail=exc.detail,
            errors=exc.errors,
            headers=exc.headers,
            extra=exc.extra,
        )

    @app.exception_handler(PoolTimeout)
    async def _pool_timeout(request: Request, exc: PoolTimeout) -> JSONResponse:
        # Every pooled connection stayed busy for CAS_DB_POOL_TIMEOUT_SECONDS.
        log.warning("database pool exhausted")
        return await _domain(
            request, DatabaseUnavailable("The database is too busy right now; retry shortly.")
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _clean_validation_errors(exc.errors())
        malformed = any(e["type"] == "json_invalid" for e in errors)
        if malformed:
            return problem_response(
                request,
                status=400,
                slug="malformed-json",
                title="Malformed JSON",
                detail="The request body is not valid JSON.",
                errors=errors,
            )
        return problem_response(
            request,
            status=422,
            slug="validation-error",
            title="Validation failed",
            detail="The request has invalid or missing fields; see errors.",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug, title = _STATUS_SLUGS.get(exc.status_code, ("error", "Error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem_response(
            request,
            status=exc.status_code,
            slug=slug,
            title=title,
            detail=detail,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        # Normally answered (and logged) by RequestContextMiddleware already; this is the
        # fallback when the app runs without it.
        log_unhandled(exc)
        body = internal_error_body(request.url.path)
        return JSONResponse(body, status_code=500, media_type=PROBLEM_CONTENT_TYPE)


def internal_error_body(instance: str) -> dict[str, Any]:
    return problem_body(
        status=500,
        slug="internal-error",
        title="Internal server error",
        detail="An unexpected error occurred. Quote the request id when reporting it.",
        instance=instance,
    )


def log_unhandled(exc: BaseException) -> None:
    """Log where it failed, not the message: driver messages can quote submitted values."""
    if getattr(exc, "_cas_logged", False):
        return
    frames = traceback.extract_tb(exc.__traceback__)
    where = [f"{f.filename}:{f.lineno} in {f.name}" for f in frames[-8:]]
    log.error("unhandled error", extra={"error_type": type(exc).__name__, "frames": where})
    with contextlib.suppress(AttributeError):
        exc._cas_logged = True  # type: ignore[attr-defined]
