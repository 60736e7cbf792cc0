"""Parallel uploads with one Idempotency-Key, on committed transactions (a database of its own,
see ``tests/api/test_concurrency.py``): one upload is stored, the others replay it or are told to
retry, and no encrypted object is left behind by the ones that did not win."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.storage import FileStore, LocalStorage
from tests.api.test_concurrency import _headers, committed  # noqa: F401  (the fixture)
from tests.support.documents import PDF, file_part, stored_files


async def test_parallel_uploads_with_one_key_store_one_object(
    committed: tuple[httpx.AsyncClient, AsyncEngine],  # noqa: F811
    tmp_path: Path,
) -> None:
    client, engine = committed
    app = client._transport.app  # type: ignore[attr-defined]
    previous = getattr(app.state, "file_store", None)
    app.state.file_store = FileStore(
        LocalStorage(tmp_path), app.state.settings.field_encryption_key
    )
    try:
        headers = await _headers(client)
        made = await client.post(
            "/api/v1/clients",
            headers=headers,
            json={"first_name": "Parallel", "last_name": "Uploads"},
        )
        assert made.status_code == 201, made.text
        url = f"/api/v1/clients/{made.json()['id']}/files"
        headers |= {"Idempotency-Key": "parallel-upload-1"}
        results = await asyncio.gather(
            *[
                client.post(
                    url, headers=headers, data={"file_type": "photo_id"}, files=file_part(PDF)
                )
                for _ in range(8)
            ]
        )
    finally:
        app.state.file_store = previous

    fresh = [r for r in results if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(fresh) == 1, [(r.status_code, r.text[:80]) for r in results]
    winner = fresh[0].json()
    for r in results:
        if r is fresh[0]:
            continue
        assert r.status_code in (201, 409), r.text
        if r.status_code == 201:
            assert r.headers["idempotent-replayed"] == "true" and r.json() == winner
        else:
            assert "Idempotency-Key" in r.json()["detail"]
    [stored] = stored_files(tmp_path)
    async with engine.connect() as conn:
        keys = (
            (
                await conn.execute(
                    text("SELECT storage_key FROM client_files WHERE client_id = :c"),
                    {"c": made.json()["id"]},
                )
            )
            .scalars()
            .all()
        )
    assert keys == [stored.name]
