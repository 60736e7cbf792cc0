"""Uploads read their multipart body as a stream (app.http.multipart): no plaintext temporary
file, malformed bodies refused with nothing stored, metadata before or after the file part."""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import BadRequest, ValidationFailed
from app.http.multipart import MultipartReader
from app.models.documents import ClientFile, DocumentCheck
from app.storage import FileStore
from tests.conftest import Auth, World, assert_problem
from tests.support.documents import (
    BOUNDARY,
    PDF,
    count,
    make_client,
    multipart,
    stored_files,
)

Part = tuple[str, bytes | str, str | None]
META: list[Part] = [
    ("category", "homeless", None),
    ("item", "identity", None),
    ("document_type", "photo_id", None),
]


@pytest.fixture
def store_calls(store: FileStore, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often the upload path saved and deleted bytes."""
    calls = {"save": 0, "delete": 0}
    save, delete = store.save, store.delete

    async def counted_save(plaintext: AsyncIterator[bytes]) -> str:
        calls["save"] += 1
        return await save(plaintext)

    async def counted_delete(key: str) -> None:
        calls["delete"] += 1
        await delete(key)

    monkeypatch.setattr(store, "save", counted_save)
    monkeypatch.setattr(store, "delete", counted_delete)
    return calls


def checks_url(client_id: uuid.UUID) -> str:
    return f"/api/v1/clients/{client_id}/document-checks"


def files_url(client_id: uuid.UUID) -> str:
    return f"/api/v1/clients/{client_id}/files"


async def post_parts(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    parts: list[Part],
) -> httpx.Response:
    content_type, body = multipart(parts)
    return await client.post(url, headers={**headers, **content_type}, content=body)


# --- no plaintext on disk -----------------------------------------------------------------------


class _DiskSpool(AssertionError):
    pass


@pytest.fixture
def no_temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail any use of a temporary file (how Starlette spools file parts over 1 MB) and point
    the temporary directory at an empty one. Yields the names of the functions called."""
    used: list[str] = []
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()

    def trap(name: str) -> Any:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            used.append(name)
            raise _DiskSpool(f"tempfile.{name} used during an upload")

        return refuse

    for name in ("TemporaryFile", "NamedTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, trap(name))
    monkeypatch.setattr(tempfile, "tempdir", str(temp_dir))
    # The trap catches Starlette's spooling: a SpooledTemporaryFile rolls over to TemporaryFile.
    with tempfile.SpooledTemporaryFile(max_size=4) as spool, pytest.raises(_DiskSpool):
        spool.write(b"more than four bytes")
    used.clear()
    yield used
    assert list(temp_dir.iterdir()) == []


async def test_large_upload_leaves_no_plaintext_temporary_file(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
    tmp_path: Path,
    no_temp_files: list[str],
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    size = 15 * 1024 * 1024
    marker = b"SSN-123-45-6789-" * 4
    digest = hashlib.sha256()
    with (tmp_path / "source.pdf").open("w+b") as source:  # httpx streams the file from here
        written = 0
        block = b"%PDF-1.7\n" + marker + os.urandom(1024 * 1024 - 9 - len(marker))
        while written < size:
            piece = block[: size - written]
            source.write(piece)
            digest.update(piece)
            written += len(piece)
        source.seek(0)
        r = await client.post(
            checks_url(person.id),
            headers=cas,
            data={"category": "homeless", "item": "identity", "document_type": "photo_id"},
            files={"file": ("big.pdf", source, "application/pdf")},
        )
    assert r.status_code == 201, r.text
    assert no_temp_files == []
    assert r.json()["file"]["size_bytes"] == size
    assert r.json()["file"]["sha256"] == digest.hexdigest()
    [stored] = stored_files(files_root)
    with stored.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            assert marker not in chunk and b"%PDF-1.7" not in chunk


async def test_client_file_over_the_spool_threshold_never_touches_a_temporary_file(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
    no_temp_files: list[str],
) -> None:
    person = await make_client(db, world)
    agency = await auth.headers("case_manager", org="access_point_1")
    content = PDF + os.urandom(3 * 1024 * 1024)
    r = await client.post(
        files_url(person.id),
        headers=agency,
        data={"file_type": "passport"},
        files={"file": ("passport.pdf", content, "application/pdf")},
    )
    assert r.status_code == 201, r.text
    assert r.json()["file"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert no_temp_files == []
    download = await client.get(r.json()["file"]["download_path"], headers=agency)
    assert download.content == content


# --- malformed bodies ---------------------------------------------------------------------------


def _valid_body() -> bytes:
    return multipart([*META, ("file", PDF + os.urandom(200_000), "scan.pdf")])[1]


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
MALFORMED: list[tuple[str, str, bytes, int]] = [
    ("json", "application/json", b'{"category": "homeless"}', 415),
    ("urlencoded", "application/x-www-form-urlencoded", b"category=homeless", 415),
    ("no content type", "", _valid_body(), 415),
    ("no boundary", "multipart/form-data", _valid_body(), 400),
    ("other boundary", "multipart/form-data; boundary=not-the-one", _valid_body(), 400),
    ("empty body", MULTIPART, b"", 400),
    ("truncated in the file", MULTIPART, _valid_body()[:150_000], 400),
    ("no closing boundary", MULTIPART, _valid_body().rsplit(b"--" + BOUNDARY.encode(), 1)[0], 400),
    ("garbage", MULTIPART, b"this is not multipart at all" * 100, 400),
    (
        "part without a name",
        MULTIPART,
        f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(),
        400,
    ),
    (
        "too many parts",
        MULTIPART,
        multipart([(f"extra{i}", "x", None) for i in range(40)] + META)[1],
        400,
    ),
    (
        "huge part headers",
        MULTIPART,
        multipart([("category", "homeless", "x" * 20_000), *META[1:]])[1],
        400,
    ),
]


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [pytest.param(c, b, s, id=i) for i, c, b, s in MALFORMED],
)
async def test_malformed_bodies_are_problems_and_store_nothing(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
    content_type: str,
    body: bytes,
    status: int,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    headers = {**cas, "content-type": content_type} if content_type else cas
    for url in (checks_url(person.id), files_url(person.id)):
        r = await client.post(url, headers=headers, content=body)
        assert_problem(r, status)
    assert stored_files(files_root) == []
    assert await count(db, DocumentCheck, DocumentCheck.client_id == person.id) == 0
    assert await count(db, ClientFile, ClientFile.client_id == person.id) == 0
    await db.refresh(person)
    assert person.last_contact_at is None


@pytest.mark.parametrize(
    ("parts", "field"),
    [
        ([*META, ("comments", "x" * (64 * 1024 + 1), None), ("file", PDF, "a.pdf")], "comments"),
        ([*META, ("comments", b"caf\xe9", None), ("file", PDF, "a.pdf")], "comments"),
        ([*META, ("item", "identity", None), ("file", PDF, "a.pdf")], "item"),
        ([*META, ("file", PDF, "a.pdf"), ("file", PDF, "b.pdf")], "file"),
    ],
    ids=["field too long", "not utf-8", "field twice", "two files"],
)
async def test_bad_parts_are_422_naming_the_field_and_store_nothing(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
    parts: list[Part],
    field: str,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    body = assert_problem(await post_parts(client, checks_url(person.id), cas, parts), 422)
    assert ["body", field] in [e["loc"] for e in body["errors"]]
    assert stored_files(files_root) == []
    assert await count(db, DocumentCheck, DocumentCheck.client_id == person.id) == 0


async def test_refusals_come_before_the_body_is_read(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    store_calls: dict[str, int],
) -> None:
    person = await make_client(db, world)
    garbage = {"content-type": MULTIPART}
    # Unauthenticated, not allowed, not visible: the (malformed) body is never looked at.
    r = await client.post(checks_url(person.id), headers=garbage, content=b"junk")
    assert_problem(r, 401)
    provider = {**await auth.headers("housing_provider"), **garbage}
    assert_problem(await client.post(files_url(person.id), headers=provider, content=b"x"), 403)
    other = {**await auth.headers("case_manager2"), **garbage}
    assert_problem(await client.post(files_url(person.id), headers=other, content=b"x"), 404)
    agency = {**await auth.headers("case_manager", org="access_point_1"), **garbage}
    assert_problem(await client.post(checks_url(person.id), headers=agency, content=b"x"), 404)
    assert store_calls == {"save": 0, "delete": 0}


# --- metadata before / after the file -----------------------------------------------------------


async def test_metadata_after_the_file_is_accepted(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    parts: list[Part] = [
        ("file", PDF, "ssi.pdf"),
        ("category", "disability", None),
        ("item", "disability", None),
        ("document_type", "ssi_awards_letter", None),
        ("comments", "SSA - award letter - 2025", None),
        ("expiration_date", "2031-01-01", None),
        ("issuance_date", "", None),  # an empty field is "not given", as with HTML forms
        ("unknown", "ignored", None),
    ]
    r = await post_parts(client, checks_url(person.id), cas, parts)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["category"] == "disability" and body["comments"] == "SSA - award letter - 2025"
    assert body["expiration_date"] == "2031-01-01" and body["issuance_date"] is None
    assert body["file"]["original_filename"] == "ssi.pdf"
    assert len(stored_files(files_root)) == 1

    agency = await auth.headers("case_manager", org="access_point_1")
    r = await post_parts(
        client,
        files_url(person.id),
        agency,
        [("file", PDF, "id.pdf"), ("file_type", "photo_id", None), ("description", "ID", None)],
    )
    assert r.status_code == 201, r.text
    assert r.json()["file_type"] == "photo_id" and r.json()["description"] == "ID"


@pytest.mark.parametrize(
    ("before", "after", "field"),
    [
        ([("item", "identity", None)], [("document_type", "no_such_type", None)], "document_type"),
        ([("item", "disability", None)], [("document_type", "photo_id", None)], "item"),
        (
            [("item", "identity", None), ("document_type", "photo_id", None)],
            [("expiration_date", "2024-01-01", None), ("issuance_date", "2024-02-01", None)],
            "expiration_date",
        ),
        ([("item", "identity", None)], [("verification_date", "someday", None)], "document_type"),
    ],
    ids=["bad type after", "bad item after", "dates after", "required field missing"],
)
async def test_bad_metadata_after_the_file_deletes_the_stored_bytes(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
    store_calls: dict[str, int],
    before: list[tuple[str, str, None]],
    after: list[tuple[str, str, None]],
    field: str,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    parts: list[Part] = [("category", "homeless", None), *before, ("file", PDF, "a.pdf"), *after]
    body = assert_problem(await post_parts(client, checks_url(person.id), cas, parts), 422)
    assert ["body", field] in [e["loc"] for e in body["errors"]]
    # The file was stored while it streamed, then removed when the late fields were refused.
    assert store_calls == {"save": 1, "delete": 1}
    assert stored_files(files_root) == []
    assert await count(db, DocumentCheck, DocumentCheck.client_id == person.id) == 0


@pytest.mark.parametrize(
    ("before", "field"),
    [
        ([("item", "identity", None), ("document_type", "no_such_type", None)], "document_type"),
        ([("item", "diary", None)], "item"),
        ([("issuance_date", "not a date", None)], "issuance_date"),
        ([("item", "disability", None), ("document_type", "photo_id", None)], "item"),
        (
            [
                ("item", "identity", None),
                ("document_type", "photo_id", None),
                ("issuance_date", "2999-01-01", None),
            ],
            "issuance_date",
        ),
        (
            [
                ("comments", "   ", None),
                ("item", "disability", None),
                ("document_type", "disability_letter", None),
            ],
            "comments",
        ),
    ],
    ids=[
        "bad type",
        "unknown item",
        "bad date",
        "item of another category",
        "future date",
        "blank comment",
    ],
)
async def test_bad_metadata_before_the_file_is_refused_before_storing(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
    store_calls: dict[str, int],
    before: list[tuple[str, str, None]],
    field: str,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    category = "disability" if field == "comments" else "homeless"
    parts: list[Part] = [
        ("category", category, None),
        *before,
        ("file", PDF + b"x" * 500_000, "a.pdf"),
    ]
    body = assert_problem(await post_parts(client, checks_url(person.id), cas, parts), 422)
    assert ["body", field] in [e["loc"] for e in body["errors"]]
    assert store_calls == {"save": 0, "delete": 0}
    assert stored_files(files_root) == []


async def test_client_file_type_after_the_file_is_checked_and_bytes_removed(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
    store_calls: dict[str, int],
) -> None:
    person = await make_client(db, world)
    agency = await auth.headers("case_manager", org="access_point_1")
    r = await post_parts(
        client, files_url(person.id), agency, [("file", PDF, "a.pdf"), ("file_type", "diary", None)]
    )
    assert ["body", "file_type"] in [e["loc"] for e in assert_problem(r, 422)["errors"]]
    assert store_calls == {"save": 1, "delete": 1}
    r = await post_parts(client, files_url(person.id), agency, [("file_type", "passport", None)])
    assert ["body", "file"] in [e["loc"] for e in assert_problem(r, 422)["errors"]]
    assert stored_files(files_root) == []
    assert await count(db, ClientFile, ClientFile.client_id == person.id) == 0


# --- the reader on its own ----------------------------------------------------------------------


async def _chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 65536])
async def test_reader_splits_parts_whatever_the_chunking(chunk_size: int) -> None:
    payload = b"%PDF-1.7\r\n--" + BOUNDARY.encode()[:-1] + b"\r\n" + os.urandom(5000)
    _, body = multipart(
        [("a", "h\u00e9llo", None), ("skipped", "zzz", None), ("file", payload, "x.pdf")]
    )
    reader = MultipartReader(_chunks(body, chunk_size), BOUNDARY.encode())
    seen: dict[str, Any] = {}
    while (part := await reader.next_part()) is not None:
        if part.name == "file":
            data = bytearray()
            while chunk := await part.read(100):
                assert len(chunk) <= 100
                data += chunk
            seen["file"] = (part.filename, bytes(data))
        elif part.name == "a":
            seen["a"] = await part.text()
    assert seen == {"a": "h\u00e9llo", "file": ("x.pdf", payload)}


async def test_reader_limits() -> None:
    _, body = multipart([("comments", "x" * 101, None)])
    reader = MultipartReader(_chunks(body, 10), BOUNDARY.encode())
    part = await reader.next_part()
    assert part is not None
    with pytest.raises(ValidationFailed) as caught:
        await part.text(limit=100)
    assert caught.value.errors == [
        {
            "loc": ["body", "comments"],
            "msg": "The field is longer than 100 bytes.",
            "type": "value_error",
        }
    ]
    _, body = multipart([(f"f{i}", "x", None) for i in range(3)])
    reader = MultipartReader(_chunks(body, 10), BOUNDARY.encode(), max_parts=2)
    with pytest.raises(BadRequest):
        while await reader.next_part() is not None:
            pass
