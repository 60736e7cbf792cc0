"""The states of HMIS CSV exports and imports (``models.hmis``), and the severities of an
import's findings."""

from __future__ import annotations

from enum import StrEnum


class ImportStatus(StrEnum):
    """queued -> validating -> (refused | loading -> (succeeded | failed)); failed also when
    the job stops on an error (nothing half-written: the load is one transaction)."""

    QUEUED = "queued"
    VALIDATING = "validating"
    LOADING = "loading"
    SUCCEEDED = "succeeded"
    REFUSED = "refused"
    FAILED = "failed"


class ExportStatus(StrEnum):
    """queued -> running -> (succeeded -> expired | failed)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"


class IssueSeverity(StrEnum):
    """high: the load stops before anything is written; warning: loaded, the finding says what
    was done with the value; info: for the record."""

    HIGH = "high"
    WARNING = "warning"
    INFO = "info"


IMPORT_STATUSES: tuple[str, ...] = tuple(ImportStatus)
EXPORT_STATUSES: tuple[str, ...] = tuple(ExportStatus)
SEVERITIES: tuple[str, ...] = tuple(IssueSeverity)
UNFINISHED_IMPORTS = (ImportStatus.QUEUED, ImportStatus.VALIDATING, ImportStatus.LOADING)
UNFINISHED_EXPORTS = (ExportStatus.QUEUED, ExportStatus.RUNNING)
