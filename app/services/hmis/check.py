"""The structural validator of an FY2026 zip, in Python, without a database: every file
present with HUD's header names in order, one record per line of the right width, UTF-8, one
Export row naming CSVVersion 2026, the same ExportID everywhere, every value of the right type,
length, list and nullability, no impermissible characters, HUD's "null unless" rules, unique
primary keys and no orphan keys.

The importer runs the same rules set-based in PostgreSQL (``services.hmis.validate``); this one
reads the archive record by record (memory grows with the number of keys), for checking what
the exporter writes and for small files.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from app.reference.hmis_csv import (
    CSV_VERSION,
    ENROLLMENT_CHILDREN,
    FILES,
    FOREIGN_KEYS,
    Issue,
    clean,
    match_header,
    row_rules,
    severity,
    spec,
    value_rule,
)
from app.services.hmis.archive import Limits, iter_records, open_archive, read_header

SAMPLE = 20  # findings kept per (file, column, rule)


@dataclass
class CheckResult:
    issues: list[Issue] = field(default_factory=list)
    counts: dict[tuple[str | None, str | None, str], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    rows: dict[str, int] = field(default_factory=dict)

    def add(
        self,
        file: str | None,
        row: int | None,
        column: str | None,
        rule: str,
        message: str = "",
        *,
        severity_: str | None = None,
    ) -> None:
        key = (file, column, rule)
        self.counts[key] += 1
        if self.counts[key] <= SAMPLE:
            sev = severity_ or severity(
                rule, spec(file).column(column) if file and column else None
            )
            self.issues.append(Issue(file, row, column, rule, sev, message))  # type: ignore[arg-type]

    @property
    def ok(self) -> bool:
        return not self.issues


def check_zip(path: str, *, limits: Limits | None = None) -> CheckResult:
    """Every finding about the zip at ``path`` (empty: it passes)."""
    result = CheckResult()
    with open_archive(path, limits or Limits()) as archive:
        for issue in archive.issues:
            result.issues.append(issue)
        if not archive.usable:
            return result
        keys: dict[str, set[str]] = defaultdict(set)
        enrollment_person: dict[str, str] = {}
        references: list[tuple[str, int, str, str, str]] = []  # file, row, column, parent, id
        children: list[tuple[str, int, str, str]] = []  # file, row, enrollment, person
        export_ids: set[str] = set()
        readable: set[str] = set()
        hashed = False
        for file in FILES:
            file_spec = spec(file)
            if file not in archive.members:
                result.add(file, None, None, "missing_file", f"{file}.csv is missing.")
                continue
            header = read_header(archive, file)
            if header is None:
                result.add(file, None, None, "empty_file", f"{file}.csv has no header line.")
                continue
            matched = match_header(file_spec, header)
            for rule, message in matched.problems:
                result.add(file, None, None, rule, message)
            if matched.columns is None:
                continue
            readable.add(file)
            width = len(matched.columns)
            count = 0
            try:
                for number, record in enumerate(iter_records(archive, file), start=1):
                    count = number
                    if len(record) != width:
                        result.add(
                            file,
                            number,
                            None,
                            "malformed_row",
                            f"{len(record)} fields where the header has {width}.",
                        )
                        continue
                    row: dict[str, str | None] = dict.fromkeys(matched.missing)
                    row.update(zip(matched.columns, record, strict=True))
                    if file == "Export":
                        hashed = clean(row.get("HashStatus")) == "4"
                        version = clean(row.get("CSVVersion")) or ""
                        if CSV_VERSION not in version:
                            result.add(file, number, "CSVVersion", "csv_version", "Not FY2026.")
                    for column in file_spec.columns:
                        broken = value_rule(column, row[column.name], hashed=hashed)
                        if broken is not None:
                            result.add(file, number, column.name, broken)
                    for rule_ in row_rules(file):
                        if rule_.python(row):
                            result.add(
                                file,
                                number,
                                rule_.column,
                                rule_.rule,
                                rule_.message,
                                severity_=rule_.severity,
                            )
                    pk = clean(row[file_spec.primary_key])
                    if pk is not None:
                        if pk in keys[file]:
                            result.add(file, number, file_spec.primary_key, "duplicate_key")
                        keys[file].add(pk)
                    export_id = clean(row.get("ExportID"))
                    if export_id is not None:
                        export_ids.add(export_id)
                    for (child, column_name), parent in FOREIGN_KEYS.items():
                        if child == file and (value := clean(row.get(column_name))) is not None:
                            references.append((file, number, column_name, parent, value))
                    if file == "Enrollment" and pk is not None:
                        enrollment_person[pk] = clean(row.get("PersonalID")) or ""
                    if file in ENROLLMENT_CHILDREN:
                        enrollment = clean(row.get("EnrollmentID"))
                        person = clean(row.get("PersonalID"))
                        if enrollment is not None and person is not None:
                            children.append((file, number, enrollment, person))
            except UnicodeDecodeError:
                result.add(file, None, None, "encoding", f"{file}.csv is not UTF-8.")
            result.rows[file] = count
        if result.rows.get("Export") != 1 and "Export" in archive.members:
            result.add("Export", None, None, "export_rows", "Export.csv needs exactly one row.")
        if len(export_ids) > 1:
            result.add(None, None, "ExportID", "export_id_mismatch", "ExportIDs differ.")
        for file, number, column_name, parent, value in references:
            if parent in readable and value not in keys[parent]:
                result.add(file, number, column_name, "orphan_key", f"No such {parent}.")
        for file, number, enrollment, person in children:
            owner = enrollment_person.get(enrollment)
            if owner is not None and owner != person:
                result.add(file, number, "PersonalID", "personal_id_mismatch")
    return result
