"""The list page: ``{items, next_cursor}``, and what a request asks for (``limit``, ``cursor``)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class Page(BaseModel, Generic[T]):
    """A list page: pass ``next_cursor`` back as ``cursor`` for the next one (null: the last)."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Opaque cursor of the next page; null on the last page."
    )


class PageParams(BaseModel):
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
