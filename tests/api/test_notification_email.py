"""Notification emails: rendered from templates (text and HTML) into the outbox, links to the
front end, nothing about the client beyond its id; fan-out and delivery are idempotent."""

from __future__ import annotations

import email
import uuid
from email import policy
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import jobs as app_jobs
from app.config import Settings
from app.models import EmailMessage
from app.models.jobs import Job
from app.models.notifications import Notification
from app.permissions import Role
from app.reference.notifications import NotificationKind
from app.services.platform import events
from tests.conftest import Auth, World
from tests.support.actors import make_actor
from tests.support.notifications import FAN_OUT, intake, run_jobs


async def status_change(db: AsyncSession, world: World, placed: dict[str, Any]) -> None:
    admin = make_actor(
        Role.CAS_ADMIN,
        world.org_id("cas"),
        coc=world.home.coc.id,
        kind="cas",
        user_id=world.user_id("cas_admin"),
    )
    events.emit(
        db,
        admin,
        NotificationKind.QUEUE_INTAKE_STATUS_CHANGED.value,
        entity_type="queue_entry",
        entity_id=uuid.UUID(placed["queue_entry"]["id"]),
        client_id=uuid.UUID(placed["client"]["id"]),
        data={
            "from": "pending",
            "to": "incomplete_documentation",
            "queue_entry_id": placed["queue_entry"]["id"],
        },
    )
    await db.flush()


async def test_an_email_from_the_templates_with_links_to_the_front_end_and_no_pii(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    tmp_path: Path,
) -> None:
    settings = test_settings.model_copy(
        update={"frontend_base_url": "https://cas.example.org/app/", "data_dir": tmp_path}
    )
    placed = await intake(client, await auth.headers("case_manager2", org="access_point_2"))
    await status_change(db, world, placed)
    await run_jobs(sessionmaker, settings, FAN_OUT)
    [message] = (await db.scalars(select(EmailMessage))).all()
    [notification] = (
        await db.scalars(
            select(Notification).where(
                Notification.kind == "queue.intake_status_changed",
                Notification.user_id == world.user_id("case_manager2"),
            )
        )
    ).all()
    assert message.to_address == "case_manager2@demo.example"
    assert message.subject == "[CAS] A queue intake status changed"
    assert message.template == "notification:queue.intake_status_changed"
    # The links name the organization it reached them through: the front end acts for it
    # (the inbox shows what came through the organization one acts for).
    org = world.org_id("access_point_2")
    assert notification.organization_id == org
    link = f"https://cas.example.org/app/notifications/{notification.id}?organization_id={org}"
    client_link = (
        f"https://cas.example.org/app/clients/{placed['client']['id']}?organization_id={org}"
    )
    assert link in message.body and client_link in message.body
    assert "from pending to incomplete_documentation" in message.body
    assert message.html_body is not None
    assert f'href="{link}"' in message.html_body and "<h2>" in message.html_body
    assert notification.emailed is True
    for secret in ("Jordan", "Rivera", placed["client"]["first_name"], "Riley Case"):
        assert secret not in message.body and secret not in message.html_body

    sent = await app_jobs.deliver_emails(sessionmaker, settings)
    assert sent == 1
    [eml] = (tmp_path / "outbox").glob("*.eml")
    parsed = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert parsed["Message-ID"] == f"<{message.id}@cas.outbox>"
    assert parsed.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_content() for p in parsed.iter_parts()}
    assert link in parts["text/plain"] and f'href="{link}"' in parts["text/html"]
    await db.refresh(message)
    assert message.sent_at is not None and message.html_body is None


async def test_fan_out_and_delivery_twice_send_nothing_twice(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    tmp_path: Path,
) -> None:
    settings = test_settings.model_copy(update={"data_dir": tmp_path})
    placed = await intake(client, await auth.headers("case_manager2", org="access_point_2"))
    await status_change(db, world, placed)
    await run_jobs(sessionmaker, settings, FAN_OUT)
    assert await app_jobs.deliver_emails(sessionmaker, settings) == 1

    # Every job runs again (a retry after a crash between its work and its "done" mark).
    await db.execute(update(Job).values(status="queued", run_after=func.now(), finished_at=None))
    await db.flush()
    await run_jobs(sessionmaker, settings)
    assert await db.scalar(select(func.count()).select_from(Notification)) == 3
    assert await db.scalar(select(func.count()).select_from(EmailMessage)) == 1
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
