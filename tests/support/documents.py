"""Helpers shared by the Document Check and Client Files tests."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent, Client
from app.services.clients import access as client_access

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\nSECRET-MARKER-123-45-6789\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32 + b"SECRET-MARKER-PNG"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"This program cannot be run"


async def make_client(
    db: AsyncSession,
    world: Any,
    *,
    org: str = "access_point_1",
    enrolled_in_cas: bool = True,
    coc: str = "home",
) -> Client:
    """A client created by ``org`` and (optionally) enrolled in CE, so the CAS org sees it."""
    seeded = getattr(world, coc)
    client = Client(
        id=uuid.uuid4(),
        coc_id=seeded.coc.id,
        created_by_organization_id=seeded.orgs[org].id,
        first_name="Docu",
        last_name="Ment",
        name_data_quality=1,
    )
    db.add(client)
    await db.flush()
    await client_access.grant(db, client.id, seeded.orgs[org].id, "created")
    if enrolled_in_cas:
        await client_access.grant(db, client.id, seeded.orgs["cas"].id, "enrolled")
    await db.flush()
    return client


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def count(db: AsyncSession, model: Any, *where: Any) -> int:
    return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def audit_rows(db: AsyncSession, action: str, entity_id: uuid.UUID) -> list[AuditEvent]:
    return list(
        (
            await db.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == action, AuditEvent.entity_id == entity_id
                )
            )
        ).all()
    )


def file_part(content: bytes, name: str = "scan.pdf", ctype: str = "application/pdf") -> Any:
    return {"file": (name, content, ctype)}


BOUNDARY = "cas-test-boundary-7f3a"


def multipart(
    parts: Sequence[tuple[str, bytes | str, str | None]], boundary: str = BOUNDARY
) -> tuple[dict[str, str], bytes]:
    """A hand-built multipart/form-data body, parts in the order given: (name, value,
    filename or None for a text field). Returns the Content-Type header and the body."""
    body = bytearray()
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            body += b"Content-Type: application/octet-stream\r\n"
        body += b"\r\n" + (value.encode() if isinstance(value, str) else value) + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return {"content-type": f"multipart/form-data; boundary={boundary}"}, bytes(body)


async def asgi_get_streamed(
    app: Any, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], str, int]:
    """GET through the ASGI app, hashing the body as it streams (httpx's ASGI transport would
    collect the whole body in memory). Returns status, headers, sha256 and size."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    state: dict[str, Any] = {"status": 0, "headers": {}, "size": 0}
    digest = hashlib.sha256()
    request_sent = False
    never = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await never.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            state["status"] = message["status"]
            state["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            digest.update(body)
            state["size"] += len(body)

    await app(scope, receive, send)
    return state["status"], state["headers"], digest.hexdigest(), state["size"]


def assert_no_leak(r: httpx.Response) -> None:
    """A refusal says nothing about the hidden collection (no counts, no items)."""
    body = r.json()
    assert set(body) <= {"type", "title", "status", "detail", "instance", "errors"}
