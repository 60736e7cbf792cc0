"""HUD HMIS CSV FY2026: the files, their columns in order, types, code lists and nullability,
read from the machine-readable specification shipped with the app
(``hud/fy2026-csv-columns.tsv``), plus what the TSV does not say on its own: primary and foreign
keys, formats, HUD's conditional "null unless" rules, the fields that exclude codes of their
list, and the hashing of HashStatus 4 (SHA-256).

Every rule exists twice, side by side: as a Python predicate (``value_rule``, ``ROW_RULES``:
the structural validator applied to a zip, ``services.hmis.check``) and as a SQL expression
(``sql_value_rule``, ``ROW_RULES``: the importer's set-based validation of staged rows).
``tests/services/test_hmis_reference.py`` feeds the same values through both and asserts the
same answer.

Column names are the specification's exactly (``Column.name``), whatever CAS calls the field.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

import jellyfish

from app.reference import codes, hud_lists
from app.reference.living_situations import (
    CURRENT_LIVING_SITUATIONS,
    DESTINATIONS,
    LEAVE_SITUATION_ASKED,
    PRIOR_LIVING_SITUATIONS,
)

COLUMNS_FILE = Path(__file__).resolve().parent / "hud" / "fy2026-csv-columns.tsv"

# The files of an FY2026 export, in the order HUD lists them (and parents before children).
FILES: tuple[str, ...] = (
    "Export",
    "Organization",
    "User",
    "Project",
    "Funder",
    "ProjectCoC",
    "Inventory",
    "Affiliation",
    "HMISParticipation",
    "CEParticipation",
    "Client",
    "Enrollment",
    "Exit",
    "IncomeBenefits",
    "HealthAndDV",
    "EmploymentEducation",
    "Disabilities",
    "Services",
    "CurrentLivingSituation",
    "Assessment",
    "AssessmentQuestions",
    "AssessmentResults",
    "Event",
    "YouthEducationStatus",
)

CSV_VERSION = "2026"
EXPORT_CSV_VERSION = "2026 v1.0"
DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Characters HUD does not permit in string fields.
IMPERMISSIBLE = "[]<>{}"
IMPERMISSIBLE_SQL_CLASS = "[][<>{}]"
_IMPERMISSIBLE_RE = re.compile(r"[\[\]<>{}]")

Severity = Literal["high", "warning", "info"]
Kind = Literal["S", "I", "D", "T", "M"]

# --- the specification ------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    file: str
    name: str
    kind: Kind
    length: int | None  # strings: at most this many characters
    list_id: str | None  # the code list the value comes from (None: free value)
    nullable: bool
    element: str  # HUD data element ("3.917.1"), may be empty
    notes: str
    nonnegative: bool = False  # money "M+"

    @property
    def is_key(self) -> bool:
        return self.name.endswith("ID") and self.kind == "S"


@dataclass(frozen=True)
class FileSpec:
    name: str
    columns: tuple[Column, ...]

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def header(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def primary_key(self) -> str:
        return self.columns[0].name

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name}.{name}")

    def has(self, name: str) -> bool:
        return name in self.header


# Lists the TSV names by a spreadsheet's rendering of the number ("1.1000000000000001").
_LIST_ALIASES = {"1.1000000000000001": "1.1"}
# Columns whose list the TSV leaves out or describes in a note.
_LIST_OVERRIDES = {
    ("Export", "SourceType"): "1.9",
    ("AssessmentQuestions", "AssessmentQuestion"): None,
    ("AssessmentQuestions", "AssessmentAnswer"): None,
    ("AssessmentResults", "AssessmentResultType"): None,
    ("AssessmentResults", "AssessmentResult"): None,
    # Lists that depend on another field of the row: ROW_RULES check them.
    ("Disabilities", "DisabilityResponse"): None,
    ("Services", "TypeProvided"): None,
    ("Services", "SubTypeProvided"): None,
}
_FOOTNOTE = re.compile(r"\[\d+\]$")


def _parse_type(raw: str) -> tuple[Kind, int | None, bool]:
    raw = raw.strip()
    if raw.startswith("S"):
        return "S", int(raw[1:]) if raw[1:] else 32, False
    if raw.startswith("M"):
        return "M", None, raw.endswith("+")
    if raw in ("I", "D", "T"):
        return raw, None, False  # type: ignore[return-value]
    raise ValueError(f"unknown HUD type {raw!r}")


@lru_cache
def specification() -> dict[str, FileSpec]:
    """Every file's columns in order, from the TSV. A name listed twice (one CSV column for two
    data elements, e.g. ``LOSUnderThreshold``) is one column."""
    columns: dict[str, list[Column]] = {name: [] for name in FILES}
    with COLUMNS_FILE.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            file = row["CSV"].strip()
            name = _FOOTNOTE.sub("", row["Name"].strip())
            if file not in columns or any(c.name == name for c in columns[file]):
                continue
            kind, length, nonnegative = _parse_type(row["Type"])
            list_id: str | None = (row["List"] or "").strip() or None
            list_id = _LIST_ALIASES.get(list_id or "", list_id)
            if list_id is not None and list_id not in hud_lists():
                list_id = None  # "*", "(see note)"
            list_id = _LIST_OVERRIDES.get((file, name), list_id)
            columns[file].append(
                Column(
                    file=file,
                    name=name,
                    kind=kind,
                    length=length,
                    list_id=list_id,
                    nullable=(row["NullAllowed"] or "").strip().upper() == "Y",
                    element=(row["DE"] or "").strip(),
                    notes=(row["Notes"] or "").strip(),
                    nonnegative=nonnegative,
                )
            )
    return {name: FileSpec(name, tuple(cols)) for name, cols in columns.items()}


def spec(file: str) -> FileSpec:
    return specification()[file]


@dataclass(frozen=True)
class HeaderMatch:
    """How a file's header line lines up with the specification: ``columns`` are the spec's
    names of the file's columns in the file's order (None where the header cannot be used),
    ``missing`` the spec's columns the file lacks (loaded as empty), and the findings."""

    columns: tuple[str, ...] | None
    missing: tuple[str, ...]
    problems: tuple[tuple[str, str], ...]  # (rule, message)


def match_header(file_spec: FileSpec, header: list[str]) -> HeaderMatch:
    """Exact names in HUD's order pass. A name that differs only in case is a warning
    (``header_case``), and so is a column the file lacks when its values may be null
    (``missing_column``: FY2026 added some to older layouts). Anything else is
    ``header_mismatch``: an unknown or repeated column, a missing column that may not be null,
    or HUD's columns in another order."""
    names = [h.strip() for h in header]
    if tuple(names) == file_spec.header:
        return HeaderMatch(file_spec.header, (), ())
    by_lower = {c.name.lower(): c.name for c in file_spec.columns}
    problems: list[tuple[str, str]] = []
    mapped: list[str] = []
    unknown: list[str] = []
    for name in names:
        spec_name = by_lower.get(name.lower())
        if spec_name is None:
            unknown.append(name)
            continue
        if spec_name != name:
            problems.append(("header_case", f"Column {name!r} is spelled {spec_name!r} by HUD."))
        mapped.append(spec_name)
    repeated = sorted({n for n in mapped if mapped.count(n) > 1})
    missing = [c for c in file_spec.columns if c.name not in mapped]
    required_missing = [c.name for c in missing if not c.nullable]
    fatal: list[str] = []
    if unknown:
        fatal.append(f"unknown columns {', '.join(repr(u) for u in unknown)}")
    if repeated:
        fatal.append(f"repeated columns {', '.join(repeated)}")
    if required_missing:
        fatal.append(f"missing required columns {', '.join(required_missing)}")
    order = [n for n in file_spec.header if n in mapped]
    if not fatal and mapped != order:
        fatal.append("the columns are not in HUD's order")
    if fatal:
        return HeaderMatch(
            None,
            tuple(c.name for c in missing),
            (("header_mismatch", f"{file_spec.filename}: " + "; ".join(fatal) + "."),),
        )
    for c in missing:
        problems.append(
            (
                "missing_column",
                f"{file_spec.filename} has no {c.name} column; its values are read as empty.",
            )
        )
    return HeaderMatch(tuple(mapped), tuple(c.name for c in missing), tuple(problems))


# --- keys ---------------------------------------------------------------------------------------

# (file, column) -> the file whose primary key it names.
_ENROLLMENT_CHILDREN = (
    "Exit",
    "IncomeBenefits",
    "HealthAndDV",
    "EmploymentEducation",
    "Disabilities",
    "Services",
    "CurrentLivingSituation",
    "Assessment",
    "AssessmentQuestions",
    "AssessmentResults",
    "Event",
    "YouthEducationStatus",
)
_PROJECT_CHILDREN = (
    "Funder",
    "ProjectCoC",
    "Inventory",
    "HMISParticipation",
    "CEParticipation",
)
FOREIGN_KEYS: dict[tuple[str, str], str] = {
    ("Project", "OrganizationID"): "Organization",
    **{(f, "ProjectID"): "Project" for f in _PROJECT_CHILDREN},
    ("Affiliation", "ProjectID"): "Project",
    ("Affiliation", "ResProjectID"): "Project",
    ("Enrollment", "PersonalID"): "Client",
    ("Enrollment", "ProjectID"): "Project",
    **{(f, "EnrollmentID"): "Enrollment" for f in _ENROLLMENT_CHILDREN},
    ("AssessmentQuestions", "AssessmentID"): "Assessment",
    ("AssessmentResults", "AssessmentID"): "Assessment",
}
# Files hung off an enrollment: their PersonalID must be the enrollment's.
ENROLLMENT_CHILDREN = _ENROLLMENT_CHILDREN

# --- formats ------------------------------------------------------------------------------------

COC_CODE = r"^[A-Za-z]{2}-[0-9]{3}$"
_FORMATS: dict[str, str] = {
    "CoCCode": COC_CODE,
    "EnrollmentCoC": COC_CODE,
    "Geocode": r"^[0-9]{6}$",
    "ZIP": r"^[0-9]{5}$",
    "State": r"^[A-Za-z]{2}$",
    "SSN": r"^[0-9xX]{9}$",
    "UserPhone": r"^[2-9][0-9]{2}[2-9][0-9]{2}[0-9]{4}$",
    "SourceContactPhone": r"^[2-9][0-9]{2}[2-9][0-9]{2}[0-9]{4}$",
    "UserExtension": r"^[0-9]{1,5}$",
    "SourceContactExtension": r"^[0-9]{1,5}$",
    "UserEmail": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    "SourceContactEmail": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
}
# HashStatus 4: names are SHA-256 (hex) of their Soundex; the SSN is its last four characters in
# clear followed by the SHA-256 of the x-padded nine.
HASHED_NAME = r"^[0-9a-f]{64}$"
HASHED_SSN = r"^[0-9xX]{4}[0-9a-f]{64}$"
HASHED_COLUMNS = frozenset({"FirstName", "MiddleName", "LastName", "SSN"})


def column_format(column: Column, *, hashed: bool = False) -> str | None:
    """The pattern a value of ``column`` must match (None: any text)."""
    if column.file == "Client" and hashed and column.name in HASHED_COLUMNS:
        return HASHED_SSN if column.name == "SSN" else HASHED_NAME
    return _FORMATS.get(column.name)


# --- code lists ---------------------------------------------------------------------------------

# Fields that take a list but not all of it (HUD README of the lists).
FIELD_CODES: dict[tuple[str, str], frozenset[int]] = {
    ("Enrollment", "LivingSituation"): PRIOR_LIVING_SITUATIONS,
    ("CurrentLivingSituation", "CurrentLivingSituation"): CURRENT_LIVING_SITUATIONS,
    ("Exit", "Destination"): DESTINATIONS,
}


def list_codes(column: Column) -> frozenset[int] | None:
    return codes(column.list_id) if column.list_id is not None else None


def field_codes(column: Column) -> frozenset[int] | None:
    """The codes the field accepts when it takes only part of its list."""
    return FIELD_CODES.get((column.file, column.name))


# --- one value ----------------------------------------------------------------------------------

_INTEGER = re.compile(r"^-?[0-9]{1,9}$")
_MONEY = re.compile(r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$")
_DATE_SHAPE = re.compile(r"^(1[89]|2[01])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
_DATETIME_SHAPE = re.compile(
    r"^(1[89]|2[01])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) "
    r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
)
# The same shapes for PostgreSQL's ``~`` (POSIX).
SQL_INTEGER = r"^-?[0-9]{1,9}$"
SQL_MONEY = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$"
SQL_DATE = r"^(1[89]|2[01])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
SQL_DATETIME = (
    r"^(1[89]|2[01])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) "
    r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
)


def clean(value: str | None) -> str | None:
    """A CSV value as the importer reads it: spaces and tabs around it dropped, empty = null."""
    if value is None:
        return None
    value = value.strip(" \t")
    return value or None


def _valid_date(value: str) -> bool:
    try:
        datetime.strptime(value, DATE_FORMAT)
    except ValueError:
        return False
    return True


def _valid_datetime(value: str) -> bool:
    try:
        datetime.strptime(value, DATETIME_FORMAT)
    except ValueError:
        return False
    return True


def value_rule(column: Column, raw: str | None, *, hashed: bool = False) -> str | None:
    """The first rule the (cleaned) value breaks, or None. Rules: ``required``,
    ``type_integer``, ``type_date``, ``type_datetime``, ``type_money``, ``negative_money``,
    ``too_long``, ``characters``, ``format``, ``not_in_list``, ``not_allowed_for_field``."""
    value = clean(raw)
    if value is None:
        return None if column.nullable else "required"
    if column.kind == "I":
        if not _INTEGER.match(value):
            return "type_integer"
        allowed = list_codes(column)
        if allowed is not None and int(value) not in allowed:
            return "not_in_list"
        narrowed = field_codes(column)
        if narrowed is not None and int(value) not in narrowed:
            return "not_allowed_for_field"
        return None
    if column.kind == "D":
        return None if _DATE_SHAPE.match(value) and _valid_date(value) else "type_date"
    if column.kind == "T":
        return None if _DATETIME_SHAPE.match(value) and _valid_datetime(value) else "type_datetime"
    if column.kind == "M":
        if not _MONEY.match(value):
            return "type_money"
        return "negative_money" if column.nonnegative and value.startswith("-") else None
    hashed_column = hashed and column.file == "Client" and column.name in HASHED_COLUMNS
    if column.length is not None and len(value) > column.length and not hashed_column:
        return "too_long"
    if _IMPERMISSIBLE_RE.search(value):
        return "characters"
    pattern = column_format(column, hashed=hashed)
    if pattern is not None and not re.match(pattern, value):
        return "format"
    return None


def _sql_in(values: frozenset[int]) -> str:
    return "(" + ", ".join(str(v) for v in sorted(values)) + ")"


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_day_past_month_end(expr: str) -> str:
    """The day is past its month's last day (2021-02-30), for a value of the date shape; never
    raises (a cast of the date would)."""
    return (
        f"substr({expr}, 9, 2)::int > extract(day from make_date(substr({expr}, 1, 4)::int, "
        f"substr({expr}, 6, 2)::int, 1) + interval '1 month' - interval '1 day')"
    )


def sql_value_rule(column: Column, expr: str, *, hashed: bool = False) -> str:
    """``value_rule`` as a SQL expression over ``expr`` (the cleaned text: NULL when empty):
    the rule's name, or NULL. It never raises: dates are checked by their shape, then their
    day against their month's length."""
    required = "NULL" if column.nullable else "'required'"
    whens: list[str] = [f"WHEN {expr} IS NULL THEN {required}"]
    if column.kind == "I":
        whens.append(f"WHEN {expr} !~ {sql_literal(SQL_INTEGER)} THEN 'type_integer'")
        allowed = list_codes(column)
        if allowed is not None:
            whens.append(f"WHEN ({expr})::int NOT IN {_sql_in(allowed)} THEN 'not_in_list'")
        narrowed = field_codes(column)
        if narrowed is not None:
            whens.append(
                f"WHEN ({expr})::int NOT IN {_sql_in(narrowed)} THEN 'not_allowed_for_field'"
            )
    elif column.kind == "D":
        whens.append(f"WHEN {expr} !~ {sql_literal(SQL_DATE)} THEN 'type_date'")
        whens.append(f"WHEN {_sql_day_past_month_end(expr)} THEN 'type_date'")
    elif column.kind == "T":
        whens.append(f"WHEN {expr} !~ {sql_literal(SQL_DATETIME)} THEN 'type_datetime'")
        whens.append(f"WHEN {_sql_day_past_month_end(expr)} THEN 'type_datetime'")
    elif column.kind == "M":
        whens.append(f"WHEN {expr} !~ {sql_literal(SQL_MONEY)} THEN 'type_money'")
        if column.nonnegative:
            whens.append(f"WHEN left({expr}, 1) = '-' THEN 'negative_money'")
    else:
        hashed_column = hashed and column.file == "Client" and column.name in HASHED_COLUMNS
        if column.length is not None and not hashed_column:
            whens.append(f"WHEN length({expr}) > {column.length} THEN 'too_long'")
        whens.append(f"WHEN {expr} ~ {sql_literal(IMPERMISSIBLE_SQL_CLASS)} THEN 'characters'")
        pattern = column_format(column, hashed=hashed)
        if pattern is not None:
            whens.append(f"WHEN {expr} !~ {sql_literal(pattern)} THEN 'format'")
    return "CASE " + " ".join(whens) + " END"


# --- rules across the fields of one row ----------------------------------------------------------

Row = Mapping[str, str | None]


def _int(row: Row, name: str) -> int | None:
    value = clean(row.get(name))
    return int(value) if value is not None and _INTEGER.match(value) else None


def _present(row: Row, name: str) -> bool:
    return clean(row.get(name)) is not None


def _sql_int(name: str) -> str:
    """A column's integer in SQL (NULL unless it is one), over the cleaned text ``v."Name"``."""
    col = f'v."{name}"'
    return f"(CASE WHEN {col} ~ {sql_literal(SQL_INTEGER)} THEN ({col})::int END)"


@dataclass(frozen=True)
class RowRule:
    """A rule across fields of one row: ``column`` breaks ``rule`` when ``python(row)`` /
    ``sql`` (over the cleaned text of the row's columns, ``v."Name"``) is true."""

    file: str
    column: str
    rule: str
    python: Callable[[Row], bool]
    sql: str
    severity: Severity = "warning"
    message: str = ""


def _null_unless(
    file: str, column: str, condition: Callable[[Row], bool], sql_condition: str, why: str
) -> RowRule:
    return RowRule(
        file=file,
        column=column,
        rule="null_unless",
        python=lambda row: _present(row, column) and not condition(row),
        sql=f'(v."{column}" IS NOT NULL AND NOT COALESCE({sql_condition}, FALSE))',
        message=f"{column} is given but must be empty unless {why} (HUD).",
    )


def _int_is(name: str, values: frozenset[int] | set[int]) -> tuple[Callable[[Row], bool], str]:
    return (
        lambda row: _int(row, name) in values,
        f"{_sql_int(name)} IN {_sql_in(frozenset(values))}",
    )


def _null_unless_int(
    file: str, column: str, other: str, values: frozenset[int] | set[int]
) -> RowRule:
    python, sql = _int_is(other, values)
    return _null_unless(
        file, column, python, sql, f"{other} is {' or '.join(str(v) for v in sorted(values))}"
    )


# Dependent code lists: Disabilities.DisabilityResponse by DisabilityType, Services.TypeProvided
# by RecordType (HUD's notes).
DISABILITY_RESPONSE_LISTS = {10: "4.10.2"}
DISABILITY_RESPONSE_DEFAULT = "1.8"
TYPE_PROVIDED_LISTS: dict[int, str] = {
    141: "P1.2",
    142: "R14.2",
    143: "W1.2",
    144: "V2.2",
    151: "W2.2",
    152: "V3.3",
    161: "P2.2",
    200: "4.14",
    210: "V8.2",
    300: "C2.2",
}


def _dependent_list(
    file: str, column: str, key: str, lists: dict[int, str], default: str | None
) -> RowRule:
    known = {k: codes(v) for k, v in lists.items() if v in hud_lists()}
    fallback = codes(default) if default is not None else None

    def python(row: Row) -> bool:
        value = _int(row, column)
        if value is None:
            return False
        allowed = known.get(_int(row, key) or -1, fallback)
        return allowed is not None and value not in allowed

    cases = " ".join(
        f"WHEN {_sql_int(key)} = {k} THEN {_sql_int(column)} NOT IN {_sql_in(v)}"
        for k, v in sorted(known.items())
    )
    otherwise = (
        f"ELSE {_sql_int(column)} NOT IN {_sql_in(fallback)}" if fallback is not None else ""
    )
    return RowRule(
        file=file,
        column=column,
        rule="not_in_list",
        python=python,
        sql=f"({_sql_int(column)} IS NOT NULL AND COALESCE(CASE {cases} {otherwise} END, FALSE))",
        severity="high",
        message=f"{column} is not in the code list that goes with its {key} (HUD).",
    )


_RACES = (
    "AmIndAKNative",
    "Asian",
    "BlackAfAmerican",
    "HispanicLatinao",
    "MidEastNAfrican",
    "NativeHIPacific",
    "White",
)
_EVENT_RESULTS = (
    ("ProbSolDivRRResult", frozenset({2})),
    ("ReferralCaseManageAfter", frozenset({5})),
    ("ReferralResult", frozenset({10, 11, 12, 13, 14, 15, 17, 18})),
    ("LocationCrisisOrPHHousing", frozenset({10, 11, 12, 13, 14, 15, 17, 18})),
)
_INCOME_IDENTIFY = (
    ("OtherIncomeSourceIdentify", "OtherIncomeSource"),
    ("OtherBenefitsSourceIdentify", "OtherBenefitsSource"),
    ("OtherInsuranceIdentify", "OtherInsurance"),
)
_INSURANCE_REASONS = (
    ("NoMedicaidReason", "Medicaid"),
    ("NoMedicareReason", "Medicare"),
    ("NoSCHIPReason", "SCHIP"),
    ("NoVHAReason", "VHAServices"),
    ("NoEmployerProvidedReason", "EmployerProvided"),
    ("NoCOBRAReason", "COBRA"),
    ("NoPrivatePayReason", "PrivatePay"),
    ("NoStateHealthInsReason", "StateHealthIns"),
    ("NoIndianHealthServicesReason", "IndianHealthServices"),
)
_LEAVE_FOLLOW_UPS = ("SubsequentResidence", "ResourcesToObtain", "LeaseOwn60Day", "MovedTwoOrMore")


def _race_none_rule() -> RowRule:
    def python(row: Row) -> bool:
        return _present(row, "RaceNone") and any(_int(row, r) == 1 for r in _RACES)

    any_race = " OR ".join(f"{_sql_int(r)} = 1" for r in _RACES)
    return RowRule(
        file="Client",
        column="RaceNone",
        rule="null_unless",
        python=python,
        sql=f'(v."RaceNone" IS NOT NULL AND ({any_race}))',
        message="RaceNone is given although a race is selected (HUD 3.04).",
    )


def _result_date_rule() -> RowRule:
    return _null_unless(
        "Event",
        "ResultDate",
        lambda row: _present(row, "ReferralResult"),
        'v."ReferralResult" IS NOT NULL',
        "ReferralResult is given",
    )


ROW_RULES: tuple[RowRule, ...] = (
    _null_unless_int("Enrollment", "RentalSubsidyType", "LivingSituation", {435}),
    _null_unless_int("Enrollment", "PreferredLanguageDifferent", "PreferredLanguage", {21}),
    _null_unless_int("Exit", "DestinationSubsidyType", "Destination", {435}),
    _null_unless_int("Exit", "OtherDestination", "Destination", {17}),
    _null_unless_int("CurrentLivingSituation", "CLSSubsidyType", "CurrentLivingSituation", {435}),
    _null_unless_int(
        "CurrentLivingSituation",
        "LeaveSituation14Days",
        "CurrentLivingSituation",
        LEAVE_SITUATION_ASKED,
    ),
    *(
        _null_unless_int("CurrentLivingSituation", c, "LeaveSituation14Days", {1})
        for c in _LEAVE_FOLLOW_UPS
    ),
    *(_null_unless_int("Event", c, "Event", events) for c, events in _EVENT_RESULTS),
    _result_date_rule(),
    _null_unless_int("HealthAndDV", "WhenOccurred", "DomesticViolenceSurvivor", {1}),
    _null_unless_int("HealthAndDV", "CurrentlyFleeing", "DomesticViolenceSurvivor", {1}),
    *(_null_unless_int("IncomeBenefits", c, other, {1}) for c, other in _INCOME_IDENTIFY),
    *(_null_unless_int("IncomeBenefits", c, other, {0}) for c, other in _INSURANCE_REASONS),
    _race_none_rule(),
    _dependent_list(
        "Disabilities",
        "DisabilityResponse",
        "DisabilityType",
        DISABILITY_RESPONSE_LISTS,
        DISABILITY_RESPONSE_DEFAULT,
    ),
    _dependent_list("Services", "TypeProvided", "RecordType", TYPE_PROVIDED_LISTS, None),
)


def row_rules(file: str) -> tuple[RowRule, ...]:
    return tuple(r for r in ROW_RULES if r.file == file)


_GUARDED_INT = re.compile(
    r"\(CASE WHEN (v\.\"\w+\") ~ '" + re.escape(SQL_INTEGER) + r"' THEN \(\1\)::int END\)"
)


def typed_sql(sql: str) -> str:
    """A row rule's SQL for rows whose integers are known to be integers (they passed the
    value rules): plain casts instead of the guard that keeps it from raising."""
    return _GUARDED_INT.sub(r"(\1)::int", sql)


# --- severities ---------------------------------------------------------------------------------

# How bad each rule is: ``high`` stops a load before anything is written; ``warning`` is loaded
# (the report says what was done with the value); ``info`` is for the record.
RULE_SEVERITY: dict[str, Severity] = {
    # the archive and its files
    "not_a_zip": "high",
    "unsafe_path": "high",
    "too_many_entries": "high",
    "too_large": "high",
    "encrypted_entry": "high",
    "duplicate_entry": "high",
    "unexpected_entry": "warning",
    "missing_file": "high",
    "unknown_file": "warning",
    "empty_file": "high",
    "header_mismatch": "high",
    "header_case": "warning",
    "missing_column": "warning",
    "malformed_row": "high",
    "encoding": "high",
    "csv_version": "high",
    "export_rows": "high",
    "hashed_data": "high",
    "hash_status_mismatch": "warning",
    # values
    "required": "warning",
    "type_integer": "high",
    "type_date": "high",
    "type_datetime": "high",
    "type_money": "high",
    "negative_money": "high",
    "too_long": "high",
    "not_in_list": "high",
    "not_allowed_for_field": "warning",
    "format": "warning",
    "characters": "warning",
    "null_unless": "warning",
    # keys
    "duplicate_key": "high",
    "orphan_key": "high",
    "personal_id_mismatch": "high",
    "export_id_mismatch": "high",
    "unknown_user": "warning",
    # fitting the CAS model
    "value_defaulted": "warning",
    "value_dropped": "warning",
    "row_not_loaded": "warning",
    "not_in_cas_model": "info",
    "second_open_ce_enrollment": "high",
    "duplicate_exit": "high",
    "exit_before_entry": "high",
    "entry_outside_operating_period": "warning",
    "vsp_client_data": "high",
    "database_constraint": "high",
}

# A null in these NOT NULL columns stops the load: the record means nothing without them. A
# null elsewhere is a warning and CAS records its "not collected" answer (99) or a default.
_CRITICAL_NULL = frozenset(
    {
        "EntryDate",
        "ExitDate",
        "InformationDate",
        "EventDate",
        "Event",
        "AssessmentDate",
        "AssessmentType",
        "AssessmentLevel",
        "PrioritizationStatus",
        "DateProvided",
        "RecordType",
        "TypeProvided",
        "DisabilityType",
        "DisabilityResponse",
        "CurrentLivingSituation",
        "Destination",
        "DataCollectionStage",
        "DateCreated",
        "DateUpdated",
        "ExportID",
        "AssessmentQuestion",
        "AssessmentResultType",
        "ProjectName",
        "OrganizationName",
    }
)


def severity(rule: str, column: Column | None = None) -> Severity:
    if rule == "required" and column is not None and _critical(column):
        return "high"
    return RULE_SEVERITY.get(rule, "high")


def _critical(column: Column) -> bool:
    return column.name in _CRITICAL_NULL or (
        column.is_key and column.name not in ("UserID", "HouseholdID")
    )


# --- hashing (HashStatus 4) ---------------------------------------------------------------------


def hash_name(name: str) -> str:
    """SHA-256 (hex) of the name's Soundex, as HUD's SHA-256 (RHY) hashing does."""
    return hashlib.sha256(jellyfish.soundex(name).encode()).hexdigest()


def hash_ssn(ssn: str) -> str:
    """The x-padded SSN's last four characters in clear, then the SHA-256 (hex) of all nine."""
    padded = ssn.rjust(9, "x")
    return padded[-4:] + hashlib.sha256(padded.encode()).hexdigest()


def looks_hashed(value: str | None) -> bool:
    return value is not None and bool(re.match(HASHED_NAME, value))


# --- writing values -----------------------------------------------------------------------------


def text(value: str | None) -> str | None:
    """A string field as HUD permits it: the impermissible characters removed, line breaks and
    tabs turned into spaces."""
    if value is None:
        return None
    cleaned = _IMPERMISSIBLE_RE.sub("", value)
    cleaned = cleaned.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return cleaned.strip() or None


def fmt_date(value: date | None) -> str | None:
    return None if value is None else value.strftime(DATE_FORMAT)


def fmt_datetime(value: datetime | None) -> str | None:
    return None if value is None else value.strftime(DATETIME_FORMAT)


def fmt_money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


@dataclass
class Issue:
    """One finding of a validation: where (file, row = the record's number after the header,
    column), which rule, how bad, and a sentence. Values that may be PII are never quoted."""

    file: str | None
    row: int | None
    column: str | None
    rule: str
    severity: Severity
    message: str = ""


# IncomeBenefits.csv: each FY2026 column and the income_benefits column it comes from (the
# export writes these, the import reads them).
INCOME_BENEFITS_COLUMNS: dict[str, str] = {
    "IncomeFromAnySource": "income_from_any_source",
    "TotalMonthlyIncome": "total_monthly_income",
    "Earned": "earned",
    "EarnedAmount": "earned_amount",
    "Unemployment": "unemployment",
    "UnemploymentAmount": "unemployment_amount",
    "SSI": "ssi",
    "SSIAmount": "ssi_amount",
    "SSDI": "ssdi",
    "SSDIAmount": "ssdi_amount",
    "VADisabilityService": "va_disability_service",
    "VADisabilityServiceAmount": "va_disability_service_amount",
    "VADisabilityNonService": "va_disability_non_service",
    "VADisabilityNonServiceAmount": "va_disability_non_service_amount",
    "PrivateDisability": "private_disability",
    "PrivateDisabilityAmount": "private_disability_amount",
    "WorkersComp": "workers_comp",
    "WorkersCompAmount": "workers_comp_amount",
    "TANF": "tanf",
    "TANFAmount": "tanf_amount",
    "GA": "ga",
    "GAAmount": "ga_amount",
    "SocSecRetirement": "soc_sec_retirement",
    "SocSecRetirementAmount": "soc_sec_retirement_amount",
    "Pension": "pension",
    "PensionAmount": "pension_amount",
    "ChildSupport": "child_support",
    "ChildSupportAmount": "child_support_amount",
    "Alimony": "alimony",
    "AlimonyAmount": "alimony_amount",
    "OtherIncomeSource": "other_income_source",
    "OtherIncomeAmount": "other_income_amount",
    "OtherIncomeSourceIdentify": "other_income_source_identify",
    "BenefitsFromAnySource": "benefits_from_any_source",
    "SNAP": "snap",
    "WIC": "wic",
    "TANFChildCare": "tanf_child_care",
    "TANFTransportation": "tanf_transportation",
    "OtherTANF": "other_tanf",
    "OtherBenefitsSource": "other_benefits_source",
    "OtherBenefitsSourceIdentify": "other_benefits_source_identify",
    "InsuranceFromAnySource": "insurance_from_any_source",
    "Medicaid": "medicaid",
    "NoMedicaidReason": "no_medicaid_reason",
    "Medicare": "medicare",
    "NoMedicareReason": "no_medicare_reason",
    "SCHIP": "schip",
    "NoSCHIPReason": "no_schip_reason",
    "VHAServices": "vha_services",
    "NoVHAReason": "no_vha_reason",
    "EmployerProvided": "employer_provided",
    "NoEmployerProvidedReason": "no_employer_provided_reason",
    "COBRA": "cobra",
    "NoCOBRAReason": "no_cobra_reason",
    "PrivatePay": "private_pay",
    "NoPrivatePayReason": "no_private_pay_reason",
    "StateHealthIns": "state_health_ins",
    "NoStateHealthInsReason": "no_state_health_ins_reason",
    "IndianHealthServices": "indian_health_services",
    "NoIndianHealthServicesReason": "no_indian_health_services_reason",
    "OtherInsurance": "other_insurance",
    "OtherInsuranceIdentify": "other_insurance_identify",
}
