"""Benchmark: the CAS queue's list over a large queue, and a status transition.

Usage (``bench/queue.py`` runs this module):
    python bench/queue.py [--entries 100000] [--small 10000] [--requests 1500]
                          [--transitions 200] [--concurrency 32] [--limit 50] [--pages 5]
                          [--workers 1] [--check-foreign-keys] [--profile service.html]

One run (on ``bench.harness``), at two sizes, each in its own throw-away database: first
``--small`` open queue entries, then ``--entries``:

1. the demo CoC, then the queue, set-based (``bench.queue_population.seed_queue``): open
   entries (95 % approved, the rest in the other intake statuses) with their households'
   clients (COPY), Coordinated Entry enrollments, the head's assessment, income, area tie,
   400 case managers each assigned an equal share of the households, two Current Living
   Situations per head, Document Check documents, a few matches (sent, parked, declined);
2. the service as its own uvicorn process on a loopback port (production settings, without its
   in-process job runner: ``harness.NO_JOB_RUNNER``);
3. as a CAS administrator, at ``--concurrency`` in flight, ``--requests`` requests mixed in
   equal thirds (``GET /api/v1/queue-entries``, ``limit=--limit``):
   * ``first_page``: approved entries in rank order (the default order), the first page;
   * ``case_manager``: approved entries of one case manager (``case_manager_id``; ten case
     managers in turn), rank order;
   * ``next_page``: the keyset pages 2 to ``--pages + 1`` of ``first_page`` (their cursors);
4. at the large size only: the baseline -- the list's own statement
   (``app.services.queue.listing.list_statement(coc, filter, order, after, limit, now,
   today, after_rank=...)``, compiled; checked to answer the same entries with the same ranks
   as the service) for the same mix, through raw asyncpg in a minimal ASGI app under uvicorn
   (``bench/baseline_app.py``) at the same concurrency, then in this process without HTTP
   (``database_only``); and ``--transitions`` status transitions
   (``POST /api/v1/queue-entries/{id}/transitions``, approved -> incomplete_documentation with
   a reason, ``If-Match``), one at a time (the latency of one transition).

One JSON object is printed: for each size the seed and the list's figures (p50/p95/p99,
requests/s, per kind), the baseline, the throughput ratio, p95 at the large size over p95 at
the small size, the transition's figures, the service's resident memory, the load average
before each phase and after, and the issue's targets (list p95 <= 50 ms at concurrency 32,
>= 50 % of the baseline's throughput, p95 100k / p95 10k <= 1.5, transition p95 <= 30 ms).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import random  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

from app import clock  # noqa: E402
from app.db import create_engine  # noqa: E402
from app.reference.queue import IntakeStatus, QueueSort  # noqa: E402
from app.services.queue import listing  # noqa: E402
from bench import harness  # noqa: E402
from bench.harness import Bench, Job  # noqa: E402
from bench.queue_population import QueueSeeded, seed_queue  # noqa: E402

TARGET_LIST_P95_MS = 50
TARGET_RATIO = 0.5
TARGET_SCALING = 1.5
TARGET_TRANSITION_P95_MS = 30

KINDS = ("first_page", "case_manager", "next_page")
LIST = "/api/v1/queue-entries"
CASE_MANAGERS_USED = 10
TRANSITION = {
    "to_status": "incomplete_documentation",
    "incomplete_reasons": [{"code": "other", "text": "A document of the record expired."}],
    "note": "Benchmark review.",
}


def _items(r: httpx.Response) -> list[tuple[str, int]]:
    return [(i["id"], i["priority"]["rank"]) for i in r.json()["items"]]


async def _paths(
    client: httpx.AsyncClient, admin: dict[str, str], seeded: QueueSeeded, args: argparse.Namespace
) -> dict[str, list[str]]:
    """The request paths of each kind; the cursors of the next pages are the service's own."""
    first = f"{LIST}?status=approved&limit={args.limit}"
    managers = seeded.case_managers[:CASE_MANAGERS_USED]
    by_manager = [f"{first}&case_manager_id={m}" for m in managers]
    pages = []
    path = first
    for _ in range(args.pages):
        r = await client.get(path, headers=admin)
        r.raise_for_status()
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
        path = f"{first}&cursor={cursor}"
        pages.append(path)
    return {"first_page": [first], "case_manager": by_manager, "next_page": pages or [first]}


def _jobs(
    client: httpx.AsyncClient, admin: dict[str, str], paths: dict[str, list[str]], n: int
) -> list[Job]:
    jobs = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        options = paths[kind]
        path = options[(i // len(KINDS)) % len(options)]
        jobs.append(harness.http_job(client, kind, "GET", path, headers=admin))
    return jobs


def _phase(p: harness.Phase) -> dict[str, Any]:
    """Every kind together (the mix), then each."""
    ms = [t for _, t, _ in p.results]
    return {
        **p.totals(),
        "requests": len(ms),
        **harness.percentiles(ms),
        "by_kind": {k: p.summary(k) for k in KINDS if any(r[0] == k for r in p.results)},
    }


async def list_statements(
    bench: Bench, coc: Any, paths: dict[str, list[str]], limit: int
) -> dict[str, list[tuple[str, list[Any]]]]:
    """For each request path, the list's statement as the service builds it
    (``listing.list_statement``), compiled as the service's driver sends it: (sql, args)."""
    engine = create_engine(bench.url, bench.settings, pool=False)
    order = listing.QueueOrder(QueueSort.RANK, descending=False)
    now: datetime = clock.now()
    today = clock.today(coc)
    out: dict[str, list[tuple[str, list[Any]]]] = {}
    try:
        for kind, options in paths.items():
            out[kind] = []
            for path in options:
                query = httpx.URL(path).params
                manager = query.get("case_manager_id")
                f = listing.QueueFilter(
                    statuses=(IntakeStatus.APPROVED,),
                    case_manager_id=uuid.UUID(manager) if manager else None,
                )
                after, after_rank = (None, None)
                if query.get("cursor"):
                    after, after_rank = listing.decode_queue_cursor_with_rank(
                        query["cursor"], order
                    )
                stmt = listing.list_statement(
                    coc.id, f, order, after, limit, now, today, after_rank=after_rank
                )
                compiled = stmt.compile(
                    dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
                )
                args = [compiled.params[k] for k in compiled.positiontup or []]
                out[kind].append((str(compiled), args))
    finally:
        await engine.dispose()
    return out


async def _check_baseline(
    bench: Bench,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    paths: dict[str, list[str]],
    statements: dict[str, list[tuple[str, list[Any]]]],
    limit: int,
) -> None:
    """The baseline's statements answer what the service answers (ids and ranks)."""
    conn = await bench.connect()
    try:
        for kind in KINDS:
            for path, (sql, args) in zip(paths[kind], statements[kind], strict=True):
                r = await client.get(path, headers=admin)
                r.raise_for_status()
                rows = await conn.fetch(sql, *args)
                theirs = [(str(row["id"]), int(row["rank"])) for row in rows[:limit]]
                if theirs != _items(r):
                    raise RuntimeError(f"{kind}: the baseline's statement answers differently")
    finally:
        await conn.close()


async def _size(
    bench: Bench, args: argparse.Namespace, rng: random.Random, entries: int, full: bool
) -> dict[str, Any]:
    world = await bench.seed_coc()
    seeded = await seed_queue(
        bench, world, entries, rng, check_foreign_keys=args.check_foreign_keys
    )
    service = await bench.serve(
        workers=args.workers,
        profile=args.profile if full else None,
        env=harness.NO_JOB_RUNNER,
    )
    out: dict[str, Any] = {"seed": seeded.figures()}
    async with harness.http_client(service.base, args.concurrency) as client:
        admin = await harness.login(client, "cas_admin")
        paths = await _paths(client, admin, seeded, args)
        out["next_pages"] = len(paths["next_page"])
        await harness.drive(_jobs(client, admin, paths, max(30, args.requests // 10)),
                            args.concurrency)  # fmt: skip
        listed = await harness.measure(
            _jobs(client, admin, paths, args.requests), args.concurrency, service
        )
        out["list"] = _phase(listed)
        if full:
            conn = await bench.connect()
            try:
                ids = [
                    r[0]
                    for r in await conn.fetch(
                        "SELECT id FROM queue_entries WHERE closed_at IS NULL AND "
                        "intake_status = 'approved' AND referral_status = 'none' "
                        "ORDER BY tie_breaker LIMIT $1",
                        args.transitions + 10,
                    )
                ]
            finally:
                await conn.close()
            headers = {**admin, "If-Match": "*"}
            moves = [
                harness.http_job(
                    client,
                    "transition",
                    "POST",
                    f"{LIST}/{entry_id}/transitions",
                    body=TRANSITION,
                    headers=headers,
                    ok=(200,),
                    shown=lambda r: 1,
                )
                for entry_id in ids
            ]
            await harness.drive(moves[:10], 1)  # warm-up
            moved = await harness.measure(moves[10:], 1, service)
            out["transition"] = {**moved.totals(), **moved.summary("transition")}
            out["transition"]["concurrency"] = 1
            statements = await list_statements(bench, world.coc, paths, args.limit)
            await _check_baseline(bench, client, admin, paths, statements, args.limit)
        out["server_memory"] = service.memory()
    if not full:
        return out
    requests = []
    for i in range(args.requests):
        kind = KINDS[i % len(KINDS)]
        options = statements[kind]
        requests.append([options[(i // len(KINDS)) % len(options)]])
    baseline_server = await bench.serve_baseline(requests, pool_size=args.concurrency)
    async with harness.http_client(baseline_server.base, args.concurrency) as client:
        jobs = harness.baseline_jobs(client, len(requests))
        await harness.drive(jobs[: max(30, len(jobs) // 10)], args.concurrency)
        base = await harness.measure(jobs, args.concurrency, baseline_server)
    out["baseline"] = {**base.totals(), **base.summary("baseline")}
    out["baseline_memory"] = baseline_server.memory()
    sql = await harness.run_sql(bench.url, requests, args.concurrency)
    out["database_only"] = {**sql.totals(), **sql.summary("database_only")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000, help="open queue entries")
    parser.add_argument("--small", type=int, default=10_000, help="the size to compare with")
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--transitions", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--limit", type=int, default=50, help="entries per page")
    parser.add_argument("--pages", type=int, default=5, help="next pages followed")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--check-foreign-keys",
        action="store_true",
        help="check foreign keys row by row while seeding (slower; the smoke test does)",
    )
    parser.add_argument(
        "--profile", type=Path, help="write a pyinstrument HTML profile of the service here"
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    load_before = harness.load()
    with Bench("queue-small") as bench:
        small = asyncio.run(_size(bench, args, rng, args.small, False))
    with Bench("queue") as bench:
        large = asyncio.run(_size(bench, args, rng, args.entries, True))
        p95_large = large["list"]["p95_ms"]
        p95_small = small["list"]["p95_ms"]
        scaling = round(p95_large / p95_small, 2) if p95_small else 0.0
        ratio = harness.ratio(large["list"]["requests_per_s"], large["baseline"]["requests_per_s"])
        figures = {
            "benchmark": "queue",
            "load_average_at_start": load_before,
            "requests": args.requests,
            "concurrency": args.concurrency,
            "limit": args.limit,
            "mix": {
                "first_page": "status=approved, rank order (the default), first page",
                "case_manager": (
                    f"status=approved&case_manager_id (one of {CASE_MANAGERS_USED} in turn)"
                ),
                "next_page": f"keyset pages 2..{args.pages + 1} of first_page (cursors)",
            },
            "service": (
                f"uvicorn app.asgi:app, {args.workers} worker(s), CAS_ENVIRONMENT=production, "
                "no access log, request logs to a file, loopback HTTP/1.1 keep-alive (httpx)"
            ),
            "baseline_service": (
                "listing.list_statement compiled, through asyncpg in a minimal ASGI app "
                "(bench/baseline_app.py), uvicorn, 1 worker, the same client"
            ),
            "small": {"entries": args.small, **small},
            "large": {"entries": args.entries, **large},
            "throughput_ratio_to_baseline": ratio,
            "p95_large_over_small": scaling,
            "targets": {
                "list_p95_le_50ms": p95_large <= TARGET_LIST_P95_MS,
                "list_ge_50pct_of_baseline": ratio >= TARGET_RATIO,
                "p95_large_over_small_le_1_5": scaling <= TARGET_SCALING,
                "transition_p95_le_30ms": large["transition"]["p95_ms"] <= TARGET_TRANSITION_P95_MS,
            },
        }
        asyncio.run(bench.report(figures))


if __name__ == "__main__":
    main()
