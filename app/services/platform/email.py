"""Email outbox: messages are written in the request's transaction and delivered afterwards by a
job (``email.deliver``, one per message, queued with it).

A row whose template ends in ``_request`` is not a message but a request for one (e.g. a
password reset asked for by address): the package that wrote it resolves it into a message, or
drops it, before delivery (a resolver per template, handed to ``deliver`` by ``app.jobs``); it
is never sent as it is.

Delivery never holds a row lock while talking to the mail server: the job reads the message in
one short transaction, sends it, then marks it sent in another (``deliver``). Once delivered, the
body (which may hold a single-use token) is removed from the database. A crash between sending
and marking can send one message twice; its ``Message-ID`` (the outbox id) stays the same.

The default sender writes each message as a ``.eml`` file under ``CAS_DATA_DIR/outbox``;
``CAS_EMAIL_SENDER=smtp`` delivers through the configured SMTP server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from email.message import EmailMessage as MimeMessage
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import EmailMessage
from app.security import utcnow
from app.services.platform import jobs
from app.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

DELIVERED_BODY = "[delivered; body removed]"
# Templates of rows that are requests for a message, resolved by their owner, never sent.
REQUEST_SUFFIX = "_request"
# The job delivering one message.
DELIVER = "email.deliver"

# Turns a request row into a message (True) or deletes it (False), in the caller's transaction.
Resolver = Callable[[AsyncSession, EmailMessage], Awaitable[bool]]


def enqueue(
    session: AsyncSession,
    *,
    to: str,
    subject: str,
    body: str,
    template: str,
    html: str | None = None,
    max_attempts: int = jobs.DEFAULT_MAX_ATTEMPTS,
    coc_id: uuid.UUID | None = None,
) -> EmailMessage:
    """Queue a message (and its delivery job) in the caller's transaction. ``coc_id``: the CoC
    the message is about (its system admins see and retry the job); None only for the
    deployment's own mail (a password reset request, whose account is not looked up yet)."""
    message = EmailMessage(
        id=uuid.uuid4(),
        to_address=to,
        subject=subject,
        body=body,
        html_body=html,
        template=template,
        attempts=0,
    )
    session.add(message)
    jobs.add(
        session,
        DELIVER,
        {"email_id": str(message.id)},
        coc_id=coc_id,
        dedupe_key=f"email:{message.id}",
        max_attempts=max_attempts,
    )
    return message


class Sender(Protocol):
    def send(self, message: MimeMessage) -> None: ...


class FileSender:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: MimeMessage) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{utcnow().strftime('%Y%m%dT%H%M%S%f')}-{message['X-CAS-Outbox-Id']}.eml"
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
        if not s.smtp_host:
            raise jobs.JobFailed("CAS_SMTP_HOST is required for the smtp sender")
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


def mime_message(row: EmailMessage, settings: Settings) -> MimeMessage:
    """The message as sent: text, and HTML as an alternative when there is one."""
    mime = MimeMessage()
    mime["From"] = settings.email_from
    mime["To"] = row.to_address
    mime["Subject"] = row.subject
    mime["Message-ID"] = f"<{row.id}@cas.outbox>"
    mime["X-CAS-Outbox-Id"] = str(row.id)
    mime.set_content(row.body)
    if row.html_body:
        mime.add_alternative(row.html_body, subtype="html")
    return mime


async def deliver(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    email_id: uuid.UUID,
    *,
    resolvers: Mapping[str, Resolver],
    sender: Sender | None = None,
) -> bool:
    """Send one outbox message (the ``email.deliver`` job); whether it was sent now. Already
    sent, or a request its resolver dropped: nothing to do. A failed send raises (the job is
    retried) after noting the error on the row."""
    async with unit_of_work(sessionmaker) as session:
        row = await session.get(EmailMessage, email_id, with_for_update=True)
        if row is None or row.sent_at is not None:
            return False
        if row.template.endswith(REQUEST_SUFFIX):
            resolver = resolvers.get(row.template)
            if resolver is None:
                raise jobs.JobFailed(f"no resolver for the {row.template} request")
            if not await resolver(session, row):
                return False
        row.attempts += 1
        mime = mime_message(row, settings)
    # Committed: nothing is locked while the mail server is talked to.
    try:
        await asyncio.to_thread((sender or sender_for(settings)).send, mime)
    except Exception as exc:
        async with unit_of_work(sessionmaker) as session:
            failed = await session.get(EmailMessage, email_id)
            if failed is not None:
                failed.last_error = type(exc).__name__
        log.warning(
            "email delivery failed",
            extra={"email_id": str(email_id), "error_type": type(exc).__name__},
        )
        raise jobs.JobFailed(f"email delivery failed ({type(exc).__name__})") from exc
    async with unit_of_work(sessionmaker) as session:
        sent = await session.get(EmailMessage, email_id)
        if sent is not None:
            sent.sent_at = utcnow()
            # Bodies can hold single-use tokens; once delivered they are not kept.
            sent.body = DELIVERED_BODY
            sent.html_body = None
            sent.last_error = None
    return True


async def sent_count(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(EmailMessage).where(EmailMessage.sent_at.is_not(None))
        )
        or 0
    )


async def purge_sent(session: AsyncSession, now: datetime, *, retention_days: int) -> int:
    """Remove messages sent more than ``retention_days`` ago (maintenance); unsent ones stay
    for their retries."""
    result = await session.execute(
        delete(EmailMessage).where(
            EmailMessage.sent_at.is_not(None),
            EmailMessage.sent_at < now - timedelta(days=retention_days),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
