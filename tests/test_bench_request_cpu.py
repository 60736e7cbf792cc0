"""``bench/request_cpu.py`` runs its matching endpoints end to end at a tiny size (figures not
checked): matching's queue seeded in place of the queue's own, the candidates over the
vacancies and the explanations of heads of household, each measured one at a time."""

from __future__ import annotations

from tests.support.bench import run_bench


def test_the_matching_endpoints_run_at_a_tiny_size(database_url: str) -> None:
    args = ["--only", "candidates,explain", "--entries", "60", "--clients", "10"]
    args += ["--requests", "50"]
    out = run_bench("request_cpu.py", args, database_url)

    assert out["benchmark"] == "request_cpu"
    assert set(out["endpoints"]) == {"candidates", "explain"}
    candidates, explain = out["endpoints"]["candidates"], out["endpoints"]["explain"]
    assert candidates["requests"] == explain["requests"] == 50
    assert candidates["mean_shown"] > 0  # eligible candidates listed
    assert explain["mean_shown"] == 5  # the five requirements, each checked
    for figures in (candidates, explain):
        assert figures["service_cpu_ms_per_request"] > 0
