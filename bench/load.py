"""Benchmark: mixed realistic load against the service, one instance then two.

Usage: python bench/load.py [--concurrency 64] [--duration 60] [--instances 1 2]
                            [--clients 20000] [--database-url URL] [--warmup 5]

One run (on ``bench.harness``):

1. a throw-away database (``--database-url`` or ``BENCH_DATABASE_URL`` names a server, else an
   embedded PostgreSQL), migrated, seeded set-based with the demo CoC and about ``--clients``
   clients in households on the queue (``bench.queue_population``: 95 % of the open entries
   approved, case managers and their assignments, Current Living Situations, Document Check
   documents, a few matches), then ``bench.load_population``: an inbox of notifications for each
   user who logs in, vacant units for the matches, the households whose status the run moves
   assigned to the demo case manager;
2. for each count of ``--instances`` (default 1, then 2): that many ``uvicorn app.asgi:app``
   processes on their own loopback ports, production settings, sharing the one database,
   without the in-process job runner (``CAS_RUN_JOBS_IN_SERVER=false``, see ``JOB_RUNNER``);
   each user logs in once; ``--warmup`` seconds of the mix (not measured, its errors
   reported), then ``--duration`` seconds of it with ``--concurrency`` requests in flight, the
   requests spread round-robin over the instances (``MIX``: client search, the queue's list,
   the bell and the inbox, a provider's matches, CE intakes of new clients, intake-status
   transitions the state table allows with ``If-Match``, matches of approved households to
   vacant units, Document Check uploads of small PDFs); every answer outside the endpoint's
   expected statuses is an error, listed by endpoint and status;
3. the baseline, after each: the same SQL the service runs for the two read endpoints of the
   mix with the most weight (the find-client candidate search and the queue's list, their own
   statements compiled) through raw asyncpg in ``bench/baseline_app.py`` under uvicorn, as many
   processes as instances, each with the service's pool size, round-robin, at the same
   concurrency for the same time.

One JSON object is printed: per run the throughput, p50/p95/p99 per endpoint, the errors, the
peak resident memory of each server process, CPU per request, the load average; the baseline
with its ratios; and two instances' throughput over one's.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import itertools
import json
import os
import pickle
import random
import sys
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.routers.intake import INTAKE_EXAMPLES  # noqa: E402
from app.services.demo_community import demo_pdf  # noqa: E402
from bench import harness  # noqa: E402
from bench.client_search import _baseline_statements, _search_bodies  # noqa: E402
from bench.harness import Bench, Server  # noqa: E402
from bench.load_population import LoadPopulation, seed_load  # noqa: E402
from bench.population import Names  # noqa: E402
from bench.queue_bench import _paths, list_statements  # noqa: E402
from bench.queue_population import seed_queue  # noqa: E402

API = "/api/v1"
# (endpoint, weight in 100 requests, what it is). Reads dominate, as at a CoC's front desk;
# the bell is polled by every open browser tab.
MIX: list[tuple[str, int, str]] = [
    ("search", 18, "POST /clients/search, case managers of the two access points in turn"),
    (
        "queue_list",
        16,
        "GET /queue-entries?status=approved, CAS admin: first page, a case "
        "manager's entries, next pages (keyset cursors)",
    ),
    ("unread_count", 18, "GET /notifications/unread-count, each user in turn"),
    ("notifications", 8, "GET /notifications?limit=20, each user in turn"),
    ("matches_list", 4, "GET /matches, the housing provider"),
    ("intake", 6, "POST /cas/intakes (placed on the queue), a new client, Idempotency-Key"),
    (
        "transition",
        14,
        "POST /queue-entries/{id}/transitions with If-Match: approved -> "
        "incomplete_documentation (CAS admin) -> pending_second_review (the assigned case "
        "manager) -> approved (CAS admin), round and round",
    ),
    (
        "match",
        6,
        "POST /matches, CAS admin: an approved household to a vacant unit "
        "(each once), Idempotency-Key",
    ),
    (
        "upload",
        10,
        "POST /clients/{id}/document-checks, a 1 KB PDF (multipart), the case "
        "manager acting for the CAS organization, Idempotency-Key",
    ),
]
OK = {"intake": (201,), "match": (201,), "upload": (201,)}  # others: 200
READS = ("search", "queue_list")  # the baseline's endpoints

JOB_RUNNER = (
    "CAS_RUN_JOBS_IN_SERVER=false: the servers run no background jobs, as where `cas worker` "
    "processes run them. On a freshly seeded database the first notification scans would find "
    "every seeded household 'inactive for 90 days' and fan those notices out inside the "
    "measured processes for the whole run; the notification events the run records wait for "
    "a worker (the inboxes read are the seeded ones)."
)

NOTIFICATIONS_PER_USER = 400
INCOMPLETE = {
    "to_status": "incomplete_documentation",
    "incomplete_reasons": [{"code": "disability_verification"}],
    "instructions_for_case_manager": "Upload the doctor's letter to Document Check.",
    "note": "Reviewed for a PSH referral.",
}
SECOND_REVIEW = {"to_status": "pending_second_review", "note": "Disability letter uploaded."}
APPROVED = {"to_status": "approved", "note": "Documentation complete."}
# The next move from each status, and who makes it.
MOVES = {
    "approved": (INCOMPLETE, "cas_admin"),
    "incomplete_documentation": (SECOND_REVIEW, "case_manager"),
    "pending_second_review": (APPROVED, "cas_admin"),
}
DOCUMENT_CHECK = {
    "category": "homeless",
    "item": "homeless",
    "document_type": "third_party_letter",
    "comments": "Shelter letter",
}

# (endpoint, milliseconds, status: 0 when no answer came, error detail or "")
Record = tuple[str, float, int, str]


# --- the users ----------------------------------------------------------------------------------


async def login(client: httpx.AsyncClient, user: str, organization_id: Any) -> dict[str, str]:
    body = {
        "email": f"{user}@{harness.EMAIL_DOMAIN}",
        "password": harness.PASSWORD,
        "organization_id": str(organization_id),
    }
    r = await client.post(f"{API}/auth/login", json=body)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def log_in(client: httpx.AsyncClient, world: Any) -> dict[str, dict[str, str]]:
    """One login per user and organization (six in all: well inside the login rate limit)."""
    who = {
        "case_manager": ("case_manager", "access_point_1"),
        "case_manager_cas": ("case_manager", "cas"),
        "case_manager2": ("case_manager2", "access_point_2"),
        "cas_admin": ("cas_admin", "cas"),
        "housing_provider": ("housing_provider", "housing_1"),
    }
    return {k: await login(client, u, world.orgs[o].id) for k, (u, o) in who.items()}


# --- the mix ------------------------------------------------------------------------------------


@dataclass
class Mix:
    """What the requests work on, shared by the runs (one database): each write is valid for
    the state it finds, so an answer other than the expected one is an error of the service."""

    population: LoadPopulation
    queue_paths: dict[str, list[str]]
    searches: list[tuple[str, dict[str, Any]]]
    rng: random.Random
    pdfs: list[bytes]
    # entry id -> (intake status, version); the entries not being moved right now.
    idle: deque[tuple[uuid.UUID, str, int]] = field(default_factory=deque)
    units: deque[uuid.UUID] = field(default_factory=deque)
    to_match: deque[uuid.UUID] = field(default_factory=deque)
    names: Names | None = None
    # Requests of an endpoint made as another because its pool was empty (reported).
    substituted: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.idle.extend((e, "approved", v) for e, v in self.population.cycled)
        self.units.extend(self.population.units)
        self.to_match.extend(self.population.to_match)
        self.names = Names(self.rng)
        self.schedule = [k for k, w, _ in MIX for _ in range(w)]
        self.rng.shuffle(self.schedule)

    def new_person(self) -> dict[str, Any]:
        """A client nobody recorded yet (no name and DOB of the population's, nor of an
        earlier intake): an intake of a known person is answered 409, by design."""
        assert self.names is not None
        while True:
            first, last = self.names.draw()
            dob = date(1950, 1, 1) + timedelta(days=self.rng.randrange(365 * 52))
            key = (first.lower(), last.lower(), dob.isoformat())
            if key not in self.population.people:
                self.population.people.add(key)
                return {"first_name": first, "last_name": last, "dob": dob.isoformat()}


Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


class Load:
    """Request ``i`` of the mix, on instance ``i % instances``."""

    def __init__(
        self, mix: Mix, clients: list[httpx.AsyncClient], tokens: dict[str, dict[str, str]]
    ) -> None:
        self.mix = mix
        self.clients = clients
        self.tokens = tokens
        self.counter = itertools.count()
        self.users = ["case_manager", "case_manager2", "cas_admin", "housing_provider"]

    async def one(self) -> Record:
        i = next(self.counter)
        kind = self.mix.schedule[i % len(self.mix.schedule)]
        client = self.clients[i % len(self.clients)]
        send, after = getattr(self, f"_{kind}")(i)
        if send is None:  # the endpoint's pool is empty: its stand-in instead
            self.mix.substituted[kind] += 1
            kind, (send, after) = "matches_list", self._matches_list(i)
        started = time.perf_counter()
        try:
            r = await send(client)
        except httpx.HTTPError as e:
            return kind, (time.perf_counter() - started) * 1000, 0, type(e).__name__
        ms = (time.perf_counter() - started) * 1000
        good = r.status_code in OK.get(kind, (200,))
        if after is not None:
            after(r, good)
        return kind, ms, r.status_code, "" if good else r.text[:300]

    def _h(self, user: str, **extra: str) -> dict[str, str]:
        return {**self.tokens[user], **extra}

    def _key(self) -> str:
        return uuid.uuid4().hex

    # reads

    def _search(self, i: int) -> tuple[Send, None]:
        user, body = self.mix.searches[i % len(self.mix.searches)]
        h = self._h(user)
        return (lambda c: c.post(f"{API}/clients/search", json=body, headers=h)), None

    def _queue_list(self, i: int) -> tuple[Send, None]:
        kinds = list(self.mix.queue_paths)
        paths = self.mix.queue_paths[kinds[i % len(kinds)]]
        path = paths[(i // len(kinds)) % len(paths)]
        h = self._h("cas_admin")
        return (lambda c: c.get(path, headers=h)), None

    def _unread_count(self, i: int) -> tuple[Send, None]:
        h = self._h(self.users[i % len(self.users)])
        return (lambda c: c.get(f"{API}/notifications/unread-count", headers=h)), None

    def _notifications(self, i: int) -> tuple[Send, None]:
        h = self._h(self.users[i % len(self.users)])
        return (lambda c: c.get(f"{API}/notifications?limit=20", headers=h)), None

    def _matches_list(self, i: int) -> tuple[Send, None]:
        h = self._h("housing_provider")
        return (lambda c: c.get(f"{API}/matches?limit=50", headers=h)), None

    # writes

    def _intake(self, i: int) -> tuple[Send, None]:
        body = copy.deepcopy(INTAKE_EXAMPLES["placed"]["value"])
        body["client"] = {**body["client"], **self.mix.new_person()}
        user = "case_manager" if i % 2 else "case_manager2"
        h = self._h(user, **{"Idempotency-Key": self._key()})
        return (lambda c: c.post(f"{API}/cas/intakes", json=body, headers=h)), None

    def _transition(self, i: int) -> tuple[Send | None, Any]:
        if not self.mix.idle:
            return None, None
        entry, status, version = self.mix.idle.popleft()
        body, user = MOVES[status]
        h = self._h(user, **{"If-Match": f'"{version}"'})
        path = f"{API}/queue-entries/{entry}/transitions"

        def after(r: httpx.Response, good: bool) -> None:
            if good:  # its new state; an entry whose move failed is left out
                self.mix.idle.append((entry, body["to_status"], int(r.json()["version"])))

        return (lambda c: c.post(path, json=body, headers=h)), after

    def _match(self, i: int) -> tuple[Send | None, None]:
        if not self.mix.units or not self.mix.to_match:
            return None, None
        body = {
            "unit_id": str(self.mix.units.popleft()),
            "queue_entry_id": str(self.mix.to_match.popleft()),
            "note": "Top of the queue for a one-bedroom.",
        }
        h = self._h("cas_admin", **{"Idempotency-Key": self._key()})
        return (lambda c: c.post(f"{API}/matches", json=body, headers=h)), None

    def _upload(self, i: int) -> tuple[Send, None]:
        clients = self.mix.population.upload_clients
        client_id = clients[(i * 7919) % len(clients)]
        pdf = self.mix.pdfs[i % len(self.mix.pdfs)]
        h = self._h("case_manager_cas", **{"Idempotency-Key": self._key()})
        path = f"{API}/clients/{client_id}/document-checks"
        files = {"file": ("letter.pdf", pdf, "application/pdf")}
        return (lambda c: c.post(path, data=DOCUMENT_CHECK, files=files, headers=h)), None


async def run_for(
    one: Callable[[], Awaitable[Record]], concurrency: int, seconds: float
) -> tuple[list[Record], float]:
    """``one`` again and again with ``concurrency`` in flight for ``seconds`` (requests in
    flight at the end finish and count); (records, wall seconds)."""
    records: list[Record] = []
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            records.append(await one())

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return records, time.perf_counter() - started


# --- figures ------------------------------------------------------------------------------------


def errors(records: list[Record]) -> dict[str, Any]:
    """Every answer outside the endpoint's expected statuses, by endpoint and status (with the
    first answer of each)."""
    by: dict[str, Counter[str]] = defaultdict(Counter)
    first: dict[str, str] = {}
    for kind, _, status, detail in records:
        if detail:
            by[kind][str(status)] += 1
            first.setdefault(f"{kind} {status}", detail)
    return {
        "count": sum(sum(c.values()) for c in by.values()),
        "by_endpoint": {k: dict(v) for k, v in sorted(by.items())},
        "first_answers": first,
    }


def endpoints(records: list[Record], wall: float) -> dict[str, Any]:
    out = {}
    for kind in [k for k, _, _ in MIX]:
        ms = [t for k, t, _, _ in records if k == kind]
        if ms:
            out[kind] = {
                "requests": len(ms),
                "requests_per_s": round(len(ms) / wall, 1),
                **harness.percentiles(ms),
            }
    return out


class Cpu:
    """CPU of the load generator, of several server processes and of the machine."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids

    def __enter__(self) -> Cpu:
        self._client = time.process_time()
        self._servers = sum(harness.process_cpu(p) for p in self.pids)
        self._machine = harness.machine_busy()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client_s = time.process_time() - self._client
        self.servers_s = sum(harness.process_cpu(p) for p in self.pids) - self._servers
        busy, total = harness.machine_busy()
        self.busy = (busy - self._machine[0]) / max(1, total - self._machine[1])

    def per_request(self, n: int, servers: str) -> dict[str, float]:
        return {
            f"{servers}_cpu_ms_per_request": round(1000 * self.servers_s / max(1, n), 2),
            "load_generator_cpu_ms_per_request": round(1000 * self.client_s / max(1, n), 2),
            "machine_cpu_busy_pct": round(100 * self.busy, 1),
        }


def clients_for(servers: list[Server], concurrency: int) -> list[httpx.AsyncClient]:
    # Each instance may get every request in flight (round-robin is by request, not by time).
    return [harness.http_client(s.base, concurrency) for s in servers]


# --- one run ------------------------------------------------------------------------------------


async def measure_service(
    bench: Bench, mix: Mix, world: Any, instances: int, args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    servers = [
        await bench.serve(name=f"service-{instances}-{n + 1}", env=harness.NO_JOB_RUNNER)
        for n in range(instances)
    ]
    clients = clients_for(servers, args.concurrency)
    try:
        tokens = await log_in(clients[0], world)
        load = Load(mix, clients, tokens)
        warm, _ = await run_for(load.one, args.concurrency, args.warmup)
        load_before = harness.load()
        with Cpu([s.pid for s in servers]) as cpu:
            records, wall = await run_for(load.one, args.concurrency, args.duration)
        memory = [{"process": s.name, "pid": s.pid, **s.memory()} for s in servers]
    finally:
        for c in clients:
            await c.aclose()
    out = {
        "instances": instances,
        "load_average_before": load_before,
        "wall_s": round(wall, 1),
        "requests": len(records),
        "requests_per_s": round(len(records) / wall, 1),
        **cpu.per_request(len(records), "service"),
        "errors": errors(records),
        "warmup": {"seconds": args.warmup, "requests": len(warm), "errors": errors(warm)},
        "endpoints": endpoints(records, wall),
        "server_memory": memory,
    }
    for s in servers:  # the next run starts its own processes
        s.stop()
    return out, tokens


async def baseline_requests(
    bench: Bench, world: Any, mix: Mix, tokens: dict[str, dict[str, str]]
) -> tuple[list[list[tuple[str, list[Any]]]], list[str]]:
    """The candidate search's and the queue list's statements for the mix's requests of those
    endpoints, compiled as the service sends them, alternating (the mix weighs them about
    equally): (requests for ``baseline_app``, their endpoint)."""
    raw = {u: h["Authorization"].removeprefix("Bearer ") for u, h in tokens.items()}
    searches = await _baseline_statements(
        bench.url,
        bench.settings,
        {u: raw[u] for u in ("case_manager", "case_manager2")},
        mix.searches,
    )
    lists = await list_statements(bench, world.coc, mix.queue_paths, 50)
    kinds = list(lists)
    listed = [
        lists[kinds[i % len(kinds)]][(i // len(kinds)) % len(lists[kinds[i % len(kinds)]])]
        for i in range(len(searches))
    ]
    requests: list[list[tuple[str, list[Any]]]] = []
    names: list[str] = []
    for s, q in zip(searches, listed, strict=True):
        requests += [[s], [q]]
        names += ["search", "queue_list"]
    return requests, names


async def measure_baseline(
    bench: Bench,
    requests: list[list[tuple[str, list[Any]]]],
    names: list[str],
    instances: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    path = bench.data_dir / "load-baseline-requests.pickle"
    path.write_bytes(pickle.dumps(requests))
    pool = bench.settings.db_pool_size + bench.settings.db_max_overflow
    servers = [
        await bench.serve(
            "bench.baseline_app:app",
            name=f"baseline-{instances}-{n + 1}",
            env={
                "BENCH_BASELINE_REQUESTS": str(path),
                "BENCH_BASELINE_DSN": harness.plain_url(bench.url),
                "BENCH_BASELINE_POOL": str(pool),
            },
        )
        for n in range(instances)
    ]
    clients = clients_for(servers, args.concurrency)
    counter = itertools.count()

    async def one() -> Record:
        i = next(counter)
        kind = names[i % len(names)]
        started = time.perf_counter()
        try:
            r = await clients[i % len(clients)].get(f"/requests/{i % len(requests)}")
        except httpx.HTTPError as e:
            return kind, (time.perf_counter() - started) * 1000, 0, type(e).__name__
        ms = (time.perf_counter() - started) * 1000
        return kind, ms, r.status_code, "" if r.status_code == 200 else r.text[:300]

    try:
        await run_for(one, args.concurrency, args.warmup)
        load_before = harness.load()
        with Cpu([s.pid for s in servers]) as cpu:
            records, wall = await run_for(one, args.concurrency, args.duration)
        memory = [{"process": s.name, "pid": s.pid, **s.memory()} for s in servers]
    finally:
        for c in clients:
            await c.aclose()
    for s in servers:
        s.stop()
    return {
        "processes": instances,
        "pool_per_process": pool,
        "load_average_before": load_before,
        "wall_s": round(wall, 1),
        "requests": len(records),
        "requests_per_s": round(len(records) / wall, 1),
        **cpu.per_request(len(records), "baseline_app"),
        "errors": errors(records)["count"],
        "endpoints": endpoints(records, wall),
        "server_memory": memory,
    }


def against_baseline(service: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "mix_throughput_ratio": harness.ratio(
            service["requests_per_s"], baseline["requests_per_s"]
        ),
    }
    for kind in READS:
        s, b = service["endpoints"].get(kind), baseline["endpoints"].get(kind)
        if s and b:
            out[kind] = {
                f"{p}_over_baseline": round(s[f"{p}_ms"] / b[f"{p}_ms"], 2) if b[f"{p}_ms"] else 0
                for p in ("p50", "p95", "p99")
            }
    return out


async def seed(bench: Bench, args: argparse.Namespace, rng: random.Random) -> tuple[Any, Mix]:
    world = await bench.seed_coc()
    # Households average 1.5 people (``bench.matching``): entries for about --clients clients.
    queue = await seed_queue(bench, world, max(30, round(args.clients / 1.5)), rng)
    runs = len(args.instances)
    # Up to about 400 requests/s (25 matches/s) for every second of every run; more would
    # make matches_list stand in for the rest (reported as substituted_requests).
    matches = max(60, round(runs * (args.duration + args.warmup) * 25))
    population = await seed_load(
        bench,
        world,
        queue,
        cycled=max(30, args.concurrency * 8),
        matches=matches,
        notifications_per_user=NOTIFICATIONS_PER_USER,
    )
    service = await bench.serve(name="setup", env=harness.NO_JOB_RUNNER)
    async with harness.http_client(service.base, 4) as client:
        admin = await login(client, "cas_admin", world.orgs["cas"].id)
        paths = await _paths(client, admin, queue, SimpleNamespace(limit=50, pages=5))
    service.stop()
    # JSON as sent (dates as ISO strings).
    searches = [json.loads(json.dumps(b, default=str)) for b in _search_bodies(500, rng)]
    mix = Mix(
        population=population,
        queue_paths=paths,
        searches=[(("case_manager", "case_manager2")[i % 2], b) for i, b in enumerate(searches)],
        rng=rng,
        pdfs=[demo_pdf(f"Shelter letter {n} - Bridge Access Point") for n in range(8)],
    )
    return world, mix


async def _run(bench: Bench, args: argparse.Namespace, rng: random.Random) -> None:
    load_at_start = harness.load()
    world, mix = await seed(bench, args, rng)
    runs = []
    statements = None
    for instances in args.instances:
        service, tokens = await measure_service(bench, mix, world, instances, args)
        if statements is None:
            statements = await baseline_requests(bench, world, mix, tokens)
        baseline = await measure_baseline(bench, *statements, instances, args)
        runs.append(
            {
                **service,
                "baseline": baseline,
                "against_baseline": against_baseline(service, baseline),
            }
        )
    total_errors = sum(r["errors"]["count"] + r["warmup"]["errors"]["count"] for r in runs)
    figures: dict[str, Any] = {
        "benchmark": "load",
        "load_average_at_start": load_at_start,
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "population": mix.population.figures(),
        "mix": {k: {"weight_pct": w, "request": d} for k, w, d in MIX},
        "service": (
            "uvicorn app.asgi:app per instance, 1 worker each, CAS_ENVIRONMENT=production, "
            "default pool (CAS_DB_POOL_SIZE), no access log, request logs to a file, one "
            "database; loopback HTTP/1.1 keep-alive (httpx), requests round-robin over the "
            "instances; each user logged in once per run (five logins a run, one more to "
            "set up: inside the login rate limit's defaults, which stay as they are); the "
            "logins go to the first instance, so its peak RSS includes the password hash "
            "checks' memory (argon2)"
        ),
        "job_runner": JOB_RUNNER,
        "baseline_service": (
            "the find-client candidate statement (clients.search.candidate_query) and the "
            "queue list's (queue.listing.list_statement), compiled, alternating, through "
            "asyncpg in bench/baseline_app.py under uvicorn (as many processes as instances, "
            "each with the service's pool size), the same client, concurrency and duration; "
            "mix_throughput_ratio is the whole mix's requests/s (writes included) over the "
            "baseline's; per endpoint, the service's percentiles over the baseline's"
        ),
        "runs": runs,
        "substituted_requests": dict(mix.substituted),
        "error_count": total_errors,
    }
    if len(runs) > 1 and runs[0]["requests_per_s"]:
        figures["throughput_over_first_run"] = [
            round(r["requests_per_s"] / runs[0]["requests_per_s"], 2) for r in runs
        ]
    await bench.report(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=60, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of the mix before each")
    parser.add_argument(
        "--instances", type=int, nargs="+", default=[1, 2], help="service processes, per run"
    )
    parser.add_argument("--clients", type=int, default=20_000, help="clients seeded (about)")
    parser.add_argument(
        "--database-url", help="a PostgreSQL server to create the throw-away database on"
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.database_url:
        server = make_url(args.database_url).set(database="postgres")
        os.environ["BENCH_DATABASE_URL"] = server.render_as_string(hide_password=False)
    rng = random.Random(args.seed)
    with Bench("load") as bench:
        asyncio.run(_run(bench, args, rng))


if __name__ == "__main__":
    main()
