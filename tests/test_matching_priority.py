"""A page of candidates writes each one's ``priority`` through functions made once per scheme
(``eligibility.key_entries``): exactly what the queue's ``entries.priority_by`` gives, for
every key in both directions, missing values included."""

from __future__ import annotations

import itertools
from datetime import date
from types import SimpleNamespace

from app.reference.queue import Direction, PriorityKey
from app.services.matching import eligibility
from app.services.queue.entries import priority_by, scheme_rules

TODAY = date(2026, 6, 15)


def _rows() -> list[SimpleNamespace]:
    rows = []
    flags = [False, True]
    for recorded, documented, veteran, family, youth in itertools.product(flags, repeat=5):
        for score, days, placed in [
            (None, 0, date(2026, 6, 15)),
            (0, 12, date(2020, 1, 31)),
            (17, 400, date(1999, 12, 31)),
            (3, 1095, date(2026, 7, 1)),  # placed after "today": no negative days shown
        ]:
            rows.append(
                SimpleNamespace(
                    rank=len(rows) + 1,
                    tie_breaker=1000 - len(rows),
                    chronic_recorded=recorded,
                    chronic_documented=documented,
                    veteran=veteran,
                    family_with_children=family,
                    youth=youth,
                    score=score,
                    days_homeless_3y=days,
                    placed_on=placed,
                )
            )
    return rows


def test_every_key_in_both_directions_as_the_queue_writes_it() -> None:
    rows = _rows()
    for key, direction in itertools.product(PriorityKey, Direction):
        rules = scheme_rules([{"key": key.value, "direction": direction.value}])
        keys = eligibility.key_entries(rules)
        for row in rows:
            mine = eligibility.priority_of(row, TODAY, keys)
            theirs = priority_by(row, TODAY, rules)
            assert mine == theirs, (key, direction, row)
            # The same types too (a bool is not written as an int in JSON).
            assert [type(v) for k in mine["keys"] for v in k.values()] == [
                type(v) for k in theirs["keys"] for v in k.values()
            ], (key, direction, row)


def test_a_whole_scheme_in_its_order() -> None:
    scheme = [
        {"key": "chronic", "direction": "desc"},
        {"key": "score", "direction": "desc"},
        {"key": "days_homeless_3y", "direction": "desc"},
        {"key": "days_on_queue", "direction": "desc"},
        {"key": "veteran", "direction": "asc"},
    ]
    rules = scheme_rules(scheme)
    keys = eligibility.key_entries(rules)
    for row in _rows():
        assert eligibility.priority_of(row, TODAY, keys) == priority_by(row, TODAY, rules)
