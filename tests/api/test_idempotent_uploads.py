"""Idempotency-Key on streamed multipart uploads: a retry (new random boundary, same parts)
replays the first response; the same key with other content is a 422. Nothing is stored twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.http import uow
from app.models.documents import ClientFile
from app.storage import FileStore
from tests.conftest import Auth, World, assert_problem
from tests.support.documents import PDF, count, make_client, multipart, stored_files


async def test_upload_retry_replays_and_other_content_is_refused(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    headers = await auth.headers("case_manager") | {"Idempotency-Key": "upload-card-1"}
    url = f"/api/v1/clients/{person.id}/files"

    def send(content: bytes) -> Any:
        return client.post(
            url,
            headers=headers,
            data={"file_type": "social_security_card"},
            files={"file": ("card.pdf", content, "application/pdf")},
        )

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


async def test_a_file_holding_the_boundary_string_is_not_a_replay(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    headers = await auth.headers("case_manager") | {"Idempotency-Key": "upload-card-2"}
    url = f"/api/v1/clients/{person.id}/files"

    async def send(content: bytes, boundary: str) -> httpx.Response:
        ctype, body = multipart(
            [("file_type", "social_security_card", None), ("file", content, "card.pdf")],
            boundary,
        )
        return await client.post(url, headers=headers | ctype, content=body)

    first = await send(PDF, "first-boundary-1111")
    assert first.status_code == 201, first.text
    # Another file: the first one with the second request's boundary string inside it. Only
    # the real delimiters are left out of the hash, so this is other content under the key.
    other = PDF.replace(b"SECRET", b"SECsecond-boundary-2222RET")
    r = await send(other, "second-boundary-2222")
    assert_problem(r, 422)
    assert "idempotent-replayed" not in r.headers
    # The same parts under a new boundary are still the same request.
    again = await send(PDF, "third-boundary-3333")
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await count(db, ClientFile) == 1
    assert len(stored_files(files_root)) == 1


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1_000_000])
def test_the_multipart_hash_does_not_depend_on_chunking(size: int) -> None:
    content = (PDF + b"\r\n--bnd-x\r\n--bnd\r--bnd-" + b"\x00" * 300) * 3
    _, body = multipart([("a", "1", None), ("file", content, "f.pdf"), ("b", "2", None)], "bnd")

    def digest(data: bytes, boundary: bytes, step: int) -> str:
        hasher = uow._MultipartHasher(boundary)
        for start in range(0, len(data), step):
            hasher.update(data[start : start + step])
        return hasher.hexdigest()

    whole = digest(body, b"bnd", len(body))
    assert digest(body, b"bnd", size) == whole
    _, renamed = multipart(
        [("a", "1", None), ("file", content, "f.pdf"), ("b", "2", None)], "other-boundary"
    )
    assert digest(renamed, b"other-boundary", size) == whole
    _, changed = multipart(
        [("a", "1", None), ("file", content + b"!", "f.pdf"), ("b", "2", None)], "bnd"
    )
    assert digest(changed, b"bnd", size) != whole
