"""File storage for uploaded documents: encrypted at rest, streamed in chunks, pluggable backend.

``FileStore`` is what services use: ``save`` takes the plaintext as an async iterator of chunks,
encrypts it chunk by chunk and hands the ciphertext to a backend under a new random key;
``open`` streams the decrypted bytes back. Nothing holds a whole file in memory.

Encryption (format version 1), per file:

* a random 256-bit data key, wrapped with AES-256-GCM by a key-encryption key derived (HKDF) from
  the newest of ``settings.encryption_keys``; the storage key is the wrap's associated data, so
  a file's bytes cannot be swapped for another file's; reading tries each configured key's KEK
  (the one that unwraps the data key is the one that wrote the file: AES-GCM authenticates it),
  and ``FileStore.reencrypt`` rewrites a file under the newest key, in place (key rotation);
* the plaintext is cut into 64 KiB chunks, each sealed with AES-256-GCM under the data key with
  nonce ``prefix (7 random bytes) || chunk counter (4) || last-chunk flag (1)`` and the file header
  as associated data (the STREAM construction: reordering, truncation and appending are detected).

Layout: ``header || record*`` with ``header = b"CASF" || 0x01 || wrap nonce (12) || wrapped key
(48) || nonce prefix (7)`` and ``record = length (4, big endian; top bit = last chunk) ||
ciphertext``.

Backends: a local directory (default) and S3-compatible object storage (``storage_backend="s3"``,
needs boto3). Keys are random hex; a file's original name never reaches a backend.

A store that cannot be used (disk full, read-only, permissions, S3 unreachable or refusing) is
``app.errors.StorageUnavailable`` (503 with Retry-After) from every ``FileStore`` method.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import struct
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app import clock
from app.config import Settings, decode_field_key
from app.errors import StorageUnavailable

CHUNK_SIZE = 64 * 1024
_TAG = 16
_MAGIC = b"CASF"
_VERSION = 1
_WRAP_NONCE = 12
_NONCE_PREFIX = 7
_HEADER_SIZE = len(_MAGIC) + 1 + _WRAP_NONCE + 32 + _TAG + _NONCE_PREFIX
_LAST_FLAG = 0x8000_0000
_MAX_RECORD = CHUNK_SIZE + _TAG
_MAX_CHUNKS = 2**32 - 1

_KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")

log = logging.getLogger("app.storage")


class StorageError(Exception):
    """The store is unreachable or a stored object is damaged (never shown to callers)."""


class ObjectMissing(StorageError):
    pass


class IntegrityError(StorageError):
    pass


def new_key() -> str:
    return uuid.uuid4().hex


def _check_key(key: str) -> str:
    if not _KEY_PATTERN.match(key):
        raise ValueError("invalid storage key")
    return key


# --- encryption ---------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _key_encryption_key(master_key: str) -> bytes:
    raw = decode_field_key(master_key)
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"cas-api file key wrap v1"
    ).derive(raw)


def _wrap_aad(storage_key: str) -> bytes:
    return b"cas-file:" + storage_key.encode()


class FileEncryptor:
    """Incremental encryption: ``header``, then ``update`` for each piece, then ``finalize``."""

    def __init__(self, kek: bytes, storage_key: str) -> None:
        data_key = AESGCM.generate_key(bit_length=256)
        wrap_nonce = os.urandom(_WRAP_NONCE)
        wrapped = AESGCM(kek).encrypt(wrap_nonce, data_key, _wrap_aad(storage_key))
        self._prefix = os.urandom(_NONCE_PREFIX)
        self.header = _MAGIC + bytes([_VERSION]) + wrap_nonce + wrapped + self._prefix
        self._aead = AESGCM(data_key)
        self._pending = bytearray()
        self._counter = 0
        self._done = False

    def _seal(self, chunk: bytes, last: bool) -> bytes:
        if self._counter > _MAX_CHUNKS:
            raise StorageError("file too large for the encryption format")
        nonce = self._prefix + struct.pack(">IB", self._counter, 1 if last else 0)
        self._counter += 1
        sealed = self._aead.encrypt(nonce, chunk, self.header)
        length = len(sealed) | (_LAST_FLAG if last else 0)
        return struct.pack(">I", length) + sealed

    def update(self, data: bytes) -> bytes:
        if self._done:
            raise StorageError("encryptor already finalized")
        self._pending += data
        out = bytearray()
        # Keep at least one byte back: only ``finalize`` knows which chunk is the last.
        while len(self._pending) > CHUNK_SIZE:
            out += self._seal(bytes(self._pending[:CHUNK_SIZE]), last=False)
            del self._pending[:CHUNK_SIZE]
        return bytes(out)

    def finalize(self) -> bytes:
        self._done = True
        record = self._seal(bytes(self._pending), last=True)
        self._pending.clear()
        return record


async def decrypt_stream(
    kek: bytes | Sequence[bytes], storage_key: str, ciphertext: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    """The plaintext of a stored object, chunk by chunk; ``IntegrityError`` if tampered with."""
    buffer = bytearray()
    aead: AESGCM | None = None
    header = b""
    counter = 0
    finished = False
    async for piece in ciphertext:
        buffer += piece
        if aead is None:
            if len(buffer) < _HEADER_SIZE:
                continue
            header = bytes(buffer[:_HEADER_SIZE])
            del buffer[:_HEADER_SIZE]
            aead = _open_header(kek, storage_key, header)
        while len(buffer) >= 4:
            if finished:
                raise IntegrityError("data after the last chunk")
            (length,) = struct.unpack(">I", buffer[:4])
            last = bool(length & _LAST_FLAG)
            length &= ~_LAST_FLAG
            if length < _TAG or length > _MAX_RECORD:
                raise IntegrityError("invalid record length")
            if len(buffer) < 4 + length:
                break
            sealed = bytes(buffer[4 : 4 + length])
            del buffer[: 4 + length]
            nonce = header[-_NONCE_PREFIX:] + struct.pack(">IB", counter, 1 if last else 0)
            try:
                plain = aead.decrypt(nonce, sealed, header)
            except InvalidTag as exc:
                raise IntegrityError("chunk authentication failed") from exc
            counter += 1
            finished = last
            if plain:
                yield plain
    if aead is None or not finished or buffer:
        raise IntegrityError("truncated file")


def _open_header(kek: bytes | Sequence[bytes], storage_key: str, header: bytes) -> AESGCM:
    if header[:4] != _MAGIC or header[4] != _VERSION:
        raise IntegrityError("unknown file format")
    wrap_nonce = header[5 : 5 + _WRAP_NONCE]
    wrapped = header[5 + _WRAP_NONCE : 5 + _WRAP_NONCE + 32 + _TAG]
    for candidate in [kek] if isinstance(kek, bytes) else kek:
        try:
            data_key = AESGCM(candidate).decrypt(wrap_nonce, wrapped, _wrap_aad(storage_key))
        except InvalidTag:
            continue
        return AESGCM(data_key)
    raise IntegrityError("file key does not unwrap (wrong key or wrong object)")


# --- backends -----------------------------------------------------------------------------------


class StorageBackend(ABC):
    """Opaque bytes by key. ``put`` either stores everything or leaves nothing behind."""

    @abstractmethod
    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> None: ...

    @abstractmethod
    def get(self, key: str) -> AsyncIterator[bytes]: ...

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Idempotent: deleting a missing key is not an error."""

    @abstractmethod
    async def exists(self, key: str) -> bool: ...

    @abstractmethod
    async def list_keys(self, older_than: datetime) -> list[str]:
        """Keys of objects last written before ``older_than`` (for the orphan sweep)."""


class LocalStorage(StorageBackend):
    """Files under ``root/<first two hex digits>/<key>``; written to ``.part`` then renamed."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        key = _check_key(key)
        return self.root / key[:2] / key

    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        final = self.path_for(key)
        partial = final.with_name(final.name + ".part")
        await asyncio.to_thread(final.parent.mkdir, parents=True, exist_ok=True)
        handle = await asyncio.to_thread(open, partial, "xb")
        try:
            try:
                async for chunk in chunks:
                    if chunk:
                        await asyncio.to_thread(handle.write, chunk)
                await asyncio.to_thread(_flush_and_sync, handle)
            finally:
                await asyncio.to_thread(handle.close)
            await asyncio.to_thread(os.replace, partial, final)
        except BaseException:
            await asyncio.to_thread(_unlink, partial)
            raise

    async def get(self, key: str) -> AsyncIterator[bytes]:
        path = self.path_for(key)
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc
        try:
            while True:
                chunk = await asyncio.to_thread(handle.read, CHUNK_SIZE + _TAG + 4)
                if not chunk:
                    return
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(_unlink, self.path_for(key))

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_for(key).is_file)

    async def list_keys(self, older_than: datetime) -> list[str]:
        return await asyncio.to_thread(self._list_keys, older_than.timestamp())

    def _list_keys(self, cutoff: float) -> list[str]:
        if not self.root.is_dir():
            return []
        keys = []
        for path in self.root.glob("??/*"):
            name = path.name.removesuffix(".part")
            if not _KEY_PATTERN.match(name) or path.stat().st_mtime >= cutoff:
                continue
            if path.name.endswith(".part"):
                _unlink(path)  # left by a crashed process
            else:
                keys.append(name)
        return keys


def _flush_and_sync(handle: Any) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


class S3Storage(StorageBackend):
    """S3-compatible object storage (AWS, MinIO, Ceph...) through a boto3 client, in threads.

    Uploads use multipart upload (parts of ``part_size``, S3's minimum is 5 MiB) and are aborted
    on any error, so a failed upload leaves no object.
    """

    def __init__(self, client: Any, bucket: str, prefix: str = "", part_size: int = 5 * 2**20):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = part_size

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        if not settings.s3_bucket:
            raise ValueError("CAS_S3_BUCKET must be set when CAS_STORAGE_BACKEND=s3")
        try:
            import boto3
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise RuntimeError(
                "the s3 storage backend needs boto3 (pip install cas-api[s3])"
            ) from exc
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
        )
        return cls(client, settings.s3_bucket, settings.s3_prefix)

    def _object(self, key: str) -> str:
        return self.prefix + _check_key(key)

    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        name = self._object(key)
        created = await asyncio.to_thread(
            self.client.create_multipart_upload, Bucket=self.bucket, Key=name
        )
        upload_id = created["UploadId"]
        parts: list[dict[str, Any]] = []
        buffer = bytearray()

        async def send(data: bytes) -> None:
            number = len(parts) + 1
            answer = await asyncio.to_thread(
                self.client.upload_part,
                Bucket=self.bucket,
                Key=name,
                UploadId=upload_id,
                PartNumber=number,
                Body=data,
            )
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})

        try:
            async for chunk in chunks:
                buffer += chunk
                if len(buffer) >= self.part_size:
                    await send(bytes(buffer))
                    buffer.clear()
            if buffer or not parts:
                await send(bytes(buffer))
            await asyncio.to_thread(
                self.client.complete_multipart_upload,
                Bucket=self.bucket,
                Key=name,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            await asyncio.to_thread(
                self.client.abort_multipart_upload, Bucket=self.bucket, Key=name, UploadId=upload_id
            )
            raise

    async def get(self, key: str) -> AsyncIterator[bytes]:
        try:
            answer = await asyncio.to_thread(
                self.client.get_object, Bucket=self.bucket, Key=self._object(key)
            )
        except Exception as exc:
            if _is_missing(exc):
                raise ObjectMissing(key) from exc
            raise
        body = answer["Body"]
        try:
            while True:
                chunk = await asyncio.to_thread(body.read, CHUNK_SIZE + _TAG + 4)
                if not chunk:
                    return
                yield chunk
        finally:
            await asyncio.to_thread(body.close)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(
            self.client.delete_object, Bucket=self.bucket, Key=self._object(key)
        )

    async def exists(self, key: str) -> bool:
        try:
            await asyncio.to_thread(
                self.client.head_object, Bucket=self.bucket, Key=self._object(key)
            )
        except Exception as exc:
            if _is_missing(exc):
                return False
            raise
        return True

    async def list_keys(self, older_than: datetime) -> list[str]:
        return await asyncio.to_thread(self._list_keys, older_than)

    def _list_keys(self, older_than: datetime) -> list[str]:
        keys = []
        for page in _pages(self.client, self.bucket, self.prefix):
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix) :]
                if _KEY_PATTERN.match(name) and item["LastModified"] < older_than:
                    keys.append(name)
        return keys


def _pages(client: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        page = client.list_objects_v2(**kwargs)
        yield page
        if not page.get("IsTruncated"):
            return
        token = page.get("NextContinuationToken")


def _is_missing(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


# --- the store services use ---------------------------------------------------------------------


def _is_store_fault(exc: BaseException) -> bool:
    """An error of the store itself rather than of the request or of this code: the operating
    system's (ENOSPC, EROFS, EACCES, EIO, ...) or the S3 client library's."""
    if isinstance(exc, OSError):
        return True
    return type(exc).__module__.split(".")[0] in {"botocore", "boto3"}


@contextlib.contextmanager
def _store_faults() -> Iterator[None]:
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:
        if not _is_store_fault(exc):
            raise
        # The reason, never a path or a message (an S3 message may quote a key or a bucket).
        code = getattr(exc, "errno", None)
        log.warning(
            "file store unavailable",
            extra={
                "error_type": type(exc).__name__,
                "errno": errno.errorcode.get(code, str(code)) if code is not None else None,
            },
        )
        raise StorageUnavailable() from exc


async def _faults_mapped(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    with _store_faults():
        async for chunk in chunks:
            yield chunk


class FileStore:
    """Encrypted files over a backend."""

    def __init__(self, backend: StorageBackend, master_key: str | Sequence[str]) -> None:
        self.backend = backend
        keys = [master_key] if isinstance(master_key, str) else list(master_key)
        # Newest first: the first encrypts, any of them decrypts.
        self._keks = [_key_encryption_key(k) for k in keys]
        self._kek = self._keks[0]

    async def save(self, plaintext: AsyncIterator[bytes]) -> str:
        """Encrypt and store ``plaintext`` under a new random key and return the key.

        If ``plaintext`` (or the backend) raises, nothing is left in storage.
        """
        key = new_key()
        encryptor = FileEncryptor(self._kek, key)

        async def sealed() -> AsyncIterator[bytes]:
            yield encryptor.header
            async for piece in plaintext:
                out = encryptor.update(piece)
                if out:
                    yield out
            yield encryptor.finalize()

        with _store_faults():
            await self.backend.put(key, sealed())
        return key

    def open(self, key: str) -> AsyncIterator[bytes]:
        """The decrypted bytes, streamed; raises ``ObjectMissing`` / ``IntegrityError``."""
        return decrypt_stream(self._keks, key, _faults_mapped(self.backend.get(key)))

    async def is_current(self, key: str) -> bool:
        """Whether the object was written under the newest key (its header unwraps with it)."""
        chunks = _faults_mapped(self.backend.get(key))
        header = bytearray()
        try:
            async for piece in chunks:
                header += piece
                if len(header) >= _HEADER_SIZE:
                    break
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()
        try:
            _open_header(self._kek, key, bytes(header[:_HEADER_SIZE]))
        except IntegrityError:
            return False
        return True

    async def reencrypt(self, key: str) -> bool:
        """Rewrite the object under the newest key, in place (same storage key: no row
        changes; the backend replaces it atomically, a reader already streaming it keeps the
        old bytes). False when it already was (idempotent, so a rotation can be resumed)."""
        if await self.is_current(key):
            return False
        encryptor = FileEncryptor(self._kek, key)
        plaintext = self.open(key)

        async def sealed() -> AsyncIterator[bytes]:
            yield encryptor.header
            async for piece in plaintext:
                out = encryptor.update(piece)
                if out:
                    yield out
            yield encryptor.finalize()

        with _store_faults():
            await self.backend.put(key, sealed())
        return True

    async def delete(self, key: str) -> None:
        with _store_faults():
            await self.backend.delete(key)

    async def discard(self, key: str) -> None:
        """Delete bytes that must not stay (a refused or rolled-back upload) without raising:
        if the store fails now, the orphan sweep removes them later."""
        try:
            await self.delete(key)
        except Exception:
            log.warning("stored object left for the orphan sweep")

    async def exists(self, key: str) -> bool:
        with _store_faults():
            return await self.backend.exists(key)

    async def list_keys(self, older_than: datetime | None = None) -> list[str]:
        return await self.backend.list_keys(older_than or clock.now())


def local_root(settings: Settings) -> Path:
    return settings.storage_dir or settings.data_dir / "files"


def file_store_from_settings(settings: Settings) -> FileStore:
    backend: StorageBackend
    if settings.storage_backend == "s3":
        backend = S3Storage.from_settings(settings)
    else:
        backend = LocalStorage(local_root(settings))
    return FileStore(backend, settings.encryption_keys)


def hmis_file_store_from_settings(settings: Settings) -> FileStore:
    """Where HMIS CSV export zips and uploaded import zips are kept: a local directory of its
    own (``CAS_HMIS_FILES_DIR``), encrypted like documents, apart from the documents' store so
    its housekeeping never mistakes them for orphaned documents."""
    return FileStore(LocalStorage(settings.hmis_dir), settings.encryption_keys)
