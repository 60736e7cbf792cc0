"""The file store: encryption at rest, integrity, backends (local directory, S3 through a fake
client), content sniffing and the download header. No database needed."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.config import DEFAULT_FIELD_KEY, Settings
from app.services.documents import file_types
from app.services.documents.core import clean_filename, content_disposition
from app.storage import (
    CHUNK_SIZE,
    FileStore,
    IntegrityError,
    LocalStorage,
    ObjectMissing,
    S3Storage,
    file_store_from_settings,
)


async def _chunks(data: bytes, size: int = 10_000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _read(store: FileStore, key: str) -> bytes:
    return b"".join([c async for c in store.open(key)])


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(LocalStorage(tmp_path), DEFAULT_FIELD_KEY)


@pytest.mark.parametrize(
    "size", [1, 31, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE]
)
async def test_round_trip_and_ciphertext_is_not_plaintext(
    store: FileStore, tmp_path: Path, size: int
) -> None:
    data = (b"SSN 123-45-6789 " * (size // 16 + 1))[:size]
    key = await store.save(_chunks(data))
    assert await _read(store, key) == data
    [stored] = _files(tmp_path)
    raw = stored.read_bytes()
    assert stored.name == key and key not in str(stored.parent.parent.name)
    assert raw.startswith(b"CASF\x01")
    if size >= 16:
        assert b"123-45-6789" not in raw
    # Overhead: header + 20 bytes per 64 KiB chunk, never a copy of the plaintext.
    assert len(raw) < size + 200 + 20 * (size // CHUNK_SIZE + 1)


async def test_same_plaintext_encrypts_differently(store: FileStore, tmp_path: Path) -> None:
    data = b"%PDF-1.7 identical"
    a = await store.save(_chunks(data))
    b = await store.save(_chunks(data))
    pa, pb = (LocalStorage(tmp_path).path_for(k) for k in (a, b))
    assert pa.read_bytes() != pb.read_bytes()


async def test_tampering_is_detected(store: FileStore, tmp_path: Path) -> None:
    data = os.urandom(3 * CHUNK_SIZE + 5)
    key = await store.save(_chunks(data))
    path = LocalStorage(tmp_path).path_for(key)
    original = path.read_bytes()

    flipped = bytearray(original)
    flipped[len(original) // 2] ^= 0x01
    path.write_bytes(bytes(flipped))
    with pytest.raises(IntegrityError):
        await _read(store, key)

    # Dropping the last record (truncation at a record boundary) is detected too.
    record = 4 + 5 + 16
    path.write_bytes(original[:-record])
    with pytest.raises(IntegrityError):
        await _read(store, key)

    # Appending after the last chunk.
    path.write_bytes(original + b"\x00\x00\x00\x20" + b"x" * 32)
    with pytest.raises(IntegrityError):
        await _read(store, key)


async def test_an_object_cannot_be_moved_to_another_key(store: FileStore, tmp_path: Path) -> None:
    backend = LocalStorage(tmp_path)
    a = await store.save(_chunks(b"%PDF-1.7 first"))
    b = await store.save(_chunks(b"%PDF-1.7 second"))
    backend.path_for(b).write_bytes(backend.path_for(a).read_bytes())
    with pytest.raises(IntegrityError):
        await _read(store, b)


async def test_wrong_master_key_cannot_decrypt(store: FileStore, tmp_path: Path) -> None:
    key = await store.save(_chunks(b"%PDF-1.7 secret"))
    other = FileStore(LocalStorage(tmp_path), "A" * 43 + "=")
    with pytest.raises(IntegrityError):
        await _read(other, key)


async def test_failed_save_leaves_nothing(store: FileStore, tmp_path: Path) -> None:
    async def failing() -> AsyncIterator[bytes]:
        yield b"x" * (2 * CHUNK_SIZE)
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        await store.save(failing())
    assert _files(tmp_path) == []


async def test_delete_is_idempotent_and_missing_objects_say_so(
    store: FileStore, tmp_path: Path
) -> None:
    key = await store.save(_chunks(b"%PDF-1.7"))
    assert await store.exists(key)
    await store.delete(key)
    await store.delete(key)
    assert not await store.exists(key)
    with pytest.raises(ObjectMissing):
        await _read(store, key)


async def test_keys_are_validated_never_paths(tmp_path: Path) -> None:
    backend = LocalStorage(tmp_path)
    for bad in ("../../etc/passwd", "a/b", "ABCDEF", "", "x" * 32):
        with pytest.raises(ValueError):
            backend.path_for(bad)


async def test_list_keys_by_age(store: FileStore, tmp_path: Path) -> None:
    old = await store.save(_chunks(b"%PDF old"))
    new = await store.save(_chunks(b"%PDF new"))
    past = (datetime.now(UTC) - timedelta(days=3)).timestamp()
    os.utime(LocalStorage(tmp_path).path_for(old), (past, past))
    keys = await store.list_keys(older_than=datetime.now(UTC) - timedelta(days=1))
    assert keys == [old] and new not in keys


def test_settings_choose_the_backend(tmp_path: Path) -> None:
    local = file_store_from_settings(Settings(data_dir=tmp_path))
    assert isinstance(local.backend, LocalStorage) and local.backend.root == tmp_path / "files"
    with pytest.raises(ValueError, match="S3_BUCKET"):
        file_store_from_settings(Settings(storage_backend="s3"))


# --- S3 backend, against an in-memory stand-in for a boto3 client --------------------------------


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, datetime]] = {}
        self.uploads: dict[str, list[tuple[int, bytes]]] = {}
        self.aborted: list[str] = []
        self.part_sizes: list[int] = []

    def create_multipart_upload(self, Bucket: str, Key: str) -> dict[str, Any]:
        upload_id = f"u{len(self.uploads)}"
        self.uploads[upload_id] = []
        return {"UploadId": upload_id}

    def upload_part(self, Bucket: str, Key: str, UploadId: str, PartNumber: int, Body: bytes):
        self.uploads[UploadId].append((PartNumber, Body))
        self.part_sizes.append(len(Body))
        return {"ETag": hashlib.md5(Body).hexdigest()}

    def complete_multipart_upload(self, Bucket: str, Key: str, UploadId: str, MultipartUpload):
        parts = dict(self.uploads.pop(UploadId))
        assert [p["PartNumber"] for p in MultipartUpload["Parts"]] == sorted(parts)
        self.objects[Key] = (b"".join(parts[n] for n in sorted(parts)), datetime.now(UTC))

    def abort_multipart_upload(self, Bucket: str, Key: str, UploadId: str) -> None:
        self.uploads.pop(UploadId, None)
        self.aborted.append(UploadId)

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if Key not in self.objects:
            raise _ClientError("NoSuchKey")
        import io

        return {"Body": io.BytesIO(self.objects[Key][0])}

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if Key not in self.objects:
            raise _ClientError("404")
        return {}

    def delete_object(self, Bucket: str, Key: str) -> None:
        self.objects.pop(Key, None)

    def list_objects_v2(self, **kwargs: Any) -> dict[str, Any]:
        return {
            "Contents": [
                {"Key": k, "LastModified": t}
                for k, (_, t) in self.objects.items()
                if k.startswith(kwargs["Prefix"])
            ],
            "IsTruncated": False,
        }


class _ClientError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code}}


async def test_s3_backend_round_trip_in_parts() -> None:
    fake = FakeS3()
    backend = S3Storage(fake, "bucket", "docs/", part_size=100_000)
    store = FileStore(backend, DEFAULT_FIELD_KEY)
    data = os.urandom(350_000)
    key = await store.save(_chunks(data, 50_000))
    assert list(fake.objects) == [f"docs/{key}"]
    # Every part but the last meets the minimum part size; none holds the whole file.
    assert len(fake.part_sizes) >= 3
    assert all(100_000 <= n < 2 * 100_000 for n in fake.part_sizes[:-1])
    assert data not in fake.objects[f"docs/{key}"][0]
    assert await _read(store, key) == data
    assert await store.exists(key)
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert await store.list_keys(older_than=later) == [key]
    await store.delete(key)
    assert not await store.exists(key)
    with pytest.raises(ObjectMissing):
        await _read(store, key)


async def test_s3_failed_upload_is_aborted() -> None:
    fake = FakeS3()
    store = FileStore(S3Storage(fake, "bucket", "docs/", part_size=100_000), DEFAULT_FIELD_KEY)

    async def failing() -> AsyncIterator[bytes]:
        yield os.urandom(250_000)
        raise RuntimeError("too large")

    with pytest.raises(RuntimeError):
        await store.save(failing())
    assert fake.objects == {} and fake.uploads == {} and len(fake.aborted) == 1


# --- content sniffing and names -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
        (b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image/heic"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00", "image/heif"),
        (b"MZ\x90\x00\x03\x00\x00\x00", None),
        (b"\x7fELF\x02\x01\x01", None),
        (b"PK\x03\x04\x14\x00", None),
        (b"<html><script>", None),
        (b"#!/bin/sh\n", None),
        (b"\x00\x00\x00\x18ftypavif", None),
        (b"  %PDF-1.7", None),
    ],
)
def test_sniff(head: bytes, expected: str | None) -> None:
    assert file_types.sniff(head) == expected


def test_allowed_types_follow_the_setting() -> None:
    assert file_types.allowed_type(b"%PDF-1.7", ["image/png"]) is None
    assert file_types.allowed_type(b"%PDF-1.7", ["application/pdf"]) == "application/pdf"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("scan.pdf", "attachment; filename=\"scan.pdf\"; filename*=UTF-8''scan.pdf"),
        (
            '../../etc/pa"ss\r\nwd.pdf',
            "attachment; filename=\"pa_sswd.pdf\"; filename*=UTF-8''pa%22sswd.pdf",
        ),
        (
            "Führerschein ñ.pdf",
            'attachment; filename="Fuhrerschein n.pdf"; '
            "filename*=UTF-8''F%C3%BChrerschein%20%C3%B1.pdf",
        ),
        ("page.html", "attachment; filename=\"page.pdf\"; filename*=UTF-8''page.pdf"),
        (None, "attachment; filename=\"document.pdf\"; filename*=UTF-8''document.pdf"),
        ("...", "attachment; filename=\"document.pdf\"; filename*=UTF-8''document.pdf"),
        (
            "文件.pdf",
            "attachment; filename=\"document.pdf\"; filename*=UTF-8''%E6%96%87%E4%BB%B6.pdf",
        ),
    ],
)
def test_content_disposition_is_safe(name: str | None, expected: str) -> None:
    header = content_disposition(name, "application/pdf", "document")
    assert header == expected
    assert "\r" not in header and "\n" not in header and "/" not in header


def test_clean_filename_keeps_only_the_last_segment() -> None:
    assert clean_filename("C:\\Users\\me\\ID card.png") == "ID card.png"
    assert clean_filename("/tmp/\x00evil\x07.pdf") == "evil.pdf"
    assert clean_filename("") is None
    assert len(clean_filename("a" * 400 + ".pdf") or "") == 255
