"""HUD HMIS CSV FY2026 code lists, read from the copy shipped with the app (``app/hud``)."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

LISTS_FILE = Path(__file__).resolve().parent / "hud" / "fy2026-csv-lists.tsv"


@lru_cache
def hud_lists() -> dict[str, dict[int, str]]:
    lists: dict[str, dict[int, str]] = {}
    with LISTS_FILE.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            try:
                value = int(row["Value"])
            except (TypeError, ValueError):
                continue
            lists.setdefault(row["List"], {})[value] = row["Text"]
    return lists


def codes(list_id: str) -> frozenset[int]:
    return frozenset(hud_lists()[list_id])


def label(list_id: str, value: int) -> str:
    return hud_lists()[list_id][value]


PROJECT_TYPE_CODES = codes("2.02.6")
PROJECT_TYPE_CE = 14
FUNDING_SOURCE_CODES = codes("2.06.1")
