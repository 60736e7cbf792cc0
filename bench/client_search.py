"""Benchmark: find-client and client create over a large population, served by uvicorn.

Usage: python bench/client_search.py [--clients 100000] [--requests 3000] [--concurrency 16]
                                    [--workers 1] [--profile service.html]

One run:
1. creates a throw-away database (``BENCH_DATABASE_URL`` names a server; otherwise an embedded
   PostgreSQL is used), migrates it and seeds a CoC with ``--clients`` clients by COPY: common
   US names with a skewed frequency, one in five spelled as a look-alike (Jon, Smyth, ...),
   DOBs, SSNs for 75 %, an ROI for 10 %, spread over four organizations;
2. starts the service as a real uvicorn process on a loopback port, as the container runs it
   (``uvicorn app.asgi:app``, one worker unless ``--workers``, production settings, no access
   log, request logs to a file) and logs in as a system admin and as an agency case manager;
3. sends ``--requests`` requests at ``--concurrency`` in flight over keep-alive connections
   (httpx): find-client searches by both users (typo'd "First Last"; some "Last, First", some
   with a DOB) and, every 50th request, a create of a look-alike of a common name (duplicate
   detection); then a sequential pass of searches, and one of ``GET /auth/me`` (the cheapest
   authenticated read: what every request pays), each with the service's CPU per request;
4. runs the same candidate SQL the service runs for those searches (the service's own
   statements, compiled) through raw asyncpg at the same concurrency: the baseline;
5. prints one JSON object. Client, server and PostgreSQL share this machine's cores, so the
   load average of the machine is reported with each phase.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import platform
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker  # noqa: E402

from app.config import Settings  # noqa: E402
from app.db import create_engine, start_embedded_postgres, to_async_url, upgrade_database  # noqa: E402
from app.schemas.clients import ClientSearch  # noqa: E402
from app.security import decode_access_token  # noqa: E402
from app.services import client_search  # noqa: E402
from app.services.auth import load_actor  # noqa: E402
from app.services.demo import seed_coc  # noqa: E402
from bench.population import Names, client_rows, copy_clients, look_alike  # noqa: E402

PASSWORD = "bench-password-2026"
USERS = ("system_admin", "case_manager")
CREATE_EVERY = 50


def _percentiles(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {}
    s = sorted(ms)

    def pct(p: float) -> float:
        return round(s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))], 1)

    return {"p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99), "max_ms": round(s[-1], 1)}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _process_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its children (uvicorn workers), from /proc (Linux)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1]: parent pid
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


def _backend_cpu(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving ``database`` (found by its process title,
    ``postgres: ... <user> <database> <client> ...``), from /proc (Linux)."""
    found: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not title.startswith("postgres:") or f" {database} " not in title:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    return found


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class _CpuMeter:
    """CPU used by this process (the load generator), the service, the database's backends for
    the benchmark database, and the whole machine (the rest of it: anything else running)."""

    def __init__(self, server_pid: int, database: str) -> None:
        self.server_pid = server_pid
        self.database = database

    def __enter__(self) -> _CpuMeter:
        self._client = time.process_time()
        self._server = _process_cpu(self.server_pid)
        self._backends = _backend_cpu(self.database)
        self._machine = _machine_busy()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client_s = time.process_time() - self._client
        self.server_s = _process_cpu(self.server_pid) - self._server
        backends = _backend_cpu(self.database)
        # Backends that exited meanwhile are missed (the pool keeps its connections open).
        self.database_s = sum(t - self._backends.get(pid, 0.0) for pid, t in backends.items())
        busy, total = _machine_busy()
        self.machine_busy = (busy - self._machine[0]) / max(1, total - self._machine[1])
        wall = time.perf_counter() - self._wall
        cores = os.cpu_count() or 1
        measured = self.client_s + self.server_s + self.database_s
        self.other_cores = max(0.0, self.machine_busy * cores - measured / max(wall, 1e-9))

    def per_request(self, n: int) -> dict[str, float]:
        return {
            "service_cpu_ms_per_request": round(1000 * self.server_s / n, 2),
            "database_cpu_ms_per_request": round(1000 * self.database_s / n, 2),
            "load_generator_cpu_ms_per_request": round(1000 * self.client_s / n, 2),
            "machine_cpu_busy_pct": round(100 * self.machine_busy, 1),
            "other_processes_cores": round(self.other_cores, 2),
        }


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


# --- database -----------------------------------------------------------------------------------


async def _seed(url: str, n: int, rng: random.Random) -> dict[str, Any]:
    engine = create_engine(url, Settings(), pool=False)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        world = await seed_coc(
            session,
            code="XX-501",
            name="Bench CoC",
            email_domain="demo.example",
            password=PASSWORD,
        )
        await session.commit()
    await engine.dispose()
    orgs = [world.orgs[k].id for k in ("access_point_1", "access_point_2", "cas", "housing_1")]
    started = time.perf_counter()
    rows = list(client_rows(n, rng, coc_id=world.coc.id, organizations=orgs, today=date.today()))
    conn = await asyncpg.connect(_plain(url))
    try:
        await copy_clients(conn, rows)
        # As autovacuum would have done on a database that has grown to this size.
        await conn.execute("VACUUM ANALYZE clients")
        await conn.execute("VACUUM ANALYZE client_access")
    finally:
        await conn.close()
    return {"seconds": round(time.perf_counter() - started, 1)}


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin_exec(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(_plain(server_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _server_version(url: str) -> str:
    conn = await asyncpg.connect(_plain(url))
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


# --- the service --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start_server(
    env: dict[str, str], port: int, workers: int, log: Path, profile: Path | None
) -> subprocess.Popen[bytes]:
    # --profile: the service runs under pyinstrument (a dev dependency), which writes its
    # report when the server stops.
    profiler = ["-m", "pyinstrument", "-r", "html", "-o", str(profile.resolve())] if profile else []
    with log.open("wb") as out:
        return subprocess.Popen(
            [
                sys.executable,
                *profiler,
                "-m",
                "uvicorn",
                "app.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--workers",
                str(workers),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError("uvicorn exited; see its log")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/health/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError("uvicorn did not become ready")


# --- load ---------------------------------------------------------------------------------------

Job = Callable[[], Awaitable[tuple[str, float, int]]]


async def _drive(jobs: list[Job], concurrency: int) -> tuple[list[tuple[str, float, int]], float]:
    """Run ``jobs`` with ``concurrency`` in flight; (results, wall seconds)."""
    queue = iter(jobs)
    results: list[tuple[str, float, int]] = []

    async def worker() -> None:
        for job in queue:
            results.append(await job())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results, time.perf_counter() - started


def _http_job(
    client: httpx.AsyncClient, kind: str, path: str, body: dict[str, Any], headers: dict[str, str]
) -> Job:
    payload = json.dumps(body, default=str).encode()
    h = {**headers, "Content-Type": "application/json"}

    async def job() -> tuple[str, float, int]:
        started = time.perf_counter()
        r = await client.post(path, content=payload, headers=h)
        elapsed = (time.perf_counter() - started) * 1000
        if r.status_code not in (200, 201):
            raise RuntimeError(f"{kind}: {r.status_code} {r.text[:300]}")
        shown = len(r.json().get("items", r.json().get("possible_duplicates", [])))
        return kind, elapsed, shown

    return job


def _get_job(client: httpx.AsyncClient, kind: str, path: str, headers: dict[str, str]) -> Job:
    async def job() -> tuple[str, float, int]:
        started = time.perf_counter()
        r = await client.get(path, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        if r.status_code != 200:
            raise RuntimeError(f"{kind}: {r.status_code} {r.text[:300]}")
        return kind, elapsed, 0

    return job


def _summary(results: list[tuple[str, float, int]], kind: str, wall: float | None = None) -> Any:
    ms = [t for k, t, _ in results if k == kind]
    out: dict[str, Any] = {"requests": len(ms), **_percentiles(ms)}
    shown = [n for k, _, n in results if k == kind]
    if shown:
        out["mean_shown"] = round(sum(shown) / len(shown), 1)
    if wall:
        out["requests_per_s"] = round(len(results) / wall, 1)
    return out


async def _baseline_statements(
    url: str, settings: Settings, tokens: dict[str, str], searches: list[tuple[str, dict[str, Any]]]
) -> list[tuple[str, list[Any]]]:
    """Each search's candidate SQL as the service builds it, compiled: (sql, args)."""
    engine: AsyncEngine = create_engine(url, settings, pool=False)
    actors = {}
    async with async_sessionmaker(engine)() as session:
        for user, token in tokens.items():
            actors[user] = await load_actor(session, decode_access_token(settings, token))
    await engine.dispose()
    out = []
    for user, body in searches:
        terms = client_search.search_terms(ClientSearch.model_validate(body), None)
        stmt = client_search.candidates_stmt(actors[user], terms)
        assert stmt is not None
        compiled = stmt.compile(dialect=engine.dialect)
        out.append((str(compiled), [compiled.params[k] for k in compiled.positiontup or []]))
    return out


async def _run_baseline(
    url: str, statements: list[tuple[str, list[Any]]], concurrency: int, cpu: _CpuMeter
) -> tuple[list[tuple[str, float, int]], float]:
    """The statements through raw asyncpg; ``cpu`` measures the run (after a warm-up), while
    the pool's backends still exist."""
    pool = await asyncpg.create_pool(_plain(url), min_size=concurrency, max_size=concurrency)
    assert pool is not None

    def job_for(sql: str, params: list[Any]) -> Job:
        async def job() -> tuple[str, float, int]:
            started = time.perf_counter()
            async with pool.acquire() as conn:
                rows = await conn.fetch(sql, *params)
            return "baseline", (time.perf_counter() - started) * 1000, len(rows)

        return job

    try:
        jobs = [job_for(sql, params) for sql, params in statements]
        await _drive(jobs[: max(50, len(jobs) // 10)], concurrency)  # warm-up
        with cpu:
            return await _drive(jobs, concurrency)
    finally:
        await pool.close()


async def _measure(
    base: str,
    url: str,
    settings: Settings,
    args: argparse.Namespace,
    rng: random.Random,
    server_pid: int,
) -> dict[str, Any]:
    database = make_url(url).database or ""
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        tokens = {}
        for user in USERS:
            r = await client.post(
                "/api/v1/auth/login", json={"email": f"{user}@demo.example", "password": PASSWORD}
            )
            r.raise_for_status()
            tokens[user] = r.json()["access_token"]
        headers = {u: {"Authorization": f"Bearer {t}"} for u, t in tokens.items()}

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
        await _drive(warm, args.concurrency)

        load_before = _load()
        with _CpuMeter(server_pid, database) as cpu:
            results, wall = await _drive(jobs, args.concurrency)
        concurrent = {
            "load_average_before": load_before,
            "wall_s": round(wall, 1),
            "requests_per_s": round(len(results) / wall, 1),
            "search": _summary(results, "search"),
            "create": _summary(results, "create"),
            **cpu.per_request(len(results)),
        }

        seq_jobs = [
            _http_job(client, "search", "/api/v1/clients/search", b, headers[u])
            for u, b in searches[: args.sequential]
        ]
        load_before = _load()
        with _CpuMeter(server_pid, database) as cpu:
            seq, seq_wall = await _drive(seq_jobs, 1)
        sequential = {
            "load_average_before": load_before,
            **_summary(seq, "search", seq_wall),
            **cpu.per_request(len(seq)),
        }
        # What every authenticated request pays: the cheapest authenticated read, one at a time.
        me_jobs = [_get_job(client, "auth_me", "/api/v1/auth/me", headers[u]) for u in USERS] * (
            args.sequential // 2
        )
        with _CpuMeter(server_pid, database) as cpu:
            me, me_wall = await _drive(me_jobs, 1)
        auth_me = {
            **{k: v for k, v in _summary(me, "auth_me", me_wall).items() if k != "mean_shown"},
            **cpu.per_request(len(me)),
        }

    statements = await _baseline_statements(
        url,
        settings,
        tokens,
        [s for i, s in enumerate(searches) if i % CREATE_EVERY != CREATE_EVERY - 1],
    )
    load_before = _load()
    cpu = _CpuMeter(server_pid, database)
    base_results, base_wall = await _run_baseline(url, statements, args.concurrency, cpu)
    baseline = {
        "load_average_before": load_before,
        "wall_s": round(base_wall, 1),
        **_summary(base_results, "baseline", base_wall),
        **{
            k: v
            for k, v in cpu.per_request(len(base_results)).items()
            if k != "service_cpu_ms_per_request"
        },
    }
    return {
        "concurrent": concurrent,
        "sequential": sequential,
        "auth_me_sequential": auth_me,
        "baseline": baseline,
    }


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

    data_dir = Path(tempfile.mkdtemp(prefix="cas-bench-"))
    server = (
        to_async_url(os.environ["BENCH_DATABASE_URL"])
        if os.environ.get("BENCH_DATABASE_URL")
        else start_embedded_postgres(ROOT / ".cas-data" / "bench")
    )
    name = f"cas_bench_{uuid.uuid4().hex[:8]}"
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    env = {
        **os.environ,
        "CAS_ENVIRONMENT": "production",
        "CAS_SECRET_KEY": secrets.token_urlsafe(48),
        "CAS_FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "CAS_DATABASE_URL": url,
        "CAS_DATA_DIR": str(data_dir),
        "CAS_LOG_LEVEL": "INFO",
    }
    os.environ.update(env)  # the seeding (SSN encryption) and the service share the keys
    settings = Settings()

    asyncio.run(_admin_exec(server, f'CREATE DATABASE "{name}"'))
    proc: subprocess.Popen[bytes] | None = None
    try:
        upgrade_database(url)
        seeded = asyncio.run(_seed(url, args.clients, rng))
        port = _free_port()
        proc = _start_server(env, port, args.workers, data_dir / "uvicorn.log", args.profile)
        base = f"http://127.0.0.1:{port}"
        asyncio.run(_wait_ready(base, proc))
        measured = asyncio.run(_measure(base, url, settings, args, rng, proc.pid))
        pg_version = asyncio.run(_server_version(url))
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGINT)  # as Ctrl-C: uvicorn (and pyinstrument) finish
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
        asyncio.run(_admin_exec(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    concurrent, baseline = measured["concurrent"], measured["baseline"]
    ratio = round(concurrent["requests_per_s"] / baseline["requests_per_s"], 3)
    print(
        json.dumps(
            {
                "benchmark": "client_search",
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "clients": args.clients,
                "seed_seconds": seeded["seconds"],
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
                **measured,
                "throughput_ratio_to_baseline": ratio,
                "targets": {
                    "search_p95_le_50ms": concurrent["search"]["p95_ms"] <= 50,
                    "throughput_ge_40pct_of_baseline": ratio >= 0.4,
                },
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "postgresql": pg_version,
                    "load_average_after": _load(),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
