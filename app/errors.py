"""Domain errors and the RFC 9457 problem+json body.

Services raise ``DomainError`` subclasses; the handlers of ``app.http.problems`` turn every
error, FastAPI's own validation errors included, into ``application/problem+json``. This module
imports no web framework, so every layer may raise these.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from typing import Any

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


class PreconditionRequired(DomainError):
    """An update of a record several people edit was sent without ``If-Match``."""

    status, slug, title = 428, "precondition-required", "Precondition required"


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
