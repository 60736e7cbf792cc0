"""The exception handlers: every error becomes an RFC 9457 ``application/problem+json``
response (bodies from ``app.errors.problem_body``)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import (
    PROBLEM_CONTENT_TYPE,
    DatabaseUnavailable,
    DomainError,
    internal_error_body,
    log_unhandled,
    problem_body,
)

log = logging.getLogger("app.errors")


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


STATUS_SLUGS = {
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
        slug, title = STATUS_SLUGS.get(exc.status_code, ("error", "Error"))
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
