"""The baseline every benchmark compares the service with: the service's own SQL through raw
asyncpg, behind the thinnest ASGI app there is, served by uvicorn exactly like the service.

Both sides pay HTTP (parsing, a loopback socket, JSON out), so the ratio between them is what
the service adds on top of its SQL: routing, validation, authentication, the ORM, audit
writes, serialization.

Started by ``bench.harness.Bench.serve_baseline``, configured by environment:

* ``BENCH_BASELINE_REQUESTS``: a pickle of ``list[list[tuple[str, list]]]``: request ``i`` runs
  its statements ``(sql, args)`` in order on one pooled connection (in one transaction when
  there are several);
* ``BENCH_BASELINE_DSN``: the database (a plain ``postgresql://`` URL);
* ``BENCH_BASELINE_POOL``: the pool size (min = max, like the service's pool under load).

``GET /requests/{i}`` runs request ``i`` and answers the rows of its last statement as a JSON
array of objects, their number in ``X-Rows`` (so the load generator need not parse them);
``GET /health/ready`` answers 204 once the pool is open.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_state: dict[str, Any] = {}


def _requests() -> list[list[tuple[str, list[Any]]]]:
    data: list[list[tuple[str, list[Any]]]] = pickle.loads(
        Path(os.environ["BENCH_BASELINE_REQUESTS"]).read_bytes()
    )
    return data


async def _startup() -> None:
    _state["requests"] = _requests()
    size = int(os.environ.get("BENCH_BASELINE_POOL", "16"))
    _state["pool"] = await asyncpg.create_pool(
        os.environ["BENCH_BASELINE_DSN"], min_size=size, max_size=size
    )


async def _run(index: int) -> list[dict[str, Any]]:
    statements: list[tuple[str, list[Any]]] = _state["requests"][index]
    rows: list[Any] = []
    async with _state["pool"].acquire() as conn:
        if len(statements) == 1:
            sql, args = statements[0]
            rows = await conn.fetch(sql, *args)
        else:
            async with conn.transaction():
                for sql, args in statements:
                    rows = await conn.fetch(sql, *args)
    return [dict(r) for r in rows]


async def _answer(send: Send, status: int, body: bytes = b"", rows: int | None = None) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if rows is not None:
        headers.append((b"x-rows", str(rows).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await _startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if "pool" in _state:
                    await _state["pool"].close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    path: str = scope["path"]
    if path == "/health/ready":
        await _answer(send, 204 if "pool" in _state else 503)
    elif path.startswith("/requests/") and path[10:].isdigit():
        index = int(path[10:])
        if index >= len(_state["requests"]):
            await _answer(send, 404)
            return
        rows = await _run(index)
        await _answer(send, 200, json.dumps(rows, default=str).encode(), len(rows))
    else:
        await _answer(send, 404)
