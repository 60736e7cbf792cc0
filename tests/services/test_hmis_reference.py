"""The FY2026 specification as the code reads it, the value rules in Python and in SQL giving
the same answers, the importer's fast scan never passing a value the rules refuse, header
matching, HUD's hashing, and the archive's safety checks."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.reference.hmis_csv import (
    FILES,
    ROW_RULES,
    hash_name,
    hash_ssn,
    match_header,
    spec,
    specification,
    sql_value_rule,
    value_rule,
)
from app.services.hmis.archive import Limits, open_archive
from app.services.hmis.validate import fast_ok
from tests.support.hmis import DATALAB


def test_every_fy2026_file_has_the_specifications_columns_in_order() -> None:
    files = specification()
    assert tuple(files) == FILES and len(FILES) == 24
    client = spec("Client")
    assert client.header[:3] == ("PersonalID", "FirstName", "MiddleName")
    assert client.column("SSN").length == 9 and client.column("SSN").nullable
    assert spec("Enrollment").header.count("LOSUnderThreshold") == 1  # listed twice in the TSV
    assert spec("ProjectCoC").has("Geocode")  # "Geocode[1]" in the TSV
    assert spec("Export").column("SourceType").list_id == "1.9"
    assert spec("Export").column("ExportPeriodType").list_id == "1.1"
    assert spec("IncomeBenefits").column("TotalMonthlyIncome").nonnegative
    for name in FILES:
        assert spec(name).primary_key.endswith("ID")
    # The DataLab sample's headers are the spec's, but for what its README names.
    for path in DATALAB.glob("*.csv"):
        found = path.read_text(encoding="utf-8-sig").splitlines()[0].replace('"', "").split(",")
        matched = match_header(spec(path.stem), found)
        assert matched.columns is not None, path.stem
        rules = {rule for rule, _ in matched.problems}
        assert rules <= {"header_case", "missing_column"}, (path.stem, matched.problems)


def test_header_matching() -> None:
    exit_ = spec("Exit")
    header = list(exit_.header)
    assert match_header(exit_, header).problems == ()
    case = [h.replace("WorkplaceViolenceThreats", "WorkPlaceViolenceThreats") for h in header]
    assert [r for r, _ in match_header(exit_, case).problems] == ["header_case"]
    assert match_header(exit_, [*header, "ExtraColumn"]).columns is None
    assert match_header(exit_, list(reversed(header))).columns is None
    assert match_header(exit_, header[1:]).columns is None  # ExitID may not be missing
    without_optional = [h for h in header if h != "OtherDestination"]
    matched = match_header(exit_, without_optional)
    assert matched.missing == ("OtherDestination",)
    assert [r for r, _ in matched.problems] == ["missing_column"]


SAMPLES: dict[tuple[str, str], list[str | None]] = {
    ("Enrollment", "LivingSituation"): [
        "116",
        "17",
        "999",
        "abc",
        "1.5",
        "",
        " 116 ",
        "-1",
        "+5",
        None,
        "0116",
    ],
    ("Enrollment", "EntryDate"): [
        "2021-02-28",
        "2021-02-30",
        "02-07-2023",
        "2021-1-5",
        "1799-01-01",
        "",
        "2024-02-29",
        "2023-02-29",
        "20210228",
        "2200-01-01",
        "18-02-2023",
        "2021/02/28",
        "2021-02-28 BC",
    ],
    ("Enrollment", "DateUpdated"): [
        "2021-02-28 23:59:59",
        "2021-02-28 24:00:00",
        "2021-02-28T10:00:00",
        "2021-02-28",
        "2021-02-28 10:00",
        "9/10/2015 21:39:00",
        "2021-02-28 10:61:00",
        "2021-02-28 10:00:60",
        "2021-02-28 10:00:00.5",
        "18/02/2023 12:00:00",
        "2021/02/28 10:00:00",
        "2021-02-30 10:00:00",
        "2199-12-31 23:59:59",
    ],
    ("Enrollment", "EnrollmentCoC"): ["XX-501", "xx-501", "XX501", "XX-5011", ""],
    ("IncomeBenefits", "TotalMonthlyIncome"): ["10.00", "-1", "1e3", "1.234", "0", "12.5"],
    ("Client", "FirstName"): ["Ann", "A" * 51, "[Ann]", "Ann <x>", "", "Zoë"],
    ("Client", "SSN"): ["123456789", "xxxxx6789", "12345678", "123-45-6789", "XXXXX6789"],
    ("Client", "NameDataQuality"): ["1", "", "3", "99"],
    ("ProjectCoC", "Geocode"): ["123456", "12345", "12345a"],
    ("Exit", "Destination"): ["410", "335", "37", "99"],
    ("Export", "HashStatus"): ["1", "4", "5"],
}


def test_value_rules() -> None:
    los = spec("Enrollment").column("LivingSituation")
    assert value_rule(los, "116") is None
    assert value_rule(los, "17") == "not_allowed_for_field"
    assert value_rule(los, "999") == "not_in_list"
    assert value_rule(los, "abc") == "type_integer"
    assert value_rule(spec("Enrollment").column("EntryDate"), "2021-02-30") == "type_date"
    assert value_rule(spec("Enrollment").column("EntryDate"), "02-07-2023") == "type_date"
    assert value_rule(spec("Client").column("NameDataQuality"), "") == "required"
    assert value_rule(spec("Client").column("FirstName"), "[Ann]") == "characters"
    assert value_rule(spec("Client").column("SSN"), "12345678") == "format"
    # Hashed exports: names and SSNs are hashes, longer than the plain columns.
    assert value_rule(spec("Client").column("FirstName"), hash_name("Ann"), hashed=True) is None
    assert value_rule(spec("Client").column("SSN"), hash_ssn("123456789"), hashed=True) is None


async def test_sql_rules_answer_as_the_python_ones_and_the_fast_scan_passes_no_refused_value(
    db: AsyncSession,
) -> None:
    connection = await db.connection()
    raw = await connection.get_raw_connection()
    conn: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
    for (file, name), values in SAMPLES.items():
        column = spec(file).column(name)
        cleaned = "nullif(btrim(x.v, E' \\t'), '')"
        rule_sql = sql_value_rule(column, "y.v")
        fast_sql = fast_ok(column, "y.v", hashed=False)
        for value in values:
            expected = value_rule(column, value)
            got = await conn.fetchval(
                f"SELECT {rule_sql} FROM (SELECT {cleaned} AS v FROM (SELECT $1::text AS v) x) y",
                value,
            )
            assert got == expected, (file, name, value, got, expected)
            try:
                async with conn.transaction():
                    passed = await conn.fetchval(
                        f"SELECT {fast_sql} FROM (SELECT {cleaned} AS v FROM "
                        f"(SELECT $1::text AS v) x) y",
                        value,
                    )
            except asyncpg.DataError:
                passed = None  # the scan falls back to the exact rules
            assert not (passed and expected is not None), (file, name, value)


async def test_row_rules_answer_the_same_in_python_and_sql(db: AsyncSession) -> None:
    rows = {
        "Event": [
            {"Event": "2", "ProbSolDivRRResult": "1"},
            {"Event": "4", "ReferralResult": "1", "ResultDate": "2021-01-01"},
            {"Event": "14", "ReferralResult": "1", "ResultDate": "2021-01-01"},
            {"Event": "14", "ResultDate": "2021-01-01"},
        ],
        "Client": [
            {"RaceNone": "99", "White": "1"},
            {"RaceNone": "99", "White": "0"},
        ],
        "Disabilities": [
            {"DisabilityType": "10", "DisabilityResponse": "3"},
            {"DisabilityType": "5", "DisabilityResponse": "3"},
            {"DisabilityType": "5", "DisabilityResponse": "1"},
        ],
    }
    for file, samples in rows.items():
        file_spec = spec(file)
        for sample in samples:
            row = {c: sample.get(c) for c in file_spec.header}
            cols = ", ".join(f'CAST(:{i} AS text) AS "{c}"' for i, c in enumerate(file_spec.header))
            params = {str(i): row[c] for i, c in enumerate(file_spec.header)}
            for rule in ROW_RULES:
                if rule.file != file:
                    continue
                got = await db.scalar(text(f"SELECT {rule.sql} FROM (SELECT {cols}) v"), params)
                assert bool(got) == rule.python(row), (file, rule.column, sample)


def test_hud_hashing() -> None:
    assert hash_name("Robert") == hashlib.sha256(b"R163").hexdigest()
    assert hash_name("Rupert") == hash_name("Robert")  # the same Soundex
    assert hash_ssn("123456789") == "6789" + hashlib.sha256(b"123456789").hexdigest()
    assert hash_ssn("6789") == "6789" + hashlib.sha256(b"xxxxx6789").hexdigest()


def _archive(tmp_path: Path, entries: dict[str, bytes]) -> Path:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("entries", "rule"),
    [
        ({"../Client.csv": b"x"}, "unsafe_path"),
        ({"a\\..\\Client.csv": b"x"}, "unsafe_path"),
        ({f"{i}.csv": b"x" for i in range(10)}, "too_many_entries"),
        ({"Client.csv": b"0" * (3 * 1024 * 1024)}, "too_large"),
        ({"Client.csv": b"1", "client.CSV": b"2"}, "duplicate_entry"),
        ({"notes.txt": b"1"}, "unexpected_entry"),
        ({"Extra.csv": b"1"}, "unknown_file"),
    ],
)
def test_the_archive_checks(tmp_path: Path, entries: dict[str, bytes], rule: str) -> None:
    path = _archive(tmp_path, entries)
    with open_archive(str(path), Limits(max_entries=8, max_ratio=100)) as archive:
        assert rule in {i.rule for i in archive.issues}


def test_not_a_zip_and_a_total_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(b"PK\x03\x04 but not a zip")
    with open_archive(str(path), Limits()) as archive:
        assert [i.rule for i in archive.issues] == ["not_a_zip"] and not archive.usable
    big = _archive(tmp_path, {"Client.csv": io.BytesIO(b"1" * 5000).getvalue()})
    with open_archive(str(big), Limits(max_uncompressed_bytes=4000)) as archive:
        assert [i.rule for i in archive.issues] == ["too_large"] and not archive.usable
