"""ETags from row versions, and the ``If-Match`` check (412 when stale)."""

from __future__ import annotations

from fastapi import Response

from app.errors import PreconditionFailed


def etag_for(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_for(version)


def check_if_match(if_match: str | None, version: int) -> None:
    """No header: the write goes ahead. A header that doesn't name the current version: 412."""
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
