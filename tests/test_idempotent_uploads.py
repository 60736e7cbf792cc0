"""Idempotency-Key on streamed multipart uploads: a retry (new random boundary, same parts)
replays the first response; the same key with other content is a 422. Nothing is stored twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.documents import ClientFile
from app.storage import FileStore
from tests.conftest import Auth, World, assert_problem
from tests.documents_support import PDF, count, make_client, stored_files


async def test_upload_retry_replays_and_other_content_is_refused(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World,
    store: FileStore, files_root: Path,
) -> None:
    person = await make_client(db, world)
    headers = await auth.headers("case_manager") | {"Idempotency-Key": "upload-card-1"}
    url = f"/api/v1/clients/{person.id}/files"

    def send(content: bytes) -> Any:
        return client.post(url, headers=headers, data={"file_type": "social_security_card"},
                           files={"file": ("card.pdf", content, "application/pdf")})

    first = await send(PDF)
    assert first.status_code == 201, first.text
    assert len(stored_files(files_root)) == 1

    retry = await send(PDF)  # httpx picks a new random boundary for this request
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert await count(db, ClientFile) == 1
    assert len(stored_files(files_root)) == 1

    other = await send(PDF.replace(b"SECRET", b"OTHER!"))
    assert_problem(other, 422)
    assert await count(db, ClientFile) == 1
    assert len(stored_files(files_root)) == 1
