"""The production sender: a notification email goes out over SMTP to a local mail server (text
and HTML, from ``CAS_EMAIL_FROM``, its outbox id as ``Message-ID``); a refusal by the server is
a failure kept for a retry; ``CAS_EMAIL_SENDER=smtp`` without a host is refused at start."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.jobs import deliver_emails
from app.models import EmailMessage
from app.services.platform import email
from tests.conftest import Auth, World
from tests.support.notifications import FAN_OUT, intake, run_jobs


@dataclass
class MailServer:
    port: int = 0
    refuse: bool = False
    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)


@contextmanager
def mail_server(refuse: bool = False) -> Iterator[MailServer]:
    """A minimal SMTP server (EHLO, MAIL, RCPT, DATA, QUIT) on 127.0.0.1, in a thread."""
    box = MailServer(refuse=refuse)

    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self) -> None:
            sender, rcpts = "", []
            self.reply("220 test ESMTP")
            while line := self.rfile.readline():
                verb = line.decode().strip()
                upper = verb.upper()
                if upper.startswith(("EHLO", "HELO")):
                    self.reply("250 test")
                elif upper.startswith("MAIL FROM:"):
                    sender = verb[10:].strip()
                    self.reply("250 ok")
                elif upper.startswith("RCPT TO:"):
                    if box.refuse:
                        self.reply("550 no such mailbox")
                    else:
                        rcpts.append(verb[8:].strip())
                        self.reply("250 ok")
                elif upper == "DATA":
                    self.reply("354 go on")
                    data = b""
                    while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                        data += chunk[1:] if chunk.startswith(b"..") else chunk
                    box.received.append((sender, rcpts, data))
                    self.reply("250 queued")
                elif upper == "RSET" or upper == "NOOP":
                    self.reply("250 ok")
                elif upper == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("502 not implemented")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    box.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()


def smtp_settings(settings: Settings, port: int) -> Settings:
    return settings.model_copy(
        update={
            "email_sender": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_starttls": False,
            "email_from": "CAS <cas@demo.example>",
            "frontend_base_url": "https://app.demo.example",
        }
    )


async def test_a_notification_email_goes_out_over_smtp(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    # cas_admin asked for emails of outcome changes; case_manager2 places a household.
    r = await client.put(
        "/api/v1/notifications/preferences",
        json={"kind": "enrollment.outcome_changed", "email": True},
        headers=await auth.headers("cas_admin", org="cas"),
    )
    assert r.status_code == 200, r.text
    placed = await intake(client, await auth.headers("case_manager2", org="access_point_2"))
    with mail_server() as server:
        settings = smtp_settings(test_settings, server.port)
        await run_jobs(sessionmaker, settings, FAN_OUT)
        assert await deliver_emails(sessionmaker, settings) == 1
    [(sender, rcpts, data)] = server.received
    assert sender == "<cas@demo.example>" and rcpts == ["<cas_admin@demo.example>"]
    parsed: Any = message_from_bytes(data, policy=policy.default)
    row = await db.scalar(select(EmailMessage))
    assert row is not None and row.sent_at is not None and row.attempts == 1
    assert parsed["Message-ID"] == f"<{row.id}@cas.outbox>"
    assert parsed["Subject"] == "[CAS] A Coordinated Entry outcome changed"
    assert parsed.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_content() for p in parsed.iter_parts()}
    client_link = f"https://app.demo.example/clients/{placed['client']['id']}"
    assert client_link in parts["text/plain"] and client_link in parts["text/html"]
    # No names: the client is named by its id.
    last_name = placed["client"].get("last_name")
    assert last_name and last_name not in data.decode()


async def test_a_refusing_mail_server_is_a_failure_kept_for_retry(
    db: AsyncSession,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    email.enqueue(db, to="someone@demo.example", subject="Hi", body="Hello", template="test")
    await db.flush()
    with mail_server(refuse=True) as server:
        assert await deliver_emails(sessionmaker, smtp_settings(test_settings, server.port)) == 0
        assert server.received == []
    row = await db.scalar(select(EmailMessage))
    assert row is not None and row.sent_at is None and row.body == "Hello"
    assert row.attempts == 1 and row.last_error == "SMTPRecipientsRefused"
    # Fixed: the retry sends it.
    with mail_server() as server:
        assert await deliver_emails(sessionmaker, smtp_settings(test_settings, server.port)) == 1
        assert len(server.received) == 1


def test_smtp_without_a_host_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="CAS_SMTP_HOST"):
        Settings(environment="test", email_sender="smtp")
    assert Settings(environment="test", email_sender="smtp", smtp_host="mail.example").smtp_host
