"""Staging and validating an FY2026 zip in PostgreSQL, set-based.

Each file is copied (``COPY ... FROM STDIN``, CSV, quoted empty strings read as null) into a
temporary table of text columns with the record's number (``_row``), exactly what a raw COPY
does. Then, per file:

1. **values** (``validate_values``): a fast scan keeps only the rows not obviously valid
   (plain casts, lengths, list membership); the exact rules of ``reference.hmis_csv``
   (``sql_value_rule``, which never raises) run on those rows only. When a cast in the fast
   scan fails, the exact rules run on every row;
2. **rows** (``validate_rows``): HUD's rules across the fields of a row (``ROW_RULES``);
3. **keys** (``validate_keys``): duplicate primary keys, orphan foreign keys (against files
   that could be read), PersonalIDs that are not their enrollment's, ExportIDs that are not
   Export.csv's, UserIDs missing from User.csv.

Findings go to the ``Report``; nothing here writes outside the temporary tables.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from app.reference.hmis_csv import (
    CSV_VERSION,
    ENROLLMENT_CHILDREN,
    FILES,
    FOREIGN_KEYS,
    Column,
    FileSpec,
    clean,
    column_format,
    field_codes,
    list_codes,
    looks_hashed,
    match_header,
    row_rules,
    spec,
    sql_literal,
    sql_value_rule,
    typed_sql,
)
from app.services.hmis.archive import Archive, iter_records, read_header, stream_bytes
from app.services.hmis.report import SAMPLE_ROWS, Report

log = logging.getLogger("app.services.hmis")

# A statement of a large load may run long: minutes, not the API's seconds.
STATEMENT_TIMEOUT = 3600.0
Progress = Callable[..., Awaitable[None]]


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def cleaned(expr: str) -> str:
    """A staged value as the rules read it: spaces and tabs around it dropped, empty = null."""
    return f"nullif(btrim({expr}, E' \\t'), '')"


@dataclass
class Staged:
    """A file copied into ``table``: ``rows`` records; ``typed`` once its values passed the
    type rules (so the load may cast them)."""

    file: str
    table: str
    columns: tuple[str, ...]
    rows: int
    typed: bool = False
    value_rules: set[str] = field(default_factory=set)

    @property
    def spec(self) -> FileSpec:
        return spec(self.file)

    def select_cleaned(self) -> str:
        """``SELECT _row, <every spec column, cleaned>`` from the staged table."""
        cols = ", ".join(f"{cleaned('s.' + q(c.name))} AS {q(c.name)}" for c in self.spec.columns)
        return f"SELECT s._row, {cols} FROM {self.table} s"


def table_name(prefix: str, file: str) -> str:
    return f"{prefix}_{file.lower()}"


async def _execute(conn: asyncpg.Connection, sql: str, *args: Any) -> str:
    result: str = await conn.execute(sql, *args, timeout=STATEMENT_TIMEOUT)
    return result


def _malformed_rows(archive: Archive, file: str, width: int) -> tuple[list[int], int, bool]:
    rows: list[int] = []
    count = 0
    try:
        for number, record in enumerate(iter_records(archive, file), start=1):
            if len(record) != width:
                count += 1
                if len(rows) < SAMPLE_ROWS:
                    rows.append(number)
    except UnicodeDecodeError:
        return rows, count, False
    return rows, count, True


async def stage_file(
    conn: asyncpg.Connection, archive: Archive, file: str, prefix: str, report: Report
) -> Staged | None:
    """Copy ``file`` into its temporary table (None when its header or records cannot be
    used; the report says why)."""
    file_spec = spec(file)
    header = await asyncio.to_thread(read_header, archive, file)
    if header is None:
        report.add(file, None, "empty_file", f"{file}.csv has no header line (or is not UTF-8).")
        return None
    matched = match_header(file_spec, header)
    for rule, message in matched.problems:
        report.add(file, None, rule, message)
    if matched.columns is None:
        return None
    table = table_name(prefix, file)
    columns = ", ".join(f"{q(c.name)} text" for c in file_spec.columns)
    await _execute(
        conn,
        f"CREATE TEMP TABLE {table} (_row bigint GENERATED ALWAYS AS IDENTITY, {columns}) "
        "ON COMMIT DROP",
    )
    names = list(matched.columns)
    try:
        async with conn.transaction():
            result = await conn.copy_to_table(
                table,
                source=stream_bytes(archive, file),
                columns=names,
                format="csv",
                header=True,
                force_null=names,
                encoding="utf8",
                timeout=STATEMENT_TIMEOUT,
            )
    except asyncpg.PostgresError as exc:
        await _execute(conn, f"DROP TABLE {table}")
        rows, count, decoded = await asyncio.to_thread(_malformed_rows, archive, file, len(names))
        if not decoded or exc.sqlstate in ("22021", "22P05"):
            report.add(file, None, "encoding", f"{file}.csv is not UTF-8 text.")
        elif count:
            report.add(
                file,
                None,
                "malformed_row",
                f"Records with another number of fields than the header's {len(names)}.",
                count=count,
                rows=rows,
            )
        else:
            report.add(file, None, "malformed_row", f"{file}.csv cannot be read as CSV.")
        return None
    return Staged(file=file, table=table, columns=tuple(names), rows=int(result.split()[-1]))


# --- values -------------------------------------------------------------------------------------


def _in(values: frozenset[int]) -> str:
    return "(" + ", ".join(str(v) for v in sorted(values)) + ")"


def fast_ok(column: Column, expr: str, *, hashed: bool) -> str:
    """True when the value obviously passes every value rule; may raise on a bad cast (the
    caller falls back to the exact rules). Never true for a value the exact rules refuse."""
    null_ok = "TRUE" if column.nullable else "FALSE"
    if column.kind == "I":
        allowed = field_codes(column) or list_codes(column)
        if allowed is not None:
            # A code of the list, as the list writes it ("1", not "01"): no cast needed.
            body = f"{expr} IN ({', '.join(sql_literal(str(v)) for v in sorted(allowed))})"
        else:
            body = f"CASE WHEN ({expr})::int::text = {expr} THEN TRUE ELSE FALSE END"
    elif column.kind in ("D", "T"):
        # A value the cast reads and prints back unchanged is in HUD's format (ISO, the
        # transaction's DateStyle: ``yyyy-mm-dd[ hh:mm:ss]``, hours below 24, seconds below 60,
        # a day its month has); the year's range is a plain byte comparison. Cheaper than the
        # shape's regular expression per value, and never true for a value that breaks it.
        cast, width = ("date", 10) if column.kind == "D" else ("timestamp", 19)
        shape = (
            f"octet_length({expr}) = {width} AND ({expr}) COLLATE \"C\" >= '1800' "
            f"AND ({expr}) COLLATE \"C\" < '2200'"
        )
        body = f"CASE WHEN {shape} THEN ({expr})::{cast}::text = {expr} ELSE FALSE END"
    else:
        body = f"({sql_value_rule(column, expr, hashed=hashed)}) IS NULL"
        if column.kind == "S":
            checks = []
            hashed_column = hashed and column.name in ("FirstName", "MiddleName", "LastName", "SSN")
            if column.length is not None and not hashed_column:
                # Bytes, not characters (no counting): never more than the characters.
                checks.append(f"octet_length({expr}) <= {column.length}")
            checks.append(
                f"strpos({expr}, '<') + strpos({expr}, '>') + strpos({expr}, '[') + "
                f"strpos({expr}, ']') + strpos({expr}, '{{') + strpos({expr}, '}}') = 0"
            )
            pattern = column_format(column, hashed=hashed)
            if pattern is not None:
                checks.append(f"{expr} ~ {sql_literal(pattern)}")
            body = " AND ".join(checks)
    return f"({expr} IS NULL AND {null_ok} OR {expr} IS NOT NULL AND ({body}))"


async def validate_values(
    conn: asyncpg.Connection, staged: Staged, report: Report, *, hashed: bool
) -> None:
    """The value rules of every column; ``staged.typed`` when no type rule was broken."""
    file_spec = staged.spec
    source = staged.select_cleaned()
    fast = " AND ".join(fast_ok(c, f"v.{q(c.name)}", hashed=hashed) for c in file_spec.columns)
    suspects: list[int] | None
    try:
        async with conn.transaction():
            suspects = await conn.fetchval(
                f"SELECT coalesce(array_agg(v._row), '{{}}') FROM ({source} OFFSET 0) v "
                f"WHERE NOT ({fast})",
                timeout=STATEMENT_TIMEOUT,
            )
    except asyncpg.DataError:
        suspects = None  # a cast failed: every row gets the exact rules
    if suspects == []:
        staged.typed = True
        return
    names = ", ".join(sql_literal(c.name) for c in file_spec.columns)
    rules = ", ".join(sql_value_rule(c, f"v.{q(c.name)}", hashed=hashed) for c in file_spec.columns)
    where = "" if suspects is None else " WHERE s._row = ANY($1::bigint[])"
    args: tuple[Any, ...] = () if suspects is None else (suspects,)
    found = await conn.fetch(
        f"SELECT col, rule, count(*)::int AS n, "
        f"(array_agg(_row ORDER BY _row))[1:{SAMPLE_ROWS}] AS rows "
        f"FROM (SELECT v._row, unnest(ARRAY[{names}]) AS col, unnest(ARRAY[{rules}]) AS rule "
        f"FROM ({source}{where}) v) x WHERE rule IS NOT NULL "
        f"GROUP BY col, rule ORDER BY min(_row), col",
        *args,
        timeout=STATEMENT_TIMEOUT,
    )
    for row in found:
        report.add(staged.file, row["col"], row["rule"], count=row["n"], rows=row["rows"])
        staged.value_rules.add(row["rule"])
    staged.typed = not staged.value_rules & {
        "type_integer",
        "type_date",
        "type_datetime",
        "type_money",
    }


async def validate_rows(conn: asyncpg.Connection, staged: Staged, report: Report) -> None:
    """HUD's rules across the fields of one row (``ROW_RULES``)."""
    rules = row_rules(staged.file)
    if not rules:
        return
    parts = []
    sqls = [typed_sql(rule.sql) for rule in rules]  # the file passed the type rules
    for i, sql in enumerate(sqls):
        parts.append(f"count(*) FILTER (WHERE {sql}) AS n{i}")
        parts.append(
            f"(array_agg(v._row ORDER BY v._row) FILTER (WHERE {sql}))[1:{SAMPLE_ROWS}] AS r{i}"
        )
    where = " OR ".join(f"({sql})" for sql in sqls)
    row = await conn.fetchrow(
        f"SELECT {', '.join(parts)} FROM ({staged.select_cleaned()} OFFSET 0) v WHERE {where}",
        timeout=STATEMENT_TIMEOUT,
    )
    assert row is not None
    for i, rule in enumerate(rules):
        if row[f"n{i}"]:
            report.add(
                staged.file,
                rule.column,
                rule.rule,
                rule.message,
                count=row[f"n{i}"],
                rows=row[f"r{i}"] or (),
                severity_=rule.severity,
            )


# --- keys ---------------------------------------------------------------------------------------


def _col(table_alias: str, name: str) -> str:
    return cleaned(f"{table_alias}.{q(name)}")


async def _rows_where(
    conn: asyncpg.Connection, sql_from: str, condition: str, *args: Any
) -> tuple[int, list[int]]:
    row = await conn.fetchrow(
        f"SELECT count(*)::int AS n, (array_agg(c._row ORDER BY c._row))[1:{SAMPLE_ROWS}] AS rows "
        f"FROM {sql_from} WHERE {condition}",
        *args,
        timeout=STATEMENT_TIMEOUT,
    )
    assert row is not None
    return row["n"], list(row["rows"] or [])


@dataclass(frozen=True)
class _KeyCheck:
    column: str
    rule: str
    message: str | None
    condition: str  # over the child ``c`` and the joined keys


def _keys(table: str, pk: str, extra: str | None = None) -> str:
    """A parent's distinct keys (cleaned), with one more cleaned column when asked."""
    if extra is None:
        return f"(SELECT DISTINCT {_col('p', pk)} AS k FROM {table} p)"
    return (
        f"(SELECT DISTINCT ON (1) {_col('p', pk)} AS k, {_col('p', extra)} AS x "
        f"FROM {table} p ORDER BY 1)"
    )


async def validate_keys(
    conn: asyncpg.Connection,
    staged: dict[str, Staged],
    report: Report,
    *,
    export_id: str | None,
    progress: Progress | None = None,
) -> None:
    """Per file: duplicate primary keys (one grouping), then every reference in one scan:
    orphan foreign keys (against the files that could be read), a PersonalID that is not its
    enrollment's, an ExportID that is not Export.csv's, a UserID missing from User.csv."""
    for file in FILES:
        current = staged.get(file)
        if current is None:
            continue
        file_spec = current.spec
        pk = file_spec.primary_key
        n, rows = await _rows_where(
            conn,
            f"{current.table} c",
            f"{_col('c', pk)} IN (SELECT {_col('d', pk)} FROM {current.table} d "
            f"GROUP BY 1 HAVING count(*) > 1)",
        )
        if n:
            report.add(file, pk, "duplicate_key", count=n, rows=rows)
        joins: list[str] = []
        checks: list[_KeyCheck] = []
        for i, ((child, column), parent) in enumerate(FOREIGN_KEYS.items()):
            if child != file or parent not in staged:
                continue
            person = file in ENROLLMENT_CHILDREN and parent == "Enrollment"
            keys = _keys(
                staged[parent].table, spec(parent).primary_key, "PersonalID" if person else None
            )
            joins.append(f"LEFT JOIN {keys} j{i} ON j{i}.k = {_col('c', column)}")
            checks.append(
                _KeyCheck(
                    column,
                    "orphan_key",
                    f"Names a {parent} that is not in {parent}.csv.",
                    f"{_col('c', column)} IS NOT NULL AND j{i}.k IS NULL",
                )
            )
            if person:
                checks.append(
                    _KeyCheck(
                        "PersonalID",
                        "personal_id_mismatch",
                        None,
                        f"j{i}.x <> {_col('c', 'PersonalID')}",
                    )
                )
        if export_id is not None and file_spec.has("ExportID"):
            checks.append(
                _KeyCheck("ExportID", "export_id_mismatch", None, f"{_col('c', 'ExportID')} <> $1")
            )
        if "User" in staged and file_spec.has("UserID") and file != "User":
            joins.append(
                f"LEFT JOIN {_keys(staged['User'].table, 'UserID')} ju "
                f"ON ju.k = {_col('c', 'UserID')}"
            )
            checks.append(
                _KeyCheck(
                    "UserID",
                    "unknown_user",
                    None,
                    f"{_col('c', 'UserID')} IS NOT NULL AND ju.k IS NULL",
                )
            )
        if checks:
            parts = []
            for i, check in enumerate(checks):
                parts.append(f"count(*) FILTER (WHERE {check.condition})::int AS n{i}")
                parts.append(
                    f"(array_agg(c._row ORDER BY c._row) FILTER (WHERE {check.condition}))"
                    f"[1:{SAMPLE_ROWS}] AS r{i}"
                )
            uses_export = any(c.rule == "export_id_mismatch" for c in checks)
            found = await conn.fetchrow(
                f"SELECT {', '.join(parts)} FROM {current.table} c {' '.join(joins)} WHERE "
                + " OR ".join(f"({c.condition})" for c in checks),
                *((export_id,) if uses_export else ()),
                timeout=STATEMENT_TIMEOUT,
            )
            assert found is not None
            for i, check in enumerate(checks):
                if found[f"n{i}"]:
                    report.add(
                        file,
                        check.column,
                        check.rule,
                        check.message,
                        count=found[f"n{i}"],
                        rows=found[f"r{i}"] or (),
                    )
        if progress is not None:
            await progress(file, keys_checked=True)


# --- the export row -----------------------------------------------------------------------------


@dataclass
class ExportRow:
    values: dict[str, str | None]

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    @property
    def export_id(self) -> str | None:
        return self.get("ExportID")

    @property
    def hash_status(self) -> str | None:
        return self.get("HashStatus")


async def read_export_row(
    conn: asyncpg.Connection, staged: Staged, report: Report
) -> ExportRow | None:
    """Export.csv's one row (its values cleaned); CSVVersion must name 2026."""
    rows = await conn.fetch(f"{staged.select_cleaned()} ORDER BY s._row LIMIT 2")
    if len(rows) != 1:
        report.add("Export", None, "export_rows", "Export.csv must hold exactly one row.")
        if not rows:
            return None
    values = {k: v for k, v in dict(rows[0]).items() if k != "_row"}
    export = ExportRow(values)
    version = clean(export.get("CSVVersion")) or ""
    if CSV_VERSION not in version:
        report.add(
            "Export",
            "CSVVersion",
            "csv_version",
            "CSVVersion must name the FY2026 specification (2026).",
            rows=[1],
        )
    return export


async def check_hashing(
    conn: asyncpg.Connection, export: ExportRow, client: Staged | None, report: Report
) -> None:
    """CAS keeps identifiable data: a hashed export cannot be loaded. HashStatus 2 or 4 (or
    names that look hashed whatever it says) is refused; HashStatus 3 ("hashed - other") with
    plain names is loaded with a warning."""
    status = export.hash_status
    sample: Sequence[asyncpg.Record] = []
    if client is not None:
        sample = await conn.fetch(
            f"SELECT {cleaned('s.' + q('FirstName'))} AS f, {cleaned('s.' + q('LastName'))} AS l "
            f"FROM {client.table} s WHERE s.{q('FirstName')} IS NOT NULL "
            f"OR s.{q('LastName')} IS NOT NULL LIMIT 50"
        )
    hashed_looking = any(looks_hashed(r["f"]) or looks_hashed(r["l"]) for r in sample)
    if status in ("2", "4") or hashed_looking:
        report.add(
            "Export",
            "HashStatus",
            "hashed_data",
            "The export's names and SSNs are hashed; CAS loads identifiable data only.",
        )
    elif status == "3" and sample:
        report.add(
            "Export",
            "HashStatus",
            "hash_status_mismatch",
            "HashStatus says hashed (3) but the names are plain text; loaded as plain.",
        )
