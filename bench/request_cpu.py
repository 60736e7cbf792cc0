"""The service's CPU per request on a few everyday endpoints, one request at a time.

Usage: python bench/request_cpu.py [--requests 2000] [--clients 20000] [--entries 3000]
                                   [--profile-dir DIR] [--only me,unread,search,queue]
       python bench/request_cpu.py --only candidates,explain [--entries 5000]

Not a load test: requests are sent one after the other over one keep-alive connection, so the
server's CPU time per request (read from /proc before and after each endpoint's run) is
meaningful on a shared machine. One run (on ``bench.harness``):

1. a throw-away database: the demo CoC, ``--clients`` clients (``bench.population``) and
   about ``--entries`` open queue entries (``bench.queue_population``);
2. the service under uvicorn (``app.asgi:app``, production settings, no job runner), a CAS
   admin and a case manager logged in;
3. for each endpoint, a warm-up and then ``--requests`` requests: ``GET /api/v1/auth/me``
   (CAS admin), ``GET /api/v1/notifications/unread-count`` (case manager), find-client
   ``POST /api/v1/clients/search`` (case manager, typo'd names as ``bench/client_search.py``
   draws them), ``GET /api/v1/queue-entries?status=approved&limit=50`` (CAS admin);
   matching's (``--only candidates,explain``, not with ``queue``): the queue is
   ``bench/matching.py``'s instead (``--entries`` approved entries, ``seed_matching``, the
   vacancy project's five requirements and ten units), then
   ``GET /api/v1/units/{id}/candidates?limit=50`` over the ten units and
   ``GET /api/v1/units/{id}/eligibility/{client_id}`` for heads of household drawn from the
   whole queue (CAS admin);
4. with ``--profile-dir``: the same again (``--profile-requests`` each) against a second server,
   ``bench/profiled_app.py``, which profiles each endpoint's run with cProfile; the statistics
   are written to the directory (``<endpoint>.pstats`` and the top functions as text).

Prints one JSON object: per endpoint the service CPU in ms per request and the latency.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import pstats
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from app.services.demo import SeededCoc  # noqa: E402
from app.services.platform.crypto import FieldCipher  # noqa: E402
from bench import harness  # noqa: E402
from bench.client_search import _search_bodies  # noqa: E402
from bench.harness import Bench, Job, Server  # noqa: E402
from bench.matching import VACANCY_PROJECT, seed_matching  # noqa: E402
from bench.matching import _setup as setup_vacancies  # noqa: E402
from bench.population import CLIENT_COLUMNS, ORGANIZATIONS, client_rows  # noqa: E402
from bench.queue_population import seed_queue  # noqa: E402

ENDPOINTS = ("me", "unread", "search", "queue")
# Endpoints on ``bench/matching.py``'s queue (seeded instead of ``bench.queue_population``'s).
MATCHING_ENDPOINTS = ("candidates", "explain")


@dataclass
class Matching:
    """The vacancies (units of the vacancy project) and heads of household to explain."""

    units: list[str] = field(default_factory=list)
    heads: list[uuid.UUID] = field(default_factory=list)


def _jobs(
    client: httpx.AsyncClient,
    name: str,
    n: int,
    headers: dict[str, dict[str, str]],
    bodies: list[dict[str, Any]],
    matching: Matching,
) -> list[Job]:
    if name == "candidates":
        units = matching.units
        return [
            harness.http_job(
                client,
                name,
                "GET",
                f"/api/v1/units/{units[i % len(units)]}/candidates?limit=50",
                headers=headers["admin"],
            )
            for i in range(n)
        ]
    if name == "explain":
        units, heads = matching.units, matching.heads
        return [
            harness.http_job(
                client,
                name,
                "GET",
                f"/api/v1/units/{units[i % len(units)]}/eligibility/{heads[i * 7919 % len(heads)]}",
                headers=headers["admin"],
                shown=lambda r: len(r.json()["requirements"]),
            )
            for i in range(n)
        ]
    if name == "me":
        job = harness.http_job(client, name, "GET", "/api/v1/auth/me", headers=headers["admin"])
        return [job] * n
    if name == "unread":
        job = harness.http_job(
            client, name, "GET", "/api/v1/notifications/unread-count", headers=headers["cm"]
        )
        return [job] * n
    if name == "search":
        return [
            harness.http_job(
                client,
                name,
                "POST",
                "/api/v1/clients/search",
                body=bodies[i % len(bodies)],
                headers=headers["cm"],
            )
            for i in range(n)
        ]
    path = "/api/v1/queue-entries?status=approved&limit=50"
    job = harness.http_job(client, name, "GET", path, headers=headers["admin"])
    return [job] * n


async def _logins(client: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    return {
        "admin": await harness.login(client, "cas_admin"),
        "cm": await harness.login(client, "case_manager"),
    }


async def _measure(
    server: Server, names: list[str], n: int, bodies: list[dict[str, Any]], matching: Matching
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with harness.http_client(server.base, 1) as client:
        headers = await _logins(client)
        for name in names:
            warm = _jobs(client, name, max(50, n // 10), headers, bodies, matching)
            await harness.drive(warm, 1)
            jobs = _jobs(client, name, n, headers, bodies, matching)
            phase = await harness.measure(jobs, 1, server)
            out[name] = {
                "load_average_before": phase.load_before,
                **harness.summary(phase.results, name, phase.wall),
                **phase.cpu.per_request(n),
            }
    return out


def _top(path: Path, limit: int = 40) -> str:
    buf = io.StringIO()
    stats = pstats.Stats(str(path), stream=buf)
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit * 2)
    return buf.getvalue()


async def _profile(
    bench: Bench,
    names: list[str],
    n: int,
    bodies: list[dict[str, Any]],
    matching: Matching,
    out_dir: Path,
) -> dict[str, str]:
    server = await bench.serve(
        "bench.profiled_app:app",
        name="profiled",
        env={**harness.NO_JOB_RUNNER, "BENCH_PROFILE_DIR": str(out_dir)},
    )
    files: dict[str, str] = {}
    async with harness.http_client(server.base, 1) as client:
        headers = await _logins(client)
        for name in names:
            await harness.drive(_jobs(client, name, max(50, n // 10), headers, bodies, matching), 1)
            (await client.post("/__profile/start")).raise_for_status()
            await harness.drive(_jobs(client, name, n, headers, bodies, matching), 1)
            (await client.post(f"/__profile/stop?{name}")).raise_for_status()
            stats = out_dir / f"{name}.pstats"
            (out_dir / f"{name}.txt").write_text(_top(stats))
            files[name] = str(stats)
    server.stop()
    return files


async def _seed_clients(bench: Bench, world: SeededCoc, n: int, rng: random.Random) -> None:
    """``n`` more clients (``bench.population``) beside the queue's, with their access rows."""
    cipher = FieldCipher(bench.settings.field_encryption_key)
    orgs = [world.orgs[k].id for k in ORGANIZATIONS]
    rows = list(
        client_rows(
            n, rng, coc_id=world.coc.id, organizations=orgs, today=date.today(), cipher=cipher
        )
    )
    conn = await bench.connect()
    try:
        await conn.copy_records_to_table("clients", records=rows, columns=list(CLIENT_COLUMNS))
        await conn.execute(
            "INSERT INTO client_access (id, client_id, organization_id, reason, coc_id) "
            "SELECT gen_random_uuid(), c.id, c.created_by_organization_id, 'created', c.coc_id "
            "FROM clients c WHERE NOT EXISTS (SELECT 1 FROM client_access a "
            "WHERE a.client_id = c.id AND a.reason = 'created')"
        )
    finally:
        await conn.close()
    await bench.vacuum_analyze("clients", "client_access")


async def _seed_matching(
    bench: Bench, service: Server, world: SeededCoc, entries: int, rng: random.Random
) -> Matching:
    """``bench/matching.py``'s queue, vacancy project and units (the service must be up)."""
    async with harness.http_client(service.base, 1) as client:
        admin = await harness.login(client, "cas_admin")
        units = await setup_vacancies(client, admin, world.projects[VACANCY_PROJECT].id)
    seeded = await seed_matching(bench, world, entries, rng, uuid.UUID(units[0]))
    return Matching(units, seeded.heads)


async def _run(bench: Bench, args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    started = time.perf_counter()
    names = [n for n in args.only.split(",") if n]
    world = await bench.seed_coc()
    matching = Matching()
    service = await bench.serve(env=harness.NO_JOB_RUNNER)
    if any(n in MATCHING_ENDPOINTS for n in names):
        matching = await _seed_matching(bench, service, world, args.entries, rng)
    else:
        await seed_queue(bench, world, args.entries, rng, case_managers=40)
    await _seed_clients(bench, world, args.clients, rng)
    seed_s = round(time.perf_counter() - started, 1)
    bodies = _search_bodies(200, random.Random(args.seed + 1))
    measured = await _measure(service, names, args.requests, bodies, matching)
    service.stop()
    profiles: dict[str, str] = {}
    if args.profile_dir:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
        profiles = await _profile(
            bench, names, args.profile_requests, bodies, matching, args.profile_dir
        )
    await bench.report(
        {
            "benchmark": "request_cpu",
            "clients": args.clients,
            "open_entries": args.entries,
            "seed_seconds": seed_s,
            "requests_per_endpoint": args.requests,
            "service": "uvicorn app.asgi:app, 1 worker, production settings, no job runner, "
            "requests one at a time over one keep-alive connection (httpx)",
            "endpoints": measured,
            "profiles": profiles,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--entries", type=int, default=3000)
    parser.add_argument("--only", default=",".join(ENDPOINTS))
    parser.add_argument("--profile-dir", type=Path)
    parser.add_argument("--profile-requests", type=int, default=500)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    chosen = set(args.only.split(","))
    if chosen - {*ENDPOINTS, *MATCHING_ENDPOINTS, ""}:
        parser.error(
            f"--only: unknown endpoint(s) {sorted(chosen - {*ENDPOINTS, *MATCHING_ENDPOINTS})}"
        )
    if "queue" in chosen and chosen & set(MATCHING_ENDPOINTS):
        parser.error("--only: queue and the matching endpoints seed different queues")
    if args.profile_dir:
        args.profile_dir = args.profile_dir.resolve()  # the server runs in the project directory
    os.environ.setdefault("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    with Bench("request_cpu") as bench:
        asyncio.run(_run(bench, args))


if __name__ == "__main__":
    main()
