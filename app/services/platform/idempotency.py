"""Idempotency records: the first response to an ``Idempotency-Key``, stored with the work it
stands for, replayed for a retry (the HTTP side is ``app.http.uow``).

A key belongs to a scope (the user, the acting organization, the operation and the path). While
a request with a key is in flight the key is locked (a transaction-level advisory lock). Stored
responses hold client data: they are sealed (AES-256-GCM, a key derived from the field
encryption key for this purpose), bound to their scope and key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from app.models import IdempotencyRecord
from app.services.platform.crypto import Keys, seal, unseal

_SEAL_PURPOSE = "idempotent-response"


@dataclass(frozen=True)
class StoredResponse:
    request_hash: str
    status_code: int
    headers: dict[str, str]
    body: bytes


def _lock_id(scope: str, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{scope}\n{key}".encode()).digest()[:8], signed=True)


def _associated(scope: str, key: str) -> bytes:
    return f"idempotency:{scope}\n{key}".encode()


async def try_lock(session: AsyncSession, scope: str, key: str) -> bool:
    """Hold the key until the transaction ends (False: another request holds it now)."""
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(_lock_id(scope, key)))))


async def stored_response(
    session: AsyncSession, scope: str, key: str, *, field_key: Keys
) -> StoredResponse | None:
    """The response stored for the key, unsealed; None when there is none. 409 when it can no
    longer be unsealed (the field encryption key changed)."""
    record = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
        )
    )
    if record is None:
        return None
    try:
        body = unseal(
            record.response_body,
            key=field_key,
            purpose=_SEAL_PURPOSE,
            associated=_associated(scope, key),
        )
    except (ValueError, InvalidTag):
        raise Conflict(
            "The first response to this Idempotency-Key can no longer be replayed; send the "
            "request again with a new key."
        ) from None
    return StoredResponse(
        request_hash=record.request_hash,
        status_code=record.status_code,
        headers=dict(record.response_headers),
        body=body,
    )


def store_response(
    session: AsyncSession,
    scope: str,
    key: str,
    *,
    request_hash: str,
    status_code: int,
    headers: Mapping[str, str],
    body: bytes,
    field_key: Keys,
) -> None:
    """Remember the response, in the transaction of the work it stands for."""
    session.add(
        IdempotencyRecord(
            scope=scope,
            key=key,
            request_hash=request_hash,
            status_code=status_code,
            response_headers=dict(headers),
            response_body=seal(
                body, key=field_key, purpose=_SEAL_PURPOSE, associated=_associated(scope, key)
            ),
        )
    )
