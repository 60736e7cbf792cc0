"""ETags from row versions, and the ``If-Match`` check (412 when stale, 428 when required and
missing). The ETag of a resource is its ``version`` in quotes: ``version: 3`` is ``ETag: "3"``."""

from __future__ import annotations

from fastapi import Response

from app.errors import PreconditionFailed, PreconditionRequired


def etag_for(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_for(version)


class RequiredIfMatch(str):
    """The ``If-Match`` value of an operation that requires one (``IfMatchRequired`` in
    ``app.deps``); empty when the header was not sent, which ``check_if_match`` answers 428."""


def check_if_match(if_match: str | None, version: int) -> None:
    """No header: the write goes ahead, unless the operation requires one (428). A header that
    doesn't name the current version: 412. Call it after looking the resource up, so a caller
    who may not see it gets 404 first."""
    if isinstance(if_match, RequiredIfMatch) and not if_match:
        raise PreconditionRequired(
            "Send If-Match with the ETag from your last read of this resource (its version in "
            'quotes, e.g. If-Match: "3"); several people edit it, so an update without one is '
            "refused.",
            extra={"current_etag": etag_for(version)},
        )
    if if_match is None:
        return
    candidates = [c.strip() for c in if_match.split(",")]
    if "*" in candidates:
        return
    current = etag_for(version)
    if not any(c == current or c == f"W/{current}" for c in candidates):
        raise PreconditionFailed(
            "The resource has changed since you read it (If-Match does not match the current "
            "ETag). Reload it and apply your change again.",
            extra={"current_etag": current},
        )
