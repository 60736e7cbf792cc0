"""Benchmark: find-client and client create over a large population, served by uvicorn.

Usage: python bench/client_search.py [--clients 100000] [--requests 3000] [--concurrency 16]
                                    [--workers 1] [--profile service.html]

One run (on ``bench.harness``):
1. creates a throw-away database (``BENCH_DATABASE_URL`` names a server; otherwise an embedded
   PostgreSQL is used), migrates it and seeds a CoC with ``--clients`` clients by COPY: common
   US names with a skewed frequency, one in five spelled as a look-alike (Jon, Smyth, ...),
   DOBs, SSNs for 75 %, an ROI for 10 %, spread over four organizations (``bench.population``);
2. starts the service as a real uvicorn process on a loopback port, as the container runs it
   (``uvicorn app.asgi:app``, one worker unless ``--workers``, production settings, no access
   log, request logs to a file) and logs in as a system admin and as an agency case manager;
3. sends ``--requests`` requests at ``--concurrency`` in flight over keep-alive connections
   (httpx): find-client searches by both users (typo'd "First Last"; some "Last, First", some
   with a DOB) and, every 50th request, a create of a look-alike of a common name (duplicate
   detection); then a sequential pass of searches, and one of ``GET /api/v1/auth/me`` (the
   fixed cost of an authenticated request: the service CPU a search adds is the difference);
4. runs the same candidate SQL the service runs for those searches (its very SQL and
   arguments, ``clients.search.candidate_query``) through raw asyncpg in a minimal ASGI app
   served by uvicorn the same way, at the same concurrency: the baseline (both sides pay
   HTTP); then the same SQL through asyncpg in this process, without HTTP (``database_only``:
   what PostgreSQL alone does);
5. prints one JSON object, with the service's resident memory. Client, server and PostgreSQL
   share this machine's cores, so the load average of the machine is reported with each phase.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker  # noqa: E402

from app.config import Settings  # noqa: E402
from app.db import create_engine  # noqa: E402
from app.schemas.clients import ClientSearch  # noqa: E402
from app.security import decode_access_token  # noqa: E402
from app.services.clients import search as client_search  # noqa: E402
from app.services.identity.auth import load_actor  # noqa: E402
from app.services.platform.crypto import FieldCipher  # noqa: E402
from bench import harness  # noqa: E402
from bench.harness import Bench, Job, Server  # noqa: E402
from bench.population import Names, look_alike, seed_clients  # noqa: E402

USERS = ("system_admin", "case_manager")
CREATE_EVERY = 50


def _search_bodies(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """Typo'd names of people likely in the population (drawn like the population)."""
    names = Names(rng)
    bodies: list[dict[str, Any]] = []
    for _ in range(n):
        first, last = names.canonical()
        if rng.random() < 0.5:
            first = look_alike(first, rng)
        else:
            last = look_alike(last, rng)
        shape = rng.random()
        if shape < 0.1:
            body: dict[str, Any] = {"name": f"{last}, {first}"}
        elif shape < 0.2:
            body = {"name": f"{first} {last}", "dob": date(1945 + rng.randrange(60), 6, 1)}
        else:
            body = {"name": f"{first} {last}"}
        body["limit"] = 20
        bodies.append(body)
    return bodies


def _create_body(rng: random.Random, names: Names) -> dict[str, Any]:
    first, last = names.canonical()
    return {
        "first_name": look_alike(first, rng),
        "last_name": last,
        "dob": date(1945 + rng.randrange(60), 1 + rng.randrange(12), 1 + rng.randrange(28)),
    }


# --- load ---------------------------------------------------------------------------------------


def _http_job(
    client: httpx.AsyncClient, kind: str, path: str, body: dict[str, Any], headers: dict[str, str]
) -> Job:
    return harness.http_job(client, kind, "POST", path, body=body, headers=headers)


async def _baseline_statements(
    url: str, settings: Settings, tokens: dict[str, str], searches: list[tuple[str, dict[str, Any]]]
) -> list[tuple[str, list[Any]]]:
    """Each search's candidate SQL exactly as the service runs it: (sql, args)."""
    engine: AsyncEngine = create_engine(url, settings, pool=False)
    actors = {}
    async with async_sessionmaker(engine)() as session:
        for user, token in tokens.items():
            actors[user] = await load_actor(session, decode_access_token(settings, token))
    await engine.dispose()
    out = []
    cipher = FieldCipher(settings.field_encryption_key)
    for user, body in searches:
        terms = client_search.search_terms(ClientSearch.model_validate(body), None, cipher)
        query = client_search.candidate_query(actors[user], terms, engine.dialect)
        assert query is not None
        out.append(query)
    return out


async def _measure(
    bench: Bench, service: Server, args: argparse.Namespace, rng: random.Random
) -> dict[str, Any]:
    settings = bench.settings
    async with harness.http_client(service.base, args.concurrency) as client:
        headers = {user: await harness.login(client, user) for user in USERS}
        tokens = {u: h["Authorization"].removeprefix("Bearer ") for u, h in headers.items()}

        bodies = _search_bodies(args.requests, rng)
        searches = [(USERS[i % 2], b) for i, b in enumerate(bodies)]
        names = Names(rng)
        jobs: list[Job] = []
        for i, (user, body) in enumerate(searches):
            if i % CREATE_EVERY == CREATE_EVERY - 1:
                jobs.append(
                    _http_job(
                        client,
                        "create",
                        "/api/v1/clients",
                        _create_body(rng, names),
                        headers["case_manager"],
                    )
                )
            else:
                jobs.append(
                    _http_job(client, "search", "/api/v1/clients/search", body, headers[user])
                )
        warm = [
            _http_job(client, "search", "/api/v1/clients/search", b, headers[u])
            for u, b in searches[:200]
        ]
        await harness.drive(warm, args.concurrency)

        phase = await harness.measure(jobs, args.concurrency, service)
        concurrent = {
            "load_average_before": phase.load_before,
            "wall_s": round(phase.wall, 1),
            "requests_per_s": round(len(phase.results) / phase.wall, 1),
            "search": phase.summary("search"),
            "create": phase.summary("create"),
            **phase.cpu.per_request(len(phase.results)),
        }
        memory = service.memory()

        seq_jobs = [
            _http_job(client, "search", "/api/v1/clients/search", b, headers[u])
            for u, b in searches[: args.sequential]
        ]
        seq = await harness.measure(seq_jobs, 1, service)
        sequential = {
            "load_average_before": seq.load_before,
            **harness.summary(seq.results, "search", seq.wall),
            **seq.cpu.per_request(len(seq.results)),
        }
        # The fixed cost of any authenticated request, one at a time: what a search adds is
        # the difference.
        me_jobs = [
            harness.http_job(client, "auth_me", "GET", "/api/v1/auth/me", headers=headers[u])
            for u, _ in searches[: args.sequential]
        ]
        me = await harness.measure(me_jobs, 1, service)
        auth_me = {
            "load_average_before": me.load_before,
            **harness.summary(me.results, "auth_me", me.wall),
            **me.cpu.per_request(len(me.results)),
        }
        sequential["service_cpu_ms_over_auth_me"] = round(
            sequential["service_cpu_ms_per_request"] - auth_me["service_cpu_ms_per_request"], 2
        )

    statements = await _baseline_statements(
        bench.url,
        settings,
        tokens,
        [s for i, s in enumerate(searches) if i % CREATE_EVERY != CREATE_EVERY - 1],
    )
    requests = [[statement] for statement in statements]
    baseline_server = await bench.serve_baseline(requests, pool_size=args.concurrency)
    async with harness.http_client(baseline_server.base, args.concurrency) as client:
        base_jobs = harness.baseline_jobs(client, len(requests))
        await harness.drive(base_jobs[: max(50, len(base_jobs) // 10)], args.concurrency)
        base = await harness.measure(base_jobs, args.concurrency, baseline_server)
    baseline = {
        "load_average_before": base.load_before,
        "wall_s": round(base.wall, 1),
        **harness.summary(base.results, "baseline", base.wall),
        **{
            ("baseline_app_cpu_ms_per_request" if k.startswith("service_") else k): v
            for k, v in base.cpu.per_request(len(base.results)).items()
        },
    }
    sql = await harness.run_sql(bench.url, requests, args.concurrency)
    database_only = {
        "load_average_before": sql.load_before,
        "wall_s": round(sql.wall, 1),
        **harness.summary(sql.results, "database_only", sql.wall),
        **sql.cpu.per_request(len(sql.results)),
    }
    return {
        "concurrent": concurrent,
        "sequential": sequential,
        "auth_me_sequential": auth_me,
        "baseline": baseline,
        "database_only": database_only,
        "server_memory": {"service": memory, "baseline_app": baseline_server.memory()},
    }


async def _run(bench: Bench, args: argparse.Namespace, rng: random.Random) -> None:
    world = await bench.seed_coc()
    seed_seconds = await seed_clients(bench, world, args.clients, rng)
    service = await bench.serve(workers=args.workers, profile=args.profile)
    measured = await _measure(bench, service, args, rng)
    concurrent, baseline = measured["concurrent"], measured["baseline"]
    ratio = harness.ratio(concurrent["requests_per_s"], baseline["requests_per_s"])
    await bench.report(
        {
            "benchmark": "client_search",
            "clients": args.clients,
            "seed_seconds": seed_seconds,
            "requests": args.requests,
            "concurrency": args.concurrency,
            "workload": (
                "find-client by a system admin and an agency case manager, alternating: "
                "typo'd 'First Last' (10 % 'Last, First', 10 % with a DOB), limit 20; "
                f"every {CREATE_EVERY}th request creates a look-alike client"
            ),
            "service": (
                f"uvicorn app.asgi:app, {args.workers} worker(s), CAS_ENVIRONMENT=production, "
                "no access log, request logs to a file, loopback HTTP/1.1 keep-alive (httpx)"
            ),
            "baseline_service": (
                "the same candidate SQL through asyncpg in a minimal ASGI app "
                "(bench/baseline_app.py), uvicorn, 1 worker, the same client"
            ),
            **measured,
            "throughput_ratio_to_baseline": ratio,
            "targets": {
                "search_p95_le_50ms": concurrent["search"]["p95_ms"] <= 50,
                "throughput_ge_40pct_of_baseline": ratio >= 0.4,
            },
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--sequential", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    # The container runs one worker; uvicorn takes more from WEB_CONCURRENCY.
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--profile", type=Path, help="write a pyinstrument HTML profile of the service here"
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with Bench("client_search") as bench:
        asyncio.run(_run(bench, args, rng))


if __name__ == "__main__":
    main()
