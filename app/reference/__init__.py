"""HUD HMIS CSV FY2026 code lists and the CAS vocabularies built on them: the one place models,
schemas and services take them from.

The lists are read from the copy shipped with the app (``app/reference/hud``). Domain
vocabularies live beside them: ``living_situations`` (the 3.12.1 groups and their rules),
``clients``, ``ce``, ``documents`` and ``queue``. This package imports nothing from the models,
schemas, services or routers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Literal

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


def sql_list(values: Iterable[int]) -> str:
    """``(0, 1, 8, 9, 99)``: codes for a check constraint's ``IN``."""
    return f"({', '.join(str(v) for v in sorted(values))})"


def in_list_sql(column: str, values: Iterable[int]) -> str:
    return f"{column} IN {sql_list(values)}"


PROJECT_TYPE_CODES = codes("2.02.6")
PROJECT_TYPE_CE = 14
FUNDING_SOURCE_CODES = codes("2.06.1")

# 1.7 No/Yes and 1.8 No/Yes/Reasons for missing data.
YES_NO = codes("1.7")  # 0, 1, 99
YES_NO_REASONS = codes("1.8")  # 0, 1, 8, 9, 99
YesNoReasons = Literal[0, 1, 8, 9, 99]  # list 1.8, as a request field's type
# 3.01.5 / 3.02.2 / 3.03.2: name, SSN and DOB data quality share one list of codes.
DATA_QUALITY = codes("3.01.5")  # 1, 2, 8, 9, 99
RELATIONSHIP_TO_HOH = codes("3.15.1")  # 1-5, 99
SEX = codes("4.21")  # 0, 1, 8, 9, 99
REASONS_MISSING = codes("1.6")  # 8, 9, 99: doesn't know, prefers not to answer, not collected
