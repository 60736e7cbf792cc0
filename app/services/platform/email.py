"""Email outbox: messages are written in the request's transaction and delivered afterwards.

A row whose template ends in ``_request`` is not a message but a request for one (e.g. a
password reset asked for by address): the package that wrote it resolves it into a message, or
drops it, before delivery (see ``app.jobs.deliver_emails``); ``deliver_pending`` never sends one.

The default sender writes each message as a ``.eml`` file under ``CAS_DATA_DIR/outbox``;
``CAS_EMAIL_SENDER=smtp`` delivers through the configured SMTP server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
from email.message import EmailMessage as MimeMessage
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import EmailMessage
from app.security import utcnow

log = logging.getLogger(__name__)

DELIVERED_BODY = "[delivered; body removed]"
# Templates of rows that are requests for a message, resolved by their owner, never sent.
REQUEST_SUFFIX = "_request"


def enqueue(session: AsyncSession, *, to: str, subject: str, body: str, template: str) -> None:
    session.add(EmailMessage(to_address=to, subject=subject, body=body, template=template))


class Sender(Protocol):
    def send(self, message: MimeMessage) -> None: ...


class FileSender:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: MimeMessage) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{utcnow().strftime('%Y%m%dT%H%M%S%f')}-{message['Message-ID-Local']}.eml"
        del message["Message-ID-Local"]
        # Messages hold single-use tokens: created readable by the owner only (never a window
        # in which the file exists with wider permissions).
        fd = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(message))


class SmtpSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, message: MimeMessage) -> None:
        s = self.settings
        assert s.smtp_host, "CAS_SMTP_HOST is required for the smtp sender"
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password or "")
            smtp.send_message(message)


def sender_for(settings: Settings) -> Sender:
    if settings.email_sender == "smtp":
        return SmtpSender(settings)
    return FileSender(settings.outbox_dir)


async def deliver_pending(session: AsyncSession, settings: Settings, *, batch: int = 50) -> int:
    """Send pending messages; each is marked sent (or its error kept) in the caller's txn.
    Requests (``REQUEST_SUFFIX``) are left for their owner to resolve."""
    sender = sender_for(settings)
    rows = (
        await session.scalars(
            select(EmailMessage)
            .where(
                EmailMessage.sent_at.is_(None),
                EmailMessage.attempts < 5,
                ~EmailMessage.template.endswith(REQUEST_SUFFIX, autoescape=True),
            )
            .order_by(EmailMessage.created_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).all()
    sent = 0
    for row in rows:
        mime = MimeMessage()
        mime["From"] = settings.email_from
        mime["To"] = row.to_address
        mime["Subject"] = row.subject
        mime["Message-ID-Local"] = str(row.id)
        mime.set_content(row.body)
        row.attempts += 1
        try:
            await asyncio.to_thread(sender.send, mime)
        except Exception as exc:  # delivery is retried; never lose the message
            row.last_error = type(exc).__name__
            log.warning(
                "email delivery failed",
                extra={"email_id": str(row.id), "error_type": type(exc).__name__},
            )
            continue
        row.sent_at = utcnow()
        # Bodies can hold single-use tokens; once delivered they are not kept in the database.
        row.body = DELIVERED_BODY
        sent += 1
    await session.flush()
    return sent
