from __future__ import annotations

from pathlib import Path

import httpx

from app.storage import FileStore
from tests.support.documents import stored_files


async def test_live_and_ready(
    client: httpx.AsyncClient, store: FileStore, files_root: Path
) -> None:
    live = await client.get("/health/live")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "file_store": "ok"}}
    assert stored_files(files_root) == []  # the write probe leaves nothing behind
    assert ready.headers["x-request-id"]
    assert ready.headers["x-content-type-options"] == "nosniff"


async def test_request_id_is_echoed_when_safe(client: httpx.AsyncClient) -> None:
    r = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await client.get("/health/live", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces"
