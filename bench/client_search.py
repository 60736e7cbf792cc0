"""Benchmark: find-client (POST /api/v1/clients/search) over a synthetic client population.

Usage: python bench/client_search.py [--clients 20000] [--queries 200]
Uses BENCH_DATABASE_URL (a server; a throw-away database is created and dropped) or an embedded
PostgreSQL. Prints one JSON object. Figures are what this run measured on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings
from app.db import create_engine, start_embedded_postgres, to_async_url, upgrade_database
from app.main import create_app
from app.models import Client, ClientAccess
from app.services.client_search import name_keys
from app.services.demo import seed_coc
from tests.conftest import PASSWORD, _admin_exec

FIRST = ["John", "Maria", "James", "Linda", "Robert", "Patricia", "Michael", "Jennifer",
         "William", "Elizabeth", "David", "Barbara", "Carlos", "Aaliyah", "Nguyen", "Tyrone",
         "Keisha", "Jose", "Ana", "DeShawn", "Emily", "Juan", "Fatima", "Omar"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
        "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
        "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White"]
TYPOS = {"John": "Jon", "Smith": "Smyth", "Maria": "Mariah", "Johnson": "Jonson",
         "Williams": "Wiliams", "Garcia": "Garsia", "Michael": "Micheal", "Brown": "Broun"}


async def _seed(url: str, n: int, rng: random.Random) -> None:
    settings = Settings()
    engine = create_engine(url, settings, pool=False)
    async with async_sessionmaker(engine)() as session:
        world = await seed_coc(session, code="XX-501", name="Bench CoC",
                               email_domain="demo.example", password=PASSWORD)
        coc_id, agency = world.coc.id, world.orgs["access_point_1"].id
        others = [world.orgs["access_point_2"].id, world.orgs["cas"].id]
        rows, access = [], []
        for i in range(n):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            f, l_ = name_keys(first), name_keys(last)
            cid = uuid.uuid4()
            rows.append({
                "id": cid, "coc_id": coc_id, "created_by_organization_id": agency,
                "first_name": first, "last_name": f"{last}{'' if i % 3 else 'son'}",
                "first_name_norm": f[0], "first_name_key": f[1], "first_name_alt_key": f[2],
                "last_name_norm": l_[0], "last_name_key": l_[1], "last_name_alt_key": l_[2],
                "name_data_quality": 1, "ssn_data_quality": 99,
                "dob": date(1950, 1, 1) + timedelta(days=rng.randrange(20000)),
                "dob_data_quality": 1, "veteran_status": 0, "version": 1,
            })
            access.append({"id": uuid.uuid4(), "client_id": cid, "reason": "created",
                           "organization_id": agency if i % 2 else rng.choice(others)})
        for start in range(0, n, 2000):
            await session.execute(insert(Client), rows[start:start + 2000])
            await session.execute(insert(ClientAccess), access[start:start + 2000])
        await session.commit()
    await engine.dispose()


async def _measure(url: str, queries: int, rng: random.Random) -> dict[str, object]:
    settings = Settings(environment="test", email_delivery_interval_seconds=0,
                        maintenance_interval_seconds=0, auth_rate_limit=100_000,
                        database_url=url)
    app = create_app(settings)
    results: dict[str, object] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for user in ("system_admin", "case_manager"):
                token = (await client.post("/api/v1/auth/login", json={
                    "email": f"{user}@demo.example", "password": PASSWORD})).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                timings, hits = [], []
                for _ in range(queries):
                    first, last = rng.choice(list(TYPOS.items()))
                    body = {"name": f"{first[1]} {last[1]}", "limit": 20}
                    started = time.perf_counter()
                    r = await client.post("/api/v1/clients/search", json=body, headers=headers)
                    timings.append((time.perf_counter() - started) * 1000)
                    assert r.status_code == 200, r.text
                    hits.append(len(r.json()["items"]))
                timings.sort()
                results[user] = {
                    "p50_ms": round(statistics.median(timings), 2),
                    "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
                    "max_ms": round(timings[-1], 2),
                    "mean_hits": round(statistics.mean(hits), 1),
                }
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(2026)
    server = (to_async_url(os.environ["BENCH_DATABASE_URL"]) if os.environ.get("BENCH_DATABASE_URL")
              else start_embedded_postgres(Path(".cas-data") / "bench"))
    name = f"cas_bench_{uuid.uuid4().hex[:8]}"
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin_exec(server, f'CREATE DATABASE "{name}"'))
    try:
        upgrade_database(url)
        started = time.perf_counter()
        asyncio.run(_seed(url, args.clients, rng))
        seed_s = time.perf_counter() - started
        results = asyncio.run(_measure(url, args.queries, rng))
    finally:
        asyncio.run(_admin_exec(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(json.dumps({
        "benchmark": "client_search",
        "clients": args.clients,
        "queries_per_role": args.queries,
        "query": "typo'd 'First Last' (e.g. 'Jon Smyth'), limit 20",
        "seed_seconds": round(seed_s, 1),
        "by_role": results,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }, indent=2))


if __name__ == "__main__":
    main()
