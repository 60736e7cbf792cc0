"""The list page: ``{items, next_cursor}``, and what a request asks for (``limit``, ``cursor``)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class PageParams(BaseModel):
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
