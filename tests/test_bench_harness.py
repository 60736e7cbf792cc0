"""The benchmark harness's own pieces (the benchmarks themselves are not part of the suite):
its figures, and the baseline app answering the SQL it is given from a real database."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import httpx
import pytest

from bench import baseline_app, harness


def test_percentiles_summary_and_ratio() -> None:
    results: list[harness.Result] = [("search", float(ms), 2) for ms in range(1, 101)]
    results.append(("create", 500.0, 0))
    s = harness.summary(results, "search", wall=2.0)
    assert (s["requests"], s["p50_ms"], s["p95_ms"], s["p99_ms"], s["max_ms"]) == (
        100,
        50.0,
        95.0,
        99.0,
        100.0,
    )
    assert s["mean_shown"] == 2.0
    assert s["requests_per_s"] == 50.5  # every result over the wall time
    assert harness.percentiles([]) == {}
    assert harness.ratio(40, 160) == 0.25
    assert harness.ratio(40, 0) == 0.0


def test_process_memory_and_cpu_are_read() -> None:
    memory = harness.process_memory(os.getpid())
    assert 0 < memory["rss_mb"] <= memory["peak_rss_mb"]
    assert harness.process_cpu(os.getpid()) > 0


async def test_the_baseline_app_runs_each_request_and_answers_its_rows(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = [
        [("SELECT $1::int AS n, $2::text AS label", [7, "seven"])],
        [
            ("CREATE TEMP TABLE t (n int) ON COMMIT DROP", []),
            ("INSERT INTO t SELECT generate_series(1, $1::int)", [3]),
            ("SELECT count(*) AS rows FROM t", []),
        ],
    ]
    path = tmp_path / "requests.pickle"
    path.write_bytes(pickle.dumps(requests))
    monkeypatch.setenv("BENCH_BASELINE_REQUESTS", str(path))
    monkeypatch.setenv("BENCH_BASELINE_DSN", harness.plain_url(database_url))
    monkeypatch.setenv("BENCH_BASELINE_POOL", "2")
    await baseline_app._startup()
    try:
        transport = httpx.ASGITransport(app=baseline_app.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            assert (await client.get("/health/ready")).status_code == 204
            first = await client.get("/requests/0")
            assert first.json() == [{"n": 7, "label": "seven"}]
            assert first.headers["x-rows"] == "1"
            # Several statements run in one transaction (the temporary table lives in it).
            assert (await client.get("/requests/1")).json() == [{"rows": 3}]
            assert (await client.get("/requests/2")).status_code == 404
            assert (await client.get("/elsewhere")).status_code == 404
            job = harness.baseline_jobs(client, 1)[0]
            kind, ms, shown = await job()
            assert (kind, shown) == ("baseline", 1) and ms > 0
    finally:
        await baseline_app._state.pop("pool").close()
        baseline_app._state.clear()
