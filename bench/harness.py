"""The benchmark harness every benchmark in ``bench/`` is built on.

One run of a benchmark, with ``Bench`` (inside the block, one ``asyncio.run`` does the rest):

1. ``with Bench("name") as bench:`` creates a throw-away database (``BENCH_DATABASE_URL``
   names a server, otherwise an embedded PostgreSQL under ``.cas-data/bench``) and migrates it;
   the environment gets production settings with fresh keys (``CAS_ENVIRONMENT=production``,
   request logs at INFO to the server's log file); leaving the block stops every server it
   started and drops the database;
2. seeding: ``await bench.seed_coc()`` (the demo CoC: organizations, projects, users), then
   rows at the size the benchmark is asked for, set-based: ``await bench.copy(table, columns,
   records)`` (COPY) or ``INSERT ... SELECT`` through ``bench.connect()``, and
   ``await bench.vacuum_analyze(*tables)`` (as autovacuum would have done on a database grown to
   that size). ``bench/population.py`` seeds clients with realistic names;
3. ``await bench.serve()`` starts the service as its own process, as the container runs it
   (``uvicorn app.asgi:app`` on a free loopback port, ``--workers``, no access log) and waits
   until ``/health/ready`` answers;
4. load: ``await drive(jobs, concurrency)`` runs ``Job``s (``http_job``: one request over
   keep-alive connections of an ``httpx.AsyncClient`` from ``http_client``) with ``concurrency``
   in flight; ``measure`` does it with the CPU of the load generator, the server and the machine
   and the load average (client, server and PostgreSQL share the machine's cores);
5. the baseline: ``await bench.serve_baseline(requests)`` serves the same SQL the service runs
   (compile the service's own statements) through raw asyncpg in a minimal ASGI app
   (``bench/baseline_app.py``) under uvicorn the same way, so both sides pay HTTP;
   ``baseline_jobs`` drives it. ``run_sql`` runs the statements in-process without HTTP (what
   the database alone does);
6. ``await bench.report({...})`` prints one JSON object: the caller's figures (``summary``:
   requests, p50/p95/p99/max in ms, requests/s; ``ratio``: the throughput against the
   baseline; ``Server.memory()``: the server's resident memory, now and at its peak) with the
   date and the machine (cores, Python, PostgreSQL, load average).

``bench/client_search.py`` is the worked example.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import pickle
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import async_sessionmaker  # noqa: E402

from app.config import Settings  # noqa: E402
from app.db import create_engine, start_embedded_postgres, to_async_url, upgrade_database  # noqa: E402
from app.services.demo import SeededCoc, seed_coc  # noqa: E402

PASSWORD = "bench-password-2026"
EMAIL_DOMAIN = "demo.example"

# (kind, milliseconds, items shown): what one job reports.
Result = tuple[str, float, int]
Job = Callable[[], Awaitable[Result]]
# The statements of one request: (sql, positional args), run in order.
Statements = Sequence[tuple[str, Sequence[Any]]]


# --- figures ------------------------------------------------------------------------------------


def percentiles(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {}
    s = sorted(ms)

    def pct(p: float) -> float:
        return round(s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))], 1)

    return {"p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99), "max_ms": round(s[-1], 1)}


def summary(results: list[Result], kind: str, wall: float | None = None) -> dict[str, Any]:
    """Requests of ``kind``: count, percentiles, mean items shown; with ``wall``, requests/s
    (all results over the wall time)."""
    ms = [t for k, t, _ in results if k == kind]
    out: dict[str, Any] = {"requests": len(ms), **percentiles(ms)}
    shown = [n for k, _, n in results if k == kind]
    if shown:
        out["mean_shown"] = round(sum(shown) / len(shown), 1)
    if wall:
        out["requests_per_s"] = round(len(results) / wall, 1)
    return out


def ratio(service_rps: float, baseline_rps: float) -> float:
    """The service's throughput as a share of the baseline's."""
    return round(service_rps / baseline_rps, 3) if baseline_rps else 0.0


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _children(pid: int) -> list[int]:
    """``pid`` and its direct children (uvicorn workers), from /proc (Linux)."""
    found = [pid]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # fields[1]: parent pid
            found.append(int(entry.name))
    return found


def process_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its children (uvicorn workers), from /proc (Linux)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for child in _children(pid):
        try:
            fields = (Path("/proc") / str(child) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


def process_memory(pid: int) -> dict[str, float]:
    """Resident memory of ``pid`` and its children in MiB: now (VmRSS) and at its peak
    (VmHWM), from /proc (Linux)."""
    now = peak = 0
    for child in _children(pid):
        try:
            status = (Path("/proc") / str(child) / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                now += int(line.split()[1])
            elif line.startswith("VmHWM:"):
                peak += int(line.split()[1])
    return {"rss_mb": round(now / 1024, 1), "peak_rss_mb": round(peak / 1024, 1)}


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class CpuMeter:
    """CPU used by this process (the load generator), the server and the whole machine."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid

    def __enter__(self) -> CpuMeter:
        self._client = time.process_time()
        self._server = process_cpu(self.server_pid) if self.server_pid else 0.0
        self._machine = machine_busy()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client_s = time.process_time() - self._client
        self.server_s = (process_cpu(self.server_pid) - self._server) if self.server_pid else 0.0
        busy, total = machine_busy()
        self.machine_busy = (busy - self._machine[0]) / max(1, total - self._machine[1])

    def per_request(self, n: int) -> dict[str, float]:
        out = {
            "service_cpu_ms_per_request": round(1000 * self.server_s / n, 2),
            "load_generator_cpu_ms_per_request": round(1000 * self.client_s / n, 2),
            "machine_cpu_busy_pct": round(100 * self.machine_busy, 1),
        }
        if not self.server_pid:
            del out["service_cpu_ms_per_request"]
        return out


# --- load ---------------------------------------------------------------------------------------


async def drive(jobs: list[Job], concurrency: int) -> tuple[list[Result], float]:
    """Run ``jobs`` with ``concurrency`` in flight; (results, wall seconds)."""
    queue = iter(jobs)
    results: list[Result] = []

    async def worker() -> None:
        for job in queue:
            results.append(await job())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results, time.perf_counter() - started


@dataclass
class Phase:
    """One measured run of jobs."""

    results: list[Result]
    wall: float
    load_before: list[float]
    cpu: CpuMeter

    def totals(self) -> dict[str, Any]:
        """Load average before, wall time, requests/s of all results, CPU per request."""
        return {
            "load_average_before": self.load_before,
            "wall_s": round(self.wall, 1),
            "requests_per_s": round(len(self.results) / self.wall, 1),
            **self.cpu.per_request(len(self.results)),
        }

    def summary(self, kind: str) -> dict[str, Any]:
        return summary(self.results, kind)


async def measure(jobs: list[Job], concurrency: int, server: Server | None) -> Phase:
    """``drive`` with the load average before and the CPU of the load generator, ``server``
    and the machine during the run."""
    load_before = load()
    with CpuMeter(server.pid if server else None) as cpu:
        results, wall = await drive(jobs, concurrency)
    return Phase(results, wall, load_before, cpu)


def http_client(base: str, concurrency: int) -> httpx.AsyncClient:
    """Keep-alive connections, one per request in flight."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=base, limits=limits, timeout=60)


def http_job(
    client: httpx.AsyncClient,
    kind: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    ok: Iterable[int] = (200, 201),
    shown: Callable[[httpx.Response], int] | None = None,
) -> Job:
    """One request; raises unless its status is in ``ok``. ``shown`` counts the items of the
    answer (default: the length of ``items``, else of ``possible_duplicates``, for JSON)."""
    payload = None if body is None else json.dumps(body, default=str).encode()
    h = dict(headers or {})
    if payload is not None:
        h["Content-Type"] = "application/json"
    accepted = set(ok)

    async def job() -> Result:
        started = time.perf_counter()
        r = await client.request(method, path, content=payload, headers=h)
        elapsed = (time.perf_counter() - started) * 1000
        if r.status_code not in accepted:
            raise RuntimeError(f"{kind}: {r.status_code} {r.text[:300]}")
        return kind, elapsed, (shown or _shown)(r)

    return job


def _shown(r: httpx.Response) -> int:
    if not r.content or not r.headers.get("content-type", "").startswith("application/json"):
        return 0
    body = r.json()
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        items = body.get("items", body.get("possible_duplicates")) or []
        return len(items)
    return 0


async def login(client: httpx.AsyncClient, user: str) -> dict[str, str]:
    """Headers with a bearer token for a seeded user (``bench.seed_coc``)."""
    r = await client.post(
        "/api/v1/auth/login", json={"email": f"{user}@{EMAIL_DOMAIN}", "password": PASSWORD}
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def baseline_jobs(client: httpx.AsyncClient, count: int, kind: str = "baseline") -> list[Job]:
    """A job for each request served by ``Bench.serve_baseline``, in order."""
    return [
        http_job(client, kind, "GET", f"/requests/{i}", ok=(200,), shown=_rows)
        for i in range(count)
    ]


def _rows(r: httpx.Response) -> int:
    return int(r.headers["x-rows"])


async def run_sql(
    url: str, requests: Sequence[Statements], concurrency: int, kind: str = "database_only"
) -> Phase:
    """The statements through raw asyncpg in this process, no HTTP (after a warm-up): what the
    database alone does at ``concurrency``."""
    pool = await asyncpg.create_pool(plain_url(url), min_size=concurrency, max_size=concurrency)
    assert pool is not None

    def job_for(statements: Statements) -> Job:
        async def job() -> Result:
            started = time.perf_counter()
            async with pool.acquire() as conn:
                rows: list[Any] = []
                for sql, args in statements:
                    rows = await conn.fetch(sql, *args)
            return kind, (time.perf_counter() - started) * 1000, len(rows)

        return job

    try:
        jobs = [job_for(s) for s in requests]
        await drive(jobs[: max(50, len(jobs) // 10)], concurrency)  # warm-up
        return await measure(jobs, concurrency, None)
    finally:
        await pool.close()


# --- database -----------------------------------------------------------------------------------


def plain_url(url: str) -> str:
    """The URL for asyncpg itself (``postgresql://``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def admin_exec(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(plain_url(server_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def server_version(url: str) -> str:
    conn = await asyncpg.connect(plain_url(url))
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def database_server() -> str:
    """``BENCH_DATABASE_URL``, else an embedded PostgreSQL under ``.cas-data/bench``."""
    if os.environ.get("BENCH_DATABASE_URL"):
        return to_async_url(os.environ["BENCH_DATABASE_URL"])
    return start_embedded_postgres(ROOT / ".cas-data" / "bench")


# --- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """A uvicorn process on a loopback port."""

    name: str
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def memory(self) -> dict[str, float]:
        return process_memory(self.pid)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # as Ctrl-C: uvicorn (and pyinstrument) finish
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(
    target: str,
    env: dict[str, str],
    port: int,
    workers: int,
    log: Path,
    profile: Path | None = None,
) -> subprocess.Popen[bytes]:
    # profile: the server runs under pyinstrument (a dev dependency), which writes its report
    # when the server stops.
    profiler = ["-m", "pyinstrument", "-r", "html", "-o", str(profile.resolve())] if profile else []
    with log.open("wb") as out:
        return subprocess.Popen(
            [
                sys.executable,
                *profiler,
                "-m",
                "uvicorn",
                target,
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


async def wait_ready(base: str, proc: subprocess.Popen[bytes], path: str = "/health/ready") -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError("uvicorn exited; see its log")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(path)).status_code in (200, 204):
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError("uvicorn did not become ready")


# --- one run ------------------------------------------------------------------------------------


# A service measured without its in-process job runner (``CAS_RUN_JOBS_IN_SERVER``): on a freshly
# seeded database the first notification scans find every household "inactive for 90 days" (its
# contacts were seeded, not recorded through the service) and the runner would spend the whole
# measurement fanning those notices out in the measured process. Background work then belongs
# to ``cas worker``, a process of its own (as in a deployment of several instances).
NO_JOB_RUNNER = {"CAS_RUN_JOBS_IN_SERVER": "false"}


def production_env(url: str, data_dir: Path) -> dict[str, str]:
    """The service's environment: production settings with fresh keys."""
    return {
        **os.environ,
        "CAS_ENVIRONMENT": "production",
        "CAS_SECRET_KEY": secrets.token_urlsafe(48),
        "CAS_FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "CAS_DATABASE_URL": url,
        "CAS_DATA_DIR": str(data_dir),
        "CAS_LOG_LEVEL": "INFO",
    }


@dataclass
class Bench:
    """A throw-away database with production settings, and the servers started on it."""

    name: str
    data_dir: Path = field(init=False)
    server_url: str = field(init=False)
    database: str = field(init=False)
    url: str = field(init=False)
    env: dict[str, str] = field(init=False)
    servers: list[Server] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"cas-bench-{self.name}-"))
        self.server_url = database_server()
        self.database = f"cas_bench_{uuid.uuid4().hex[:8]}"
        self.url = (
            make_url(self.server_url)
            .set(database=self.database)
            .render_as_string(hide_password=False)
        )
        self.env = production_env(self.url, self.data_dir)
        # The seeding (SSN encryption, tokens) and the service share the keys.
        os.environ.update(self.env)

    @property
    def settings(self) -> Settings:
        return Settings()

    def __enter__(self) -> Bench:
        asyncio.run(admin_exec(self.server_url, f'CREATE DATABASE "{self.database}"'))
        try:
            upgrade_database(self.url)
        except BaseException:
            self._drop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for server in reversed(self.servers):
            server.stop()
        self._drop()

    def _drop(self) -> None:
        sql = f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'
        asyncio.run(admin_exec(self.server_url, sql))

    # seeding

    async def seed_coc(self) -> SeededCoc:
        """The demo CoC (``XX-501``): organizations, projects and users (``login``)."""
        engine = create_engine(self.url, self.settings, pool=False)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                world = await seed_coc(
                    session,
                    code="XX-501",
                    name="Bench CoC",
                    email_domain=EMAIL_DOMAIN,
                    password=PASSWORD,
                )
                await session.commit()
        finally:
            await engine.dispose()
        return world

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(plain_url(self.url))

    async def copy(
        self, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]
    ) -> None:
        """COPY ``records`` into ``table``."""
        conn = await self.connect()
        try:
            await conn.copy_records_to_table(table, records=records, columns=list(columns))
        finally:
            await conn.close()

    async def vacuum_analyze(self, *tables: str) -> None:
        conn = await self.connect()
        try:
            for table in tables:
                await conn.execute(f"VACUUM ANALYZE {table}")
        finally:
            await conn.close()

    # servers

    async def serve(
        self,
        target: str = "app.asgi:app",
        *,
        name: str = "service",
        workers: int = 1,
        profile: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> Server:
        """Start ``target`` under uvicorn on a free loopback port and wait until it is ready."""
        port = free_port()
        log = self.data_dir / f"{name}.log"
        proc = start_server(target, {**self.env, **(env or {})}, port, workers, log, profile)
        server = Server(name, proc, f"http://127.0.0.1:{port}", log)
        self.servers.append(server)
        await wait_ready(server.base, proc)
        return server

    async def serve_baseline(self, requests: Sequence[Statements], *, pool_size: int) -> Server:
        """``bench/baseline_app.py`` serving ``requests`` (``GET /requests/{i}``) from a pool
        of ``pool_size`` connections."""
        path = self.data_dir / "baseline-requests.pickle"
        path.write_bytes(pickle.dumps([[(sql, list(args)) for sql, args in r] for r in requests]))
        return await self.serve(
            "bench.baseline_app:app",
            name="baseline",
            env={
                "BENCH_BASELINE_REQUESTS": str(path),
                "BENCH_BASELINE_DSN": plain_url(self.url),
                "BENCH_BASELINE_POOL": str(pool_size),
            },
        )

    # the answer

    async def report(self, figures: dict[str, Any]) -> None:
        """Print ``figures`` as one JSON object with the date and the machine."""
        version = await server_version(self.url)
        out = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            **figures,
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "postgresql": version,
                "load_average_after": load(),
            },
        }
        print(json.dumps(out, indent=2))
