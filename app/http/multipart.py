"""Streaming ``multipart/form-data``: the request body is parsed as it arrives.

Starlette's ``request.form()`` (behind FastAPI's ``Form``/``File`` parameters) spools every file
part over 1 MB to an unencrypted temporary file before the route sees it. Uploads of client
documents must never touch disk as plaintext, so the upload routes read the body themselves:

    reader = MultipartReader.from_request(request)       # 415 / 400 before reading anything
    while (part := await reader.next_part()) is not None:
        if part.name == "file":
            chunk = await part.read(65536)               # b"" at the end of the part
        else:
            value = await part.text()                    # small text fields, size-capped

Only one chunk of the request body (as delivered by the server) is held at a time; the bytes of
a part not read by the caller are skipped. Limits: ``max_parts`` parts, ``max_header_bytes`` of
headers per part, ``text()`` at most ``FIELD_LIMIT`` bytes. A malformed or truncated body is a
400 problem, a body that is not ``multipart/form-data`` (or has no boundary) 415 / 400, a text
field that is too long or not UTF-8 a 422 naming the field.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import Enum, auto

from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from starlette.requests import Request

from app.errors import BadRequest, UnsupportedMediaType, ValidationFailed

FIELD_LIMIT = 64 * 1024
MAX_PARTS = 32
MAX_HEADER_BYTES = 16 * 1024


class _Kind(Enum):
    BEGIN = auto()
    HEADER = auto()
    HEADERS_DONE = auto()
    DATA = auto()
    PART_END = auto()
    BODY_END = auto()


_Event = tuple[_Kind, bytes, bytes]
_NO_BYTES = b""


def _decode(raw: bytes) -> str:
    """Header parameters (field names, file names): UTF-8 as browsers send them, else Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


@dataclass
class Part:
    """One part of the body. Read it (``read``/``text``) before asking for the next part."""

    name: str
    filename: str | None
    content_type: str | None
    _reader: MultipartReader = field(repr=False)

    async def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the part (at most one received chunk when ``size`` < 0);
        ``b""`` only at the end of the part."""
        return await self._reader._read(self, size)

    async def text(self, limit: int = FIELD_LIMIT) -> str:
        """The whole part as UTF-8 text; 422 naming the field when over ``limit`` bytes or not
        valid UTF-8."""
        value = bytearray()
        while chunk := await self.read(limit + 1 - len(value)):
            value += chunk
            if len(value) > limit:
                raise ValidationFailed(f"The field is longer than {limit} bytes.", field=self.name)
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed("The field is not valid UTF-8 text.", field=self.name) from None


class MultipartReader:
    """Pull parts out of a streamed ``multipart/form-data`` body (python-multipart's push parser
    fed one received chunk at a time)."""

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        boundary: bytes,
        *,
        max_parts: int = MAX_PARTS,
        max_header_bytes: int = MAX_HEADER_BYTES,
    ) -> None:
        self._chunks = chunks
        self._events: deque[_Event] = deque()
        self._max_parts = max_parts
        self._max_header_bytes = max_header_bytes
        self._parts = 0
        self._header_bytes = 0
        self._field = bytearray()
        self._value = bytearray()
        self._complete = False
        self._current: Part | None = None
        self._part_ended = True
        self._pending = _NO_BYTES
        self._offset = 0
        try:
            self._parser = MultipartParser(
                boundary,
                {
                    "on_part_begin": self._on_part_begin,
                    "on_header_field": self._on_header_field,
                    "on_header_value": self._on_header_value,
                    "on_header_end": self._on_header_end,
                    "on_headers_finished": self._on_headers_finished,
                    "on_part_data": self._on_part_data,
                    "on_part_end": self._on_part_end,
                    "on_end": self._on_end,
                },
            )
        except FormParserError:
            raise BadRequest("The multipart boundary is not valid.") from None

    @classmethod
    def from_request(cls, request: Request, **limits: int) -> MultipartReader:
        """415 unless the body is ``multipart/form-data``; 400 without a boundary."""
        media_type, options = parse_options_header(request.headers.get("content-type"))
        if media_type != b"multipart/form-data":
            raise UnsupportedMediaType("The request body must be multipart/form-data.")
        boundary = options.get(b"boundary", _NO_BYTES)
        if not boundary:
            raise BadRequest("The multipart/form-data content type has no boundary.")
        return cls(request.stream(), boundary, **limits)

    # --- parser callbacks (they only queue events) ----------------------------------------------

    def _on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > self._max_parts:
            raise BadRequest(f"The request has more than {self._max_parts} parts.")
        self._header_bytes = 0
        self._events.append((_Kind.BEGIN, _NO_BYTES, _NO_BYTES))

    def _count_header(self, length: int) -> None:
        self._header_bytes += length
        if self._header_bytes > self._max_header_bytes:
            raise BadRequest("A part's headers are too large.")

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        self._events.append((_Kind.HEADER, bytes(self._field).lower(), bytes(self._value)))
        self._field.clear()
        self._value.clear()

    def _on_headers_finished(self) -> None:
        self._events.append((_Kind.HEADERS_DONE, _NO_BYTES, _NO_BYTES))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if end > start:
            self._events.append((_Kind.DATA, data[start:end], _NO_BYTES))

    def _on_part_end(self) -> None:
        self._events.append((_Kind.PART_END, _NO_BYTES, _NO_BYTES))

    def _on_end(self) -> None:
        self._complete = True
        self._events.append((_Kind.BODY_END, _NO_BYTES, _NO_BYTES))

    # --- pulling --------------------------------------------------------------------------------

    async def _next_event(self) -> _Event:
        while not self._events:
            if self._complete:
                return (_Kind.BODY_END, _NO_BYTES, _NO_BYTES)
            chunk = await anext(self._chunks, None)
            if chunk is None:
                raise BadRequest("The multipart body ended before its closing boundary.")
            if not chunk:
                continue
            try:
                self._parser.write(chunk)
            except FormParserError:
                raise BadRequest("The multipart body is malformed.") from None
        return self._events.popleft()

    async def next_part(self) -> Part | None:
        """The next part (the rest of the current one is skipped), or None after the last."""
        while not self._part_ended:
            kind, _, _ = await self._next_event()
            self._part_ended = kind is _Kind.PART_END
        self._current = None
        self._pending, self._offset = _NO_BYTES, 0
        kind, _, _ = await self._next_event()
        if kind is _Kind.BODY_END:
            return None
        if kind is not _Kind.BEGIN:
            raise BadRequest("The multipart body is malformed.")
        disposition: bytes | None = None
        content_type: bytes | None = None
        while True:
            kind, header, value = await self._next_event()
            if kind is _Kind.HEADERS_DONE:
                break
            if kind is not _Kind.HEADER:
                raise BadRequest("The multipart body is malformed.")
            if header == b"content-disposition":
                disposition = value
            elif header == b"content-type":
                content_type = value
        disposition_type, options = parse_options_header(disposition)
        if disposition_type != b"form-data" or b"name" not in options:
            raise BadRequest("Each part needs a 'Content-Disposition: form-data; name=...' header.")
        filename = options.get(b"filename")
        self._part_ended = False
        self._current = Part(
            name=_decode(options[b"name"]),
            filename=_decode(filename) if filename is not None else None,
            content_type=_decode(content_type).strip() if content_type else None,
            _reader=self,
        )
        return self._current

    async def _read(self, part: Part, size: int) -> bytes:
        if part is not self._current or size == 0:
            return _NO_BYTES
        while self._offset >= len(self._pending):
            if self._part_ended:
                return _NO_BYTES
            kind, data, _ = await self._next_event()
            if kind is _Kind.PART_END:
                self._part_ended = True
            elif kind is _Kind.DATA:
                self._pending, self._offset = data, 0
            else:
                raise BadRequest("The multipart body is malformed.")
        start = self._offset
        end = len(self._pending) if size < 0 else min(len(self._pending), start + size)
        self._offset = end
        if start == 0 and end == len(self._pending):
            return self._pending
        return self._pending[start:end]
