"""File store faults: a full, read-only or unreachable store answers 503 problem+json with
Retry-After (never a 500), writes nothing, leaves no bytes behind; a failed commit after the
bytes were stored deletes them."""

from __future__ import annotations

import errno
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import DEFAULT_FIELD_KEY
from app.errors import PayloadTooLarge, StorageUnavailable
from app.http import uow
from app.models import AuditEvent, IdempotencyRecord
from app.models.documents import ClientFile, DocumentCheck
from app.storage import FileStore, LocalStorage, S3Storage
from tests.conftest import Auth, World, assert_problem
from tests.support.documents import PDF, count, file_part, make_client, stored_files


class FailingStorage(LocalStorage):
    """A local store whose disk fails with a real ``OSError`` (after taking some bytes, as a
    disk that fills up mid-file does)."""

    def __init__(self, root: Path, code: int, *, reads: bool = False) -> None:
        super().__init__(root)
        self.code = code
        self.reads = reads

    def _fail(self) -> OSError:
        return OSError(self.code, errno.errorcode.get(self.code, "error"))

    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        async def filling() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                yield chunk
                raise self._fail()

        await super().put(key, filling())

    async def exists(self, key: str) -> bool:
        if self.reads:
            raise self._fail()
        return await super().exists(key)


@pytest.fixture
def use_store(app: Any) -> Iterator[Callable[[FileStore], None]]:
    previous = getattr(app.state, "file_store", None)

    def use(store: FileStore) -> None:
        app.state.file_store = store

    yield use
    app.state.file_store = previous


def _store(app: Any, backend: LocalStorage) -> FileStore:
    return FileStore(backend, app.state.settings.field_encryption_key)


async def _upload(
    client: httpx.AsyncClient, headers: dict[str, str], client_id: uuid.UUID
) -> httpx.Response:
    return await client.post(
        f"/api/v1/clients/{client_id}/files",
        headers=headers,
        data={"file_type": "photo_id"},
        files=file_part(PDF),
    )


def _assert_unavailable(r: httpx.Response) -> None:
    assert_problem(r, 503, "storage-unavailable")
    assert int(r.headers["retry-after"]) > 0
    assert "SECRET" not in r.text and "/" not in r.json()["detail"]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES])
async def test_a_full_or_read_only_store_is_a_503_and_nothing_is_written(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    app: Any,
    use_store: Callable[[FileStore], None],
    tmp_path: Path,
    code: int,
) -> None:
    use_store(_store(app, FailingStorage(tmp_path, code)))
    person = await make_client(db, world)
    headers = await auth.headers("case_manager", org="access_point_1") | {
        "Idempotency-Key": f"full-{code}"
    }
    _assert_unavailable(await _upload(client, headers, person.id))
    assert await count(db, ClientFile, ClientFile.client_id == person.id) == 0
    assert await count(db, AuditEvent, AuditEvent.action == "client_file.create") == 0
    assert await count(db, IdempotencyRecord) == 0
    assert stored_files(tmp_path) == []
    # Document Check (file optional) is refused the same way when a file is sent.
    cas = await auth.headers("case_manager", org="cas")
    r = await client.post(
        f"/api/v1/clients/{person.id}/document-checks",
        headers=cas,
        data={"category": "homeless", "item": "identity", "document_type": "photo_id"},
        files=file_part(PDF),
    )
    _assert_unavailable(r)
    assert await count(db, DocumentCheck, DocumentCheck.client_id == person.id) == 0


async def test_a_store_directory_that_is_a_file_is_a_503(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    app: Any,
    use_store: Callable[[FileStore], None],
    tmp_path: Path,
) -> None:
    # A real filesystem error even for root: the store's directory is a regular file.
    root = tmp_path / "files"
    root.write_bytes(b"not a directory")
    use_store(_store(app, LocalStorage(root)))
    person = await make_client(db, world)
    headers = await auth.headers("case_manager", org="access_point_1")
    _assert_unavailable(await _upload(client, headers, person.id))
    assert await count(db, ClientFile, ClientFile.client_id == person.id) == 0
    assert root.read_bytes() == b"not a directory"


async def test_an_unreadable_store_answers_downloads_with_503(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    app: Any,
    use_store: Callable[[FileStore], None],
    tmp_path: Path,
) -> None:
    use_store(_store(app, LocalStorage(tmp_path)))
    person = await make_client(db, world)
    headers = await auth.headers("case_manager", org="access_point_1")
    created = await _upload(client, headers, person.id)
    assert created.status_code == 201, created.text
    # Then the disk fails.
    use_store(_store(app, FailingStorage(tmp_path, errno.EIO, reads=True)))
    r = await client.get(f"/api/v1/client-files/{created.json()['id']}/file", headers=headers)
    _assert_unavailable(r)
    assert await count(db, AuditEvent, AuditEvent.action == "document.download") == 0


async def test_stored_bytes_are_deleted_when_the_commit_fails(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = uow._store_idempotent

    def twice(*args: Any, **kwargs: Any) -> None:
        # Another request recorded the same key first: the commit hits the unique index.
        original(*args, **kwargs)
        original(*args, **kwargs)

    monkeypatch.setattr(uow, "_store_idempotent", twice)
    person = await make_client(db, world)
    headers = await auth.headers("case_manager", org="access_point_1") | {
        "Idempotency-Key": "lost-race-1"
    }
    r = await _upload(client, headers, person.id)
    assert_problem(r, 409)
    assert "Idempotency-Key" in r.json()["detail"]
    assert stored_files(files_root) == []
    assert await count(db, ClientFile, ClientFile.client_id == person.id) == 0


class EndpointConnectionError(Exception):
    """Stands in for botocore's error when S3 cannot be reached."""


EndpointConnectionError.__module__ = "botocore.exceptions"


class UnreachableS3:
    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> Any:
            raise EndpointConnectionError("Could not connect to the endpoint URL")

        return call


async def test_an_unreachable_s3_store_is_unavailable_and_other_errors_are_not(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    store = FileStore(S3Storage(UnreachableS3(), "bucket", "docs/"), DEFAULT_FIELD_KEY)

    async def chunks() -> AsyncIterator[bytes]:
        yield PDF

    with (
        caplog.at_level(logging.WARNING, logger="app.storage"),
        pytest.raises(StorageUnavailable) as raised,
    ):
        await store.save(chunks())
    assert raised.value.status == 503 and raised.value.headers == {"Retry-After": "30"}
    assert [r.getMessage() for r in caplog.records] == ["file store unavailable"]
    assert "bucket" not in caplog.text and "docs/" not in caplog.text
    with pytest.raises(StorageUnavailable):
        await store.exists("0" * 32)
    await store.discard("0" * 32)  # never raises: the orphan sweep comes back for it

    # The upload's own refusal (here: too large) stays what it is.
    async def too_large() -> AsyncIterator[bytes]:
        yield PDF
        raise PayloadTooLarge("too large")

    local = FileStore(LocalStorage(tmp_path), DEFAULT_FIELD_KEY)
    with pytest.raises(PayloadTooLarge):
        await local.save(too_large())
    assert stored_files(tmp_path) == []
