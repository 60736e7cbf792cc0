"""Shaping the queue's rows (``queue.entries``): the per-scheme rules the list uses give every
key's value and sort value exactly as the reference functions do, and a page shaped at once
equals its rows shaped one by one."""

from __future__ import annotations

import itertools
import uuid
from collections import namedtuple
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.reference.queue import Direction, PriorityKey
from app.services.queue.entries import key_value, priority, shape, shape_page, sort_value
from app.services.queue.listing import ROW_COLUMNS

TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
Row = namedtuple("Row", ROW_COLUMNS)  # type: ignore[misc]


def _row(i: int, scheme: list[dict[str, str]], **changes: Any) -> Any:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "coc_id": uuid.uuid4(),
        "version": 1 + i,
        "household_id": uuid.uuid4(),
        "head_client_id": uuid.uuid4(),
        "head_enrollment_id": uuid.uuid4(),
        "intake_status": "approved",
        "placed_on": TODAY - timedelta(days=37 * i),
        "score": None if i % 3 == 0 else 4 * i,
        "score_recorded_at": None if i % 3 == 0 else NOW - timedelta(days=i),
        "score_sort": 0,
        "referral_status": "parked" if i % 4 == 1 else "none",
        "parked_until": TODAY + timedelta(days=9) if i % 2 else None,
        "tie_breaker": 1000 + i,
        "priority_key": [i, 1000 + i],
        "chronic_recorded": i % 2 == 0,
        "chronic_documented": i % 5 == 0,
        "days_homeless_3y": 30 * i,
        "veteran": i % 3 == 1,
        "family_with_children": i % 4 == 2,
        "youth": i % 6 == 5,
        "household_size": 1 + i % 4,
        "household_type": "adults_only",
        "documents_on_file": [] if i % 3 == 0 else ["identity"],
        "last_activity_at": None if i % 7 == 0 else NOW - timedelta(days=50 * i),
        "facts_as_of": NOW,
        "facts_stale": False,
        "created_at": NOW,
        "first_name": f"First{i}",
        "last_name": None if i == 2 else f"Last{i}",
        "scheme": scheme,
        "score_tool": "VI-SPDAT",
        "case_managers": [{"user_id": str(uuid.uuid4()), "full_name": "Casey"}],
        "rank": i + 1,
    }
    values.update(changes)
    return Row(**values)


def _scheme(
    keys: tuple[PriorityKey, ...], directions: tuple[Direction, ...]
) -> list[dict[str, str]]:
    return [{"key": k.value, "direction": d.value} for k, d in zip(keys, directions, strict=True)]


def test_each_key_is_shown_and_compared_as_the_reference_computes_it() -> None:
    everything = tuple(PriorityKey)
    for directions in itertools.product(tuple(Direction), repeat=2):
        scheme = _scheme(everything, (directions * len(everything))[: len(everything)])
        for i in range(12):
            row = _row(i, scheme)
            shown = priority(row, TODAY)
            assert shown["rank"] == row.rank and shown["tie_breaker"] == row.tie_breaker
            for item, got in zip(scheme, shown["keys"], strict=True):
                key, direction = PriorityKey(item["key"]), Direction(item["direction"])
                assert (got["key"], got["direction"]) == (key, direction)
                value = key_value(key, row, TODAY)
                assert got["value"] == value and type(got["value"]) is type(value)
                assert got["sort_value"] == sort_value(key, direction, row)


def test_a_page_is_shaped_as_its_rows_one_by_one() -> None:
    first = _scheme((PriorityKey.CHRONIC, PriorityKey.SCORE), (Direction.DESC, Direction.ASC))
    other = _scheme((PriorityKey.YOUTH,), (Direction.ASC,))
    rows = [_row(i, first if i < 7 else other) for i in range(10)]
    assert shape_page(rows, TODAY, NOW) == [shape(r, TODAY, NOW) for r in rows]
    assert shape_page([], TODAY, NOW) == []
    shaped = shape(rows[1], TODAY, NOW)
    assert shaped["parked_until"] == rows[1].parked_until  # parked
    assert shape(rows[3], TODAY, NOW)["parked_until"] is None  # not parked
    assert shape(rows[0], TODAY, NOW)["inactive"] is True  # no activity at all
