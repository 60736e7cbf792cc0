from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.jobs import deliver_emails
from app.models import EmailMessage


async def test_outbox_file_sender_writes_and_marks_sent(
    client: httpx.AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    tmp_path: Path,
) -> None:
    r = await client.post(
        "/api/v1/auth/password-reset/request", json={"email": "case_manager@demo.example"}
    )
    assert r.status_code == 202
    settings = test_settings.model_copy(update={"data_dir": tmp_path})
    sent = await deliver_emails(sessionmaker, settings)
    assert sent == 1
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1
    text = files[0].read_text()
    assert "To: case_manager@demo.example" in text
    assert "Subject: Reset Password Instructions" in text
    message = await db.scalar(select(EmailMessage))
    assert message is not None and message.sent_at is not None and message.attempts == 1
    assert "Reset" not in message.body and "token" not in message.body  # not kept once sent
    assert await deliver_emails(sessionmaker, settings) == 0  # nothing left to send


async def test_failed_delivery_is_kept_for_retry(
    client: httpx.AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    requested = await client.post(
        "/api/v1/auth/password-reset/request", json={"email": "case_manager@demo.example"}
    )
    assert requested.status_code == 202, requested.text
    settings = test_settings.model_copy(update={"email_sender": "smtp", "smtp_host": None})
    assert await deliver_emails(sessionmaker, settings) == 0
    message = await db.scalar(select(EmailMessage))
    assert message is not None and message.sent_at is None
    assert message.attempts == 1 and message.last_error


async def test_outbox_files_are_readable_by_the_owner_only(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    tmp_path: Path,
) -> None:
    # Messages hold single-use tokens (password reset, invitations).
    requested = await client.post(
        "/api/v1/auth/password-reset/request", json={"email": "case_manager@demo.example"}
    )
    assert requested.status_code == 202, requested.text
    settings = test_settings.model_copy(update={"data_dir": tmp_path})
    previous = os.umask(0o022)  # a usual umask; the mode must not depend on it
    try:
        assert await deliver_emails(sessionmaker, settings) == 1
    finally:
        os.umask(previous)
    [eml] = list((tmp_path / "outbox").glob("*.eml"))
    assert stat.S_IMODE(eml.stat().st_mode) == 0o600
    assert "reset-password?token=" in eml.read_text()
    assert stat.S_IMODE(eml.parent.stat().st_mode) == 0o700
