"""An import's report: findings grouped by (file, column, rule), each with its count and the
first rows it was found in. Machine-readable: ``file``, ``row`` (the record's number after the
header line), ``column``, ``rule``, ``severity``. No value that may be PII is ever quoted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.reference.hmis_csv import Issue, Severity, severity, spec

SAMPLE_ROWS = 100


@dataclass
class Finding:
    file: str | None
    column: str | None
    rule: str
    severity: Severity
    message: str
    count: int
    rows: list[int] = field(default_factory=list)

    def issues(self) -> list[Issue]:
        if not self.rows:
            return [Issue(self.file, None, self.column, self.rule, self.severity, self.message)]
        return [
            Issue(self.file, row, self.column, self.rule, self.severity, self.message)
            for row in self.rows[:SAMPLE_ROWS]
        ]

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "column": self.column,
            "rule": self.rule,
            "severity": self.severity,
            "count": self.count,
            "message": self.message,
        }


def _column_severity(file: str | None, column: str | None, rule: str) -> Severity:
    if file is not None and column is not None:
        file_spec = spec(file)
        if file_spec.has(column):
            return severity(rule, file_spec.column(column))
    return severity(rule)


_MESSAGES = {
    "required": "A value is required here.",
    "type_integer": "Not an integer.",
    "type_date": "Not a date written yyyy-mm-dd.",
    "type_datetime": "Not a date and time written yyyy-mm-dd hh:mm:ss.",
    "type_money": "Not an amount of money (digits, at most two decimals).",
    "negative_money": "The amount may not be negative.",
    "too_long": "Longer than HUD allows for this column.",
    "characters": "Contains characters HUD does not permit ([ ] < > { }).",
    "format": "Not in the format HUD specifies for this column.",
    "not_in_list": "Not a code of the column's HUD list.",
    "not_allowed_for_field": "A code of the list that this field does not accept.",
    "duplicate_key": "The same primary key is on more than one row.",
    "orphan_key": "Names a record that is not in the export.",
    "personal_id_mismatch": "The PersonalID is not the enrollment's.",
    "export_id_mismatch": "The ExportID is not Export.csv's.",
    "unknown_user": "The UserID is not in User.csv.",
}


class Report:
    """Findings of one validation and load, in the order they were found."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(
        self,
        file: str | None,
        column: str | None,
        rule: str,
        message: str | None = None,
        *,
        count: int = 1,
        rows: Sequence[int] = (),
        severity_: Severity | None = None,
    ) -> Finding:
        found = Finding(
            file=file,
            column=column,
            rule=rule,
            severity=severity_ or _column_severity(file, column, rule),
            message=message or _MESSAGES.get(rule, rule),
            count=max(count, len(rows)) if rows else count,
            rows=[int(r) for r in rows[:SAMPLE_ROWS]],
        )
        self.findings.append(found)
        return found

    def add_issue(self, issue: Issue) -> None:
        self.add(
            issue.file,
            issue.column,
            issue.rule,
            issue.message,
            rows=[issue.row] if issue.row is not None else (),
            severity_=issue.severity,
        )

    def extend(self, issues: Iterable[Issue]) -> None:
        for issue in issues:
            self.add_issue(issue)

    @property
    def has_high(self) -> bool:
        return any(f.severity == "high" for f in self.findings)

    def high_in(self, file: str) -> bool:
        return any(f.severity == "high" and f.file == file for f in self.findings)

    def counts(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for f in self.findings:
            totals[f.severity] += f.count
        return {s: totals.get(s, 0) for s in ("high", "warning", "info")}

    def summary(self) -> dict[str, Any]:
        return {**self.counts(), "groups": [f.summary() for f in self.findings]}

    def issues(self) -> list[Issue]:
        return [issue for f in self.findings for issue in f.issues()]
