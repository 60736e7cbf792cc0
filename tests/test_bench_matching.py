"""The matching benchmark runs end to end at a tiny size (its figures are not checked, only that
every part of it still works against the service as it is): the seeding (foreign keys checked
row by row here), the candidates and their baseline (the candidate search's own statement,
which must give the service's answer: the run fails otherwise), the explanations, the JSON."""

from __future__ import annotations

from tests.support.bench import run_bench


def test_the_matching_benchmark_runs_at_a_tiny_size(database_url: str) -> None:
    args = ["--entries", "200", "--requests", "8", "--explanations", "8", "--concurrency", "2"]
    args += ["--limit", "10", "--check-foreign-keys", "--one-at-a-time", "4"]
    out = run_bench("matching.py", args, database_url)

    assert out["benchmark"] == "matching"
    seeded = out["seed"]
    assert seeded["approved_entries"] == 200 and seeded["stale_entries"] == 0
    assert seeded["open_entries_by_intake_status"]["approved"] == 200
    assert seeded["clients"] > 200 and seeded["rows"]["matches"] > 0
    assert len(out["requirements"]) == 5
    assert out["candidates_shown"] == 10 and out["last_rank_shown"] >= 10
    for phase in ("candidates", "baseline", "database_only", "explanation"):
        assert out[phase]["requests"] == 8, phase
        assert out[phase]["p95_ms"] > 0, phase
    for phase in ("candidates_one_at_a_time", "explanation_one_at_a_time"):
        assert out[phase]["requests"] == 4 and out[phase]["p95_ms"] > 0, phase
    assert out["candidates"]["mean_shown"] == 10
    assert out["explanation"]["mean_shown"] == 5  # the five requirements, each checked
    assert out["throughput_ratio_to_baseline"] > 0
    assert out["server_memory"]["service"]["rss_mb"] > 0
    assert set(out["targets"]) == {
        "candidates_p95_le_100ms",
        "candidates_ge_50pct_of_baseline",
        "explanation_p95_le_30ms",
        "one_at_a_time_candidates_p95_le_100ms",
        "one_at_a_time_explanation_p95_le_30ms",
    }
