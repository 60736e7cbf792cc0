"""The find-client benchmark runs end to end at a tiny size (its figures are not checked, only
that every part of it still works against the service as it is): the seeding, the searches and
creates at a concurrency, the sequential passes (searches and ``GET /auth/me``), the baseline
serving the service's own candidate SQL over HTTP and in-process, the JSON."""

from __future__ import annotations

from tests.support.bench import run_bench


def test_the_client_search_benchmark_runs_at_a_tiny_size(database_url: str) -> None:
    args = ["--clients", "400", "--requests", "60", "--sequential", "8", "--concurrency", "2"]
    out = run_bench("client_search.py", args, database_url)

    assert out["benchmark"] == "client_search" and out["clients"] == 400
    concurrent = out["concurrent"]
    assert concurrent["search"]["requests"] + concurrent["create"]["requests"] == 60
    assert concurrent["create"]["requests"] == 1  # every 50th request
    for figure in ("p50_ms", "p95_ms", "p99_ms"):
        assert concurrent["search"][figure] > 0
    assert concurrent["search"]["mean_shown"] > 0  # the searches find people
    assert concurrent["requests_per_s"] > 0 and concurrent["service_cpu_ms_per_request"] > 0
    assert out["sequential"]["requests"] == 8 and out["sequential"]["service_cpu_ms_per_request"]
    assert out["auth_me_sequential"]["requests"] == 8
    assert "service_cpu_ms_over_auth_me" in out["sequential"]
    for phase in ("baseline", "database_only"):
        assert out[phase]["requests"] == 59 and out[phase]["p95_ms"] > 0, phase
    # The baseline runs the service's candidate SQL: it finds candidates too.
    assert out["baseline"]["mean_shown"] >= concurrent["search"]["mean_shown"]
    assert out["throughput_ratio_to_baseline"] > 0
    assert out["server_memory"]["service"]["rss_mb"] > 0
    assert out["server_memory"]["baseline_app"]["rss_mb"] > 0
    assert set(out["targets"]) == {"search_p95_le_50ms", "throughput_ge_40pct_of_baseline"}
    assert out["machine"]["load_average_after"]
