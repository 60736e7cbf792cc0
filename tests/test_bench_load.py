"""The load benchmark runs end to end at a tiny size (its figures are not checked, only that
every part of it still works against the service as it is): the seeding, the mix against one
instance and then two sharing the database, with every write valid for the state it finds (not
one answer outside each endpoint's expected statuses), the baseline, the JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENDPOINTS = {
    "search",
    "queue_list",
    "unread_count",
    "notifications",
    "matches_list",
    "intake",
    "transition",
    "match",
    "upload",
}


def test_the_load_benchmark_runs_at_a_tiny_size(database_url: str) -> None:
    args = ["--concurrency", "4", "--duration", "3", "--warmup", "1", "--clients", "600"]
    done = subprocess.run(
        [sys.executable, "bench/load.py", *args, "--database-url", database_url],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "BENCH_DATABASE_URL"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)

    assert out["benchmark"] == "load"
    assert out["concurrency"] == 4 and out["duration_s"] == 3
    assert set(out["mix"]) == ENDPOINTS
    assert sum(m["weight_pct"] for m in out["mix"].values()) == 100
    assert "CAS_RUN_JOBS_IN_SERVER=false" in out["job_runner"]
    population = out["population"]
    assert abs(population["clients"] - 600) <= 120, population
    assert population["rows"]["notifications"] > 0 and population["vacant_units"] > 0
    assert population["cycled_entries"] > 0 and population["upload_clients"] > 0

    assert [run["instances"] for run in out["runs"]] == [1, 2]
    for run in out["runs"]:
        # Every answer was the expected one, in the warm-up too.
        assert run["errors"] == {"count": 0, "by_endpoint": {}, "first_answers": {}}, run["errors"]
        assert run["warmup"]["errors"]["count"] == 0, run["warmup"]["errors"]
        assert run["requests"] > 0 and run["requests_per_s"] > 0
        assert run["requests"] == sum(e["requests"] for e in run["endpoints"].values())
        for figures in run["endpoints"].values():
            assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"]
        memory = run["server_memory"]
        assert len(memory) == run["instances"], memory
        assert len({m["pid"] for m in memory}) == run["instances"]
        assert all(m["peak_rss_mb"] >= m["rss_mb"] > 0 for m in memory)
        baseline = run["baseline"]
        assert baseline["processes"] == run["instances"] and baseline["errors"] == 0
        assert set(baseline["endpoints"]) == {"search", "queue_list"}
        assert run["against_baseline"]["mix_throughput_ratio"] > 0
    assert out["error_count"] == 0
    assert len(out["throughput_over_first_run"]) == 2
    assert out["machine"]["load_average_after"]
