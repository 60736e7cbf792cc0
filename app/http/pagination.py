"""Keyset pagination: ``limit`` + opaque ``cursor`` -> ``{items, next_cursor}``.

Lists are ordered by a (sort key, id) pair; the cursor encodes the last row's pair, so each page
is an index range scan, never OFFSET.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.errors import ValidationFailed
from app.schemas.common import datetime_in_range

T = TypeVar("T")

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class PageParams(BaseModel):
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (max 200).")] = (
        DEFAULT_LIMIT
    ),
    cursor: Annotated[
        str | None, Query(max_length=500, description="Opaque cursor from `next_cursor`.")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _encode_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return {"t": v.isoformat()}
    if isinstance(v, date):
        return {"d": v.isoformat()}
    if isinstance(v, uuid.UUID):
        return {"u": str(v)}
    return v


def _decode_value(v: Any) -> Any:
    if isinstance(v, dict):
        if "t" in v:
            return datetime.fromisoformat(v["t"])
        if "d" in v:
            return date.fromisoformat(v["d"])
        if "u" in v:
            return uuid.UUID(str(v["u"]))
    return v


def _invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not valid for this list.",
        errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}],
    )


def decode_cursor(
    cursor: str, size: int, keys: Sequence[InstrumentedAttribute[Any]] | None = None
) -> list[Any]:
    """Decode a cursor; with ``keys``, every value must also fit its column's type, so a
    tampered cursor is a 422 rather than a database error."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != size:
            raise ValueError
        decoded = [_decode_value(v) for v in values]
    except (ValueError, TypeError, KeyError, AttributeError):
        raise _invalid_cursor()
    if keys is not None:
        for key, value in zip(keys, decoded, strict=True):
            if not _fits(key, value):
                raise _invalid_cursor()
    return decoded


_INT_RANGE = (-(2**63), 2**63 - 1)


def _fits(key: InstrumentedAttribute[Any], value: Any) -> bool:
    try:
        expected = key.type.python_type
    except NotImplementedError:  # a type without a Python equivalent: let it through
        return value is not None and not isinstance(value, dict | list)
    if value is None or isinstance(value, dict | list):
        return False
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and _INT_RANGE[0] <= value <= _INT_RANGE[1]
        )
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is str:
        return isinstance(value, str) and "\x00" not in value
    if expected is datetime:
        # Near the ends of the calendar the conversion to UTC overflows.
        return isinstance(value, datetime) and datetime_in_range(value)
    if expected is date:
        return isinstance(value, date) and not isinstance(value, datetime)
    return isinstance(value, expected)


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    params: PageParams,
    keys: Sequence[InstrumentedAttribute[Any]],
    *,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """Run ``stmt`` ordered by ``keys`` (last one unique), one page after ``params.cursor``."""
    if params.cursor:
        after = decode_cursor(params.cursor, len(keys), keys)
        stmt = stmt.where(_after(keys, after, descending))
    order = [k.desc() if descending else k.asc() for k in keys]
    rows = list((await session.scalars(stmt.order_by(*order).limit(params.limit + 1))).unique())
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, k.key) for k in keys])
    return rows, next_cursor


def _after(keys: Sequence[InstrumentedAttribute[Any]], values: list[Any], desc: bool) -> Any:
    # (k1, k2, ...) > (v1, v2, ...) expanded, so mixed types need no row-value support.
    clauses = []
    for i, key in enumerate(keys):
        eq = [keys[j] == values[j] for j in range(i)]
        cmp = key < values[i] if desc else key > values[i]
        clauses.append(and_(*eq, cmp))
    return or_(*clauses)
