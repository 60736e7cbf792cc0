"""Benchmark: HUD HMIS CSV FY2026 import (validate + load) and export, served by uvicorn.

Usage: python bench/hmis_csv.py [--clients 100000] [--keep-zip PATH]

One run (on ``bench.harness``):
1. creates a throw-away database (``BENCH_DATABASE_URL`` names a server; otherwise an embedded
   PostgreSQL is used), migrates it and seeds the demo CoC;
2. replicates HUD Data Lab's sample (``tests/fixtures/hmis-csv-samples/datalab-fy2026``, with
   the two repairs its README calls for: an ISO ExportDate, Funder 47 made 46) until it holds
   ``--clients`` clients: the organizations, projects and users once, every client-level file
   once per replica with its ids suffixed (``PersonalID`` 528656 -> 528656-7), so every
   reference stays consistent; written as one zip;
3. the baseline: the same CSVs read from the zip and copied (COPY ... FROM STDIN, CSV) into
   tables of text columns without constraints or indexes, in this process through asyncpg;
4. the import: the service as a real uvicorn process (one worker, production settings); the zip
   is uploaded to ``POST /api/v1/imports/hmis-csv`` by a system admin and the job is polled
   until it ends; its validate + load time is the job's ``started_at`` to ``finished_at``;
5. the export: a fresh server process exports every project over the whole period
   (``POST /api/v1/exports/hmis-csv``), polled until written, then downloaded; its resident
   memory at its peak (VmHWM) is reported;
6. prints one JSON object: rows, seconds and rows/s of the baseline and the import, their
   ratio (target: the import at least 25 % of the raw COPY's throughput), the export's time
   and peak memory (target: under 300 MB), the load average around each phase.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import math
import shutil
import sys
import time
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from app.reference.hmis_csv import FILES, spec  # noqa: E402
from bench import harness  # noqa: E402
from bench.harness import Bench  # noqa: E402

DATALAB = ROOT / "tests" / "fixtures" / "hmis-csv-samples" / "datalab-fy2026"
SAMPLE_CLIENTS = 514
CLIENT_FILES = {
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
}
SUFFIXED = {"PersonalID", "EnrollmentID", "HouseholdID", "AssessmentID"}


def _repaired(file: str, rows: list[list[str]]) -> list[list[str]]:
    header = rows[0]
    if file == "Export":
        at = header.index("ExportDate")
        for row in rows[1:]:
            row[at] = "2023-02-07 12:00:00"
    if file == "Funder":
        funder, other = header.index("Funder"), header.index("OtherFunder")
        for row in rows[1:]:
            if row[funder] == "47":
                row[funder], row[other] = "46", "Funder 47 in the source"
    return rows


def replicate(target: Path, clients: int) -> dict[str, int]:
    """Write the replicated sample to ``target``; the rows per file."""
    replicas = math.ceil(clients / SAMPLE_CLIENTS)
    counts: dict[str, int] = {}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for file in FILES:
            source = DATALAB / f"{file}.csv"
            rows = _repaired(
                file, list(csv.reader(io.StringIO(source.read_text(encoding="utf-8-sig"))))
            )
            header, body = rows[0], rows[1:]
            pk = spec(file).primary_key
            ids = [i for i, name in enumerate(header) if name in SUFFIXED or name == pk]
            with (
                zf.open(f"{file}.csv", "w", force_zip64=True) as raw,
                io.TextIOWrapper(raw, encoding="utf-8", newline="") as out,
            ):
                writer = csv.writer(out, lineterminator="\r\n")
                writer.writerow(header)
                if file not in CLIENT_FILES:
                    writer.writerows(body)
                    counts[file] = len(body)
                    continue
                for k in range(replicas):
                    for row in body:
                        copy = list(row)
                        for i in ids:
                            if copy[i]:
                                copy[i] = f"{copy[i]}-{k}"
                        writer.writerow(copy)
                counts[file] = len(body) * replicas
    return counts


async def raw_copy(bench: Bench, path: Path) -> dict[str, Any]:
    """COPY every CSV of the zip into a table of text columns (no constraints, no indexes)."""
    conn = await bench.connect()
    rows = 0
    started = time.perf_counter()
    load_before = harness.load()
    try:
        with zipfile.ZipFile(path) as zf:
            for file in FILES:
                table = f"raw_{file.lower()}"
                with zf.open(f"{file}.csv") as fh:
                    header = next(csv.reader([fh.readline().decode("utf-8-sig")]))
                columns = ", ".join(f'"{c}" text' for c in header)  # the file's own columns
                await conn.execute(f"CREATE TABLE {table} ({columns})")
                with zf.open(f"{file}.csv") as fh:
                    result = await conn.copy_to_table(
                        table, source=fh, format="csv", header=True, timeout=3600
                    )
                rows += int(result.split()[-1])
    finally:
        await conn.close()
    seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "load_average_before": load_before,
    }


async def _poll(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], done: set[str]
) -> dict[str, Any]:
    while True:
        r = await client.get(path, headers=headers)
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        if body["status"] in done:
            return body
        await asyncio.sleep(0.5)


def _seconds(job: dict[str, Any]) -> float:
    start = datetime.fromisoformat(job["started_at"])
    end = datetime.fromisoformat(job["finished_at"])
    return (end - start).total_seconds()


async def _run(bench: Bench, args: argparse.Namespace) -> None:
    await bench.seed_coc()
    zip_path = args.keep_zip or bench.data_dir / "hmis.zip"
    started = time.perf_counter()
    counts = await asyncio.to_thread(replicate, zip_path, args.clients)
    generated = time.perf_counter() - started
    total_rows = sum(counts.values())

    baseline = await raw_copy(bench, zip_path)

    service = await bench.serve(name="import")
    timeout = httpx.Timeout(600.0)
    async with httpx.AsyncClient(base_url=service.base, timeout=timeout) as client:
        headers = await harness.login(client, "system_admin")
        load_before = harness.load()
        sent = time.perf_counter()
        with zip_path.open("rb") as fh:
            r = await client.post(
                "/api/v1/imports/hmis-csv",
                headers=headers,
                files={"file": ("hmis.zip", fh, "application/zip")},
            )
        r.raise_for_status()
        uploaded = time.perf_counter() - sent
        job = await _poll(
            client, f"/api/v1/imports/{r.json()['id']}", headers, {"succeeded", "refused", "failed"}
        )
        end_to_end = time.perf_counter() - sent
    import_memory = service.memory()
    service.stop()
    job_seconds = _seconds(job)
    imported = {
        "status": job["status"],
        "rows": total_rows,
        "seconds": round(job_seconds, 2),
        "rows_per_s": round(total_rows / job_seconds),
        "upload_seconds": round(uploaded, 2),
        "end_to_end_seconds": round(end_to_end, 2),
        "phase_seconds": job["progress"].get("seconds", {}),
        "findings": {k: job["summary"].get(k) for k in ("high", "warning", "info")},
        "loaded": {f: c for f, c in job["counts"].items() if any(c.values())},
        "server_memory": import_memory,
        "load_average_before": load_before,
    }

    exporter = await bench.serve(name="export")
    async with httpx.AsyncClient(base_url=exporter.base, timeout=timeout) as client:
        headers = await harness.login(client, "system_admin")
        load_before = harness.load()
        sent = time.perf_counter()
        r = await client.post(
            "/api/v1/exports/hmis-csv",
            headers=headers,
            json={"start_date": "2000-01-01", "end_date": "2030-12-31"},
        )
        r.raise_for_status()
        export_job = await _poll(
            client, f"/api/v1/exports/hmis-csv/{r.json()['id']}", headers, {"succeeded", "failed"}
        )
        written = time.perf_counter() - sent
        size = 0
        async with client.stream(
            "GET", f"/api/v1/exports/hmis-csv/{r.json()['id']}/file", headers=headers
        ) as download:
            async for chunk in download.aiter_bytes():
                size += len(chunk)
        downloaded = time.perf_counter() - sent - written
    export_memory = exporter.memory()
    exported_rows = sum(f.get("rows", 0) for f in export_job["progress"]["files"].values())
    exported = {
        "status": export_job["status"],
        "rows": exported_rows,
        "seconds": round(_seconds(export_job), 2),
        "end_to_end_seconds": round(written, 2),
        "download_seconds": round(downloaded, 2),
        "zip_bytes": size,
        "clients": export_job["progress"]["files"].get("Client", {}).get("rows"),
        "server_memory": export_memory,
        "load_average_before": load_before,
    }
    ratio = harness.ratio(imported["rows_per_s"], baseline["rows_per_s"])
    await bench.report(
        {
            "benchmark": "hmis_csv",
            "data": {
                "clients": counts["Client"],
                "rows": total_rows,
                "rows_per_file": counts,
                "zip_bytes": zip_path.stat().st_size,
                "generated_seconds": round(generated, 2),
            },
            "baseline_raw_copy": baseline,
            "import": imported,
            "import_throughput_ratio_to_raw_copy": ratio,
            "export": exported,
            "targets": {
                "import_ge_25pct_of_raw_copy": ratio >= 0.25,
                "export_peak_rss_lt_300mb": export_memory["peak_rss_mb"] < 300,
            },
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--keep-zip", type=Path, help="write the replicated zip here")
    args = parser.parse_args()
    with Bench("hmis_csv") as bench:
        try:
            asyncio.run(_run(bench, args))
        finally:
            # The logs stay in the data directory; the zip and the job files are large.
            if not args.keep_zip:
                (bench.data_dir / "hmis.zip").unlink(missing_ok=True)
            shutil.rmtree(bench.settings.hmis_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
