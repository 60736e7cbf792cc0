"""Reading an uploaded FY2026 zip safely: what it holds is checked before a byte is inflated.

* not a zip (or a damaged one): ``not_a_zip``;
* more entries than ``max_entries``: ``too_many_entries``;
* a path that is absolute, climbs (``..``) or uses backslashes: ``unsafe_path`` (nothing in
  the archive is ever written to disk under its own name anyway);
* more than ``max_uncompressed_bytes`` once inflated, or an entry inflating more than
  ``max_ratio`` times its stored size (a zip bomb): ``too_large``; reading never inflates more
  than an entry declares (``zipfile`` stops at the declared size and checks the CRC);
* encrypted entries: ``encrypted_entry``; the same file twice: ``duplicate_entry``.

The CSV files may sit at the top of the archive or in one folder; their names are matched
without regard to case (``client.csv`` is ``Client.csv``). Files are read as UTF-8 with or
without a byte order mark, lines ending in CRLF or LF.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from app.reference.hmis_csv import FILES, Issue, severity

BOM = codecs.BOM_UTF8
CHUNK = 1 << 20
_HEADER_LIMIT = 64 * 1024
_IGNORED_PREFIXES = ("__MACOSX/",)


@dataclass(frozen=True)
class Limits:
    max_entries: int = 64
    max_uncompressed_bytes: int = 4 * 1024**3
    max_ratio: int = 200


@dataclass
class Archive:
    """An opened zip: the FY2026 files it holds (by HUD file name) and what was wrong with it."""

    path: str
    members: dict[str, zipfile.ZipInfo] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    zip: zipfile.ZipFile | None = None

    @property
    def usable(self) -> bool:
        return self.zip is not None and not any(
            i.severity == "high" and i.file is None for i in self.issues
        )

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()
            self.zip = None

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def size(self, file: str) -> int:
        return self.members[file].file_size


def _issue(rule: str, message: str, file: str | None = None) -> Issue:
    return Issue(
        file=file, row=None, column=None, rule=rule, severity=severity(rule), message=message
    )


def _unsafe(name: str) -> bool:
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return True
    return any(part == ".." for part in PurePosixPath(name).parts)


_BY_LOWER = {f"{f.lower()}.csv": f for f in FILES}


def open_archive(path: str, limits: Limits) -> Archive:
    """Open the zip at ``path`` and check its entries (see the module's rules). A high
    ``issue`` without a file means the archive cannot be read at all."""
    archive = Archive(path=path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        archive.issues.append(_issue("not_a_zip", "The upload is not a zip archive."))
        return archive
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        zf.close()
        archive.issues.append(
            _issue(
                "too_many_entries",
                f"The archive has {len(infos)} entries; at most {limits.max_entries} are read.",
            )
        )
        return archive
    total = 0
    for info in infos:
        name = info.filename
        if _unsafe(name):
            zf.close()
            archive.issues.append(
                _issue("unsafe_path", "An entry's path is absolute or leaves the archive (..).")
            )
            return archive
        if info.is_dir() or name.startswith(_IGNORED_PREFIXES):
            continue
        total += info.file_size
        stored = max(info.compress_size, 1)
        if info.file_size > 1024 * 1024 and info.file_size / stored > limits.max_ratio:
            zf.close()
            archive.issues.append(
                _issue(
                    "too_large",
                    f"An entry inflates {info.file_size // stored} times its stored size (at "
                    f"most {limits.max_ratio}): refused as a possible zip bomb.",
                )
            )
            return archive
        if info.flag_bits & 0x1:
            archive.issues.append(
                _issue("encrypted_entry", "An entry is encrypted; send an unencrypted zip.")
            )
            continue
        parts = PurePosixPath(name).parts
        file = _BY_LOWER.get(parts[-1].lower())
        if len(parts) > 2 or file is None:
            rule = "unknown_file" if parts[-1].lower().endswith(".csv") else "unexpected_entry"
            archive.issues.append(
                _issue(rule, f"{parts[-1]} is not an FY2026 HMIS CSV file; it is ignored.")
            )
            continue
        if file in archive.members:
            archive.issues.append(
                _issue("duplicate_entry", f"{file}.csv is in the archive more than once.", file)
            )
            continue
        archive.members[file] = info
    if total > limits.max_uncompressed_bytes:
        zf.close()
        archive.issues.append(
            _issue(
                "too_large",
                f"The archive inflates to {total} bytes; at most "
                f"{limits.max_uncompressed_bytes} are read.",
            )
        )
        return archive
    archive.zip = zf
    return archive


def read_header(archive: Archive, file: str) -> list[str] | None:
    """The header line's column names (byte order mark and line end removed), or None when the
    file is empty or its first line is not UTF-8 text."""
    assert archive.zip is not None
    with archive.zip.open(archive.members[file]) as fh:
        head = fh.read(_HEADER_LIMIT)
    if head.startswith(BOM):
        head = head[len(BOM) :]
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    if not line.strip():
        return None
    try:
        decoded = line.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return next(csv.reader([decoded]))


def iter_bytes(archive: Archive, file: str) -> Iterator[bytes]:
    """The file's bytes in chunks, the byte order mark dropped."""
    assert archive.zip is not None
    with archive.zip.open(archive.members[file]) as fh:
        first = True
        while chunk := fh.read(CHUNK):
            if first:
                first = False
                if chunk.startswith(BOM):
                    chunk = chunk[len(BOM) :]
            yield chunk


async def stream_bytes(archive: Archive, file: str) -> AsyncIterator[bytes]:
    """``iter_bytes`` with the inflating done on a worker thread (never on the event loop)."""
    chunks = iter_bytes(archive, file)
    done = object()
    while True:
        chunk = await asyncio.to_thread(next, chunks, done)
        if chunk is done:
            return
        assert isinstance(chunk, bytes)
        yield chunk


def iter_records(archive: Archive, file: str) -> Iterator[list[str]]:
    """The file's records after the header, as parsed by ``csv`` (UTF-8; a decoding error
    raises ``UnicodeDecodeError``)."""
    decoder = codecs.getincrementaldecoder("utf-8")()

    def lines() -> Iterator[str]:
        pending = ""
        for chunk in iter_bytes(archive, file):
            pending += decoder.decode(chunk)
            *complete, pending = pending.split("\n")
            for line in complete:
                yield line + "\n"
        pending += decoder.decode(b"", final=True)
        if pending:
            yield pending

    reader = csv.reader(lines())
    next(reader, None)
    yield from reader
