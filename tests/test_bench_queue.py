"""The queue benchmark runs end to end at a tiny size (its figures are not checked, only that
every part of it still works against the service as it is): both sizes' seeding (foreign keys
checked row by row here), the list's mix, the baseline (the list's own statement, which must
give the service's answer: the run fails otherwise), the transitions, the JSON."""

from __future__ import annotations

from tests.support.bench import run_bench


def test_the_queue_benchmark_runs_at_a_tiny_size(database_url: str) -> None:
    args = ["--entries", "120", "--small", "60", "--requests", "9", "--transitions", "12"]
    args += ["--concurrency", "2", "--limit", "5", "--pages", "2", "--check-foreign-keys"]
    out = run_bench("queue.py", args, database_url)

    assert out["benchmark"] == "queue"
    assert out["small"]["entries"] == 60 and out["large"]["entries"] == 120
    for size, entries in (("small", 60), ("large", 120)):
        seed = out[size]["seed"]
        assert abs(seed["open_entries"] - entries) <= 1, seed
        assert seed["stale_entries"] == 0
        for table in ("clients", "enrollments", "case_assignments", "document_checks"):
            assert seed["rows"][table] > 0, (size, table)
        assert seed["rows"]["current_living_situations"] >= seed["open_entries"]
        listed = out[size]["list"]
        assert listed["requests"] == 9 and listed["p95_ms"] > 0
        assert set(listed["by_kind"]) == {"first_page", "case_manager", "next_page"}
        assert listed["by_kind"]["first_page"]["mean_shown"] == 5
        assert listed["by_kind"]["next_page"]["mean_shown"] == 5
        assert out[size]["server_memory"]["rss_mb"] > 0
    assert out["large"]["next_pages"] == 2
    large = out["large"]
    for phase in ("baseline", "database_only"):
        assert large[phase]["requests"] == 9 and large[phase]["p95_ms"] > 0, phase
    assert large["transition"]["requests"] == 12 and large["transition"]["concurrency"] == 1
    assert large["transition"]["p95_ms"] > 0
    assert out["throughput_ratio_to_baseline"] > 0
    assert out["p95_large_over_small"] > 0
    assert set(out["targets"]) == {
        "list_p95_le_50ms",
        "list_ge_50pct_of_baseline",
        "p95_large_over_small_le_1_5",
        "transition_p95_le_30ms",
    }
    assert out["machine"]["load_average_after"]
