"""Helpers of the HMIS CSV tests: the shared samples as zips, repairs of the DataLab sample,
running the background jobs, reading an export's files."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import jobs
from app.services.hmis.runtime import JOB_KINDS
from tests.conftest import ROOT

# A copy of the shared samples (synthetic data): HUD Data Lab's export and the importer cases.
SAMPLES = ROOT / "tests" / "fixtures" / "hmis-csv-samples"
DATALAB = SAMPLES / "datalab-fy2026"
CASES = SAMPLES / "importer-cases"
EXPORTS = "/api/v1/exports/hmis-csv"
IMPORTS = "/api/v1/imports"

Edit = Callable[[str, bytes], bytes | None]


def zip_folder(folder: Path, edit: Edit | None = None, *, prefix: str = "") -> bytes:
    """The folder's CSV files as a zip (``edit(name, data)`` may change a file's bytes or
    leave it out by returning None)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.glob("*.csv")):
            data = path.read_bytes()
            if edit is not None:
                changed = edit(path.name, data)
                if changed is None:
                    continue
                data = changed
            zf.writestr(prefix + path.name, data)
    return out.getvalue()


def case_zip(name: str) -> bytes:
    return zip_folder(CASES / name / "source")


def rewrite_csv(data: bytes, change: Callable[[dict[str, str]], None]) -> bytes:
    """``data`` (a CSV file) with ``change`` applied to every record (a dict by header name)."""
    text_ = data.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text_))
    fields = list(reader.fieldnames or [])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    for row in reader:
        change(row)
        writer.writerow(row)
    return out.getvalue().encode()


def repair_datalab(name: str, data: bytes) -> bytes:
    """Fix the two findings that refuse the DataLab sample (see its README): the non-ISO
    ExportDate and Funder 47, which is not in list 2.06.1 (made 46, other, with its text)."""
    if name == "Export.csv":
        return data.replace(b"02-07-2023 12:00:00", b"2023-02-07 12:00:00")
    if name == "Funder.csv":

        def fix(row: dict[str, str]) -> None:
            if row["Funder"] == "47":
                row["Funder"] = "46"
                row["OtherFunder"] = "Funder 47 in the source"

        return rewrite_csv(data, fix)
    return data


def datalab_zip(repaired: bool = False) -> bytes:
    return zip_folder(DATALAB, repair_datalab if repaired else None)


def read_zip(data: bytes) -> dict[str, list[dict[str, str]]]:
    """Every CSV of a zip: its records as dicts (header order kept in ``[file]["__header__"]``
    is not needed: use ``header()``)."""
    out: dict[str, list[dict[str, str]]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            with zf.open(name) as fh:
                reader = csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8", newline=""))
                out[name.removesuffix(".csv")] = list(reader)
    return out


def header(data: bytes, file: str) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf, zf.open(f"{file}.csv") as fh:
        line = fh.readline().decode("utf-8").rstrip("\r\n")
    return next(csv.reader([line]))


async def run_jobs(app: Any) -> None:
    """Run the queued HMIS CSV exports and imports (on the test's connection)."""
    await jobs.runner(
        app.state.sessionmaker,
        app.state.settings,
        scheduled=False,
        hmis_store=app.state.hmis_store,
        kinds=JOB_KINDS,
    ).run_until_idle()


async def import_zip(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    data: bytes,
    *,
    name: str = "export.zip",
    allow_missing_files: bool = False,
    data_source: str | None = None,
) -> httpx.Response:
    form: dict[str, str] = {"allow_missing_files": "true" if allow_missing_files else "false"}
    if data_source is not None:
        form["data_source"] = data_source
    return await client.post(
        f"{IMPORTS}/hmis-csv",
        headers=headers,
        data=form,
        files={"file": (name, data, "application/zip")},
    )


async def load(
    client: httpx.AsyncClient, app: Any, headers: dict[str, str], data: bytes, **kw: Any
) -> dict[str, Any]:
    """Upload, run the job, and return the finished import."""
    r = await import_zip(client, headers, data, **kw)
    assert r.status_code == 202, r.text
    await run_jobs(app)
    done = await client.get(f"{IMPORTS}/{r.json()['id']}", headers=headers)
    assert done.status_code == 200, done.text
    body: dict[str, Any] = done.json()
    return body


async def issues(
    client: httpx.AsyncClient, headers: dict[str, str], import_id: str, **params: Any
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 200, **params, **({"cursor": cursor} if cursor else {})}
        r = await client.get(f"{IMPORTS}/{import_id}/issues", headers=headers, params=query)
        assert r.status_code == 200, r.text
        found += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return found


def rules(
    summary: dict[str, Any], severity: str | None = None
) -> set[tuple[str | None, str | None, str]]:
    return {
        (g["file"], g["column"], g["rule"])
        for g in summary["groups"]
        if severity is None or g["severity"] == severity
    }


async def export(
    client: httpx.AsyncClient, app: Any, headers: dict[str, str], **body: Any
) -> tuple[dict[str, Any], bytes]:
    """Start an export, run it and download its zip."""
    payload = {"start_date": "2000-01-01", "end_date": "2030-12-31", **body}
    r = await client.post(EXPORTS, headers=headers, json=payload)
    assert r.status_code == 202, r.text
    await run_jobs(app)
    job = await client.get(f"{EXPORTS}/{r.json()['id']}", headers=headers)
    assert job.status_code == 200 and job.json()["status"] == "succeeded", job.text
    f = await client.get(f"{EXPORTS}/{r.json()['id']}/file", headers=headers)
    assert f.status_code == 200, f.text
    return job.json(), f.content


CAS_TABLES = (
    "organizations",
    "projects",
    "clients",
    "client_access",
    "households",
    "household_members",
    "enrollments",
    "exits",
    "disabilities",
    "current_living_situations",
    "income_benefits",
    "health_and_dv",
    "ce_assessments",
    "ce_events",
    "diversion_assessments",
    "housing_needs_assessments",
    "services",
    "queue_entries",
    "hmis_tombstones",
    "hmis_adopted_records",
    "hmis_data_sources",
)


async def snapshot(db: AsyncSession) -> dict[str, str]:
    """A digest of every row of the tables a load writes (``client_access`` without its random
    ids), to prove a load changed nothing."""
    out = {}
    for table in CAS_TABLES:
        columns = "*" if table != "client_access" else "client_id, organization_id, reason"
        digest = await db.scalar(
            text(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                f"FROM (SELECT {columns} FROM {table}) t"
            )
        )
        out[table] = str(digest)
    return out


def uid(value: str) -> uuid.UUID:
    return uuid.UUID(value)
