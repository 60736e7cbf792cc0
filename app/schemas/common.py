"""Shared schema pieces: write/read bases, the problem document, declared error responses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.errors import PROBLEM_CONTENT_TYPE


class WriteModel(BaseModel):
    """Request bodies reject unknown fields, so typos are errors rather than silently lost, and
    text PostgreSQL cannot store (NUL characters, unpaired surrogates) is a 422, not a 500."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        for text in _strings(value):
            if "\x00" in text:
                raise ValueError("must not contain NUL characters")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("must be valid Unicode text") from None
        return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple | set | frozenset):
        return [v for v in value if isinstance(v, str)]
    return []


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ProblemError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["/problems/not-found"])
    title: str
    status: int
    detail: str
    instance: str
    errors: list[ProblemError] | None = None


_DESCRIPTIONS = {
    400: "Malformed request (e.g. invalid JSON)",
    401: "Missing, invalid or expired credentials",
    403: "Not permitted for the caller's role or organization",
    404: "Not found, or not visible to the caller",
    409: "Conflicts with the current state",
    412: "If-Match does not match the current version",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Too many requests",
    503: "Temporarily unavailable; retry after the Retry-After delay",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS[status],
            "content": {PROBLEM_CONTENT_TYPE: {}},
        }
        for status in statuses
    }


# Every API route may answer these.
COMMON_PROBLEMS = problems(400, 401, 403, 404, 413, 422, 429)
