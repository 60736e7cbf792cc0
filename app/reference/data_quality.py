"""Data-quality issues HUD's reporting glossary counts but accepts (CE APR / APR Q6a "data
issues"): the record is kept as entered, flagged, and listed in the admins' DQ report.

* ``ssn_sequential_or_repeated``: a full SSN of one repeated digit (``111111111``) or of
  consecutive digits (``123456789``, ``987654321``): a placeholder rather than a number;
* ``dob_before_1915``: a date of birth before 1915-01-01;
* ``dob_after_entry``: a date of birth after an enrollment's entry date;
* ``age_over_105``: older than 105 on an enrollment's entry date.
"""

from __future__ import annotations

from datetime import date
from typing import Literal, get_args

DataQualityKind = Literal[
    "ssn_sequential_or_repeated", "dob_before_1915", "dob_after_entry", "age_over_105"
]
DATA_QUALITY_KINDS: tuple[str, ...] = get_args(DataQualityKind)
# Kinds judged on the client alone, and on the client at an enrollment's entry date.
CLIENT_KINDS = ("ssn_sequential_or_repeated", "dob_before_1915")
ENROLLMENT_KINDS = ("dob_after_entry", "age_over_105")

EARLIEST_PLAUSIBLE_DOB = date(1915, 1, 1)
OLDEST_PLAUSIBLE_AGE = 105
ADULT_AGE = 18

_ASCENDING = "0123456789"
_DESCENDING = "9876543210"


def age_on(dob: date, day: date) -> int:
    """Whole years of age on ``day``."""
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def is_adult(dob: date | None, day: date) -> bool | None:
    """18 or older on ``day``; None when the date of birth is unknown."""
    return None if dob is None else age_on(dob, day) >= ADULT_AGE


def ssn_is_sequential_or_repeated(ssn: str | None) -> bool:
    """A full (nine-digit) SSN of one repeated digit or of consecutive digits."""
    if ssn is None or len(ssn) != 9 or not ssn.isdigit():
        return False
    return len(set(ssn)) == 1 or ssn in _ASCENDING or ssn in _DESCENDING


def client_issues(ssn: str | None, dob: date | None) -> set[str]:
    found = set()
    if ssn_is_sequential_or_repeated(ssn):
        found.add("ssn_sequential_or_repeated")
    if dob is not None and dob < EARLIEST_PLAUSIBLE_DOB:
        found.add("dob_before_1915")
    return found


def enrollment_issues(dob: date | None, entry_date: date) -> set[str]:
    found: set[str] = set()
    if dob is None:
        return found
    if dob > entry_date:
        found.add("dob_after_entry")
    elif age_on(dob, entry_date) > OLDEST_PLAUSIBLE_AGE:
        found.add("age_over_105")
    return found
