"""Each trigger of DOMAIN 10 reaches the right people -- and nobody else.

The seeded CoC: ``cas_admin`` (CAS admin), ``case_manager`` (Bridge Access Point and the CAS
organization), ``case_manager2`` (Harbor Outreach Center), ``agency_admin`` (Bridge),
``housing_provider`` (Hope Housing), ``vsp_case_manager`` (a victim service provider),
``system_admin``; a second CoC with the same people. The person whose action caused an event is
never notified of it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.config import Settings
from app.models import Membership
from app.models.enrollments import CaseAssignment
from app.models.notifications import CasContact, Notification
from app.models.queue import QueueEntry
from app.permissions import Role
from app.reference.notifications import Audience, NotificationKind
from app.services.clients import access
from app.services.notifications import kinds, scans
from app.services.notifications.kinds import KindSpec
from app.services.platform import events
from tests.api.test_documents import upload as upload_document_check
from tests.conftest import Auth, World
from tests.support.actors import make_actor
from tests.support.documents import make_client
from tests.support.intake import today
from tests.support.notifications import FAN_OUT, events_of, intake, recipients, run_jobs

K = NotificationKind


def seeded_actor(world: World, user: str, org: str, role: Role) -> Any:
    return make_actor(
        role,
        world.org_id(org),
        coc=world.home.coc.id,
        kind="cas" if org == "cas" else "agency",
        user_id=world.user_id(user),
    )


@pytest.fixture
async def placed(client: httpx.AsyncClient, auth: Auth) -> dict[str, Any]:
    """A household placed on the queue by case_manager2 (Harbor Outreach Center), who is its
    assigned case manager."""
    headers = await auth.headers("case_manager2", org="access_point_2")
    return await intake(client, headers, "placed")


async def test_document_check_upload_notifies_the_cas_admins(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    person = await make_client(db, world)
    r = await upload_document_check(
        client, await auth.headers("case_manager", org="cas"), person.id
    )
    assert r.status_code == 201, r.text
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    # DOMAIN 6: CAS admins; the uploader is not told about their own upload.
    assert await recipients(db, world, K.DOCUMENT_UPLOADED) == {"cas_admin"}
    [n] = (await db.scalars(select(Notification))).all()
    assert n.client_id == person.id and n.organization_id == world.org_id("cas")
    assert n.data["item"] == "identity" and "audience" not in n.data


async def test_client_file_upload_notifies_the_cas_admins(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    person = await make_client(db, world)
    r = await client.post(
        f"/api/v1/clients/{person.id}/files",
        headers=await auth.headers("agency_admin"),
        data={"file_type": "social_security_card"},
        files={"file": ("card.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")},
    )
    assert r.status_code == 201, r.text
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    assert await recipients(db, world, K.DOCUMENT_UPLOADED) == {"cas_admin"}


async def test_outcome_change_notifies_cas_admins_case_managers_and_the_cas_organization(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    placed: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    [event] = await events_of(db, K.ENROLLMENT_OUTCOME_CHANGED)
    assert event.data == {
        "from": None,
        "to": "placed",
        "enrollment_id": placed["enrollment"]["id"],
    }
    # CAS admins, the prioritizing agency users (CAS organization members: case_manager), the
    # assigned case manager (case_manager2, who did it: not told). Nobody else: not the other
    # agencies, not the system admin, not the other CoC.
    assert await recipients(db, world, K.ENROLLMENT_OUTCOME_CHANGED) == {
        "cas_admin",
        "case_manager",
    }


async def test_an_intake_left_pending_changes_no_outcome(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    await intake(client, await auth.headers("case_manager2", org="access_point_2"), "pending")
    assert await events_of(db, K.ENROLLMENT_OUTCOME_CHANGED) == []


async def test_queue_status_change_notifies_who_acts_next(
    db: AsyncSession,
    world: World,
    placed: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    # Written by the queue's intake-status machine, with who acts next as the audience.
    entry_id = placed["queue_entry"]["id"]
    client_id = uuid.UUID(placed["client"]["id"])
    # A second CAS admin (the system admin also holds the role in the CAS organization).
    db.add(
        Membership(
            user_id=world.user_id("system_admin"),
            organization_id=world.org_id("cas"),
            role="cas_admin",
        )
    )
    await db.flush()
    admin = seeded_actor(world, "cas_admin", "cas", Role.CAS_ADMIN)
    manager = seeded_actor(world, "case_manager2", "access_point_2", Role.CASE_MANAGER)

    async def moved(actor: Any, to: str, audience: list[str] | None) -> set[str]:
        data: dict[str, Any] = {"from": "pending", "to": to, "queue_entry_id": entry_id}
        if audience is not None:
            data["audience"] = audience
        event = events.emit(
            db,
            actor,
            K.QUEUE_INTAKE_STATUS_CHANGED.value,
            entity_type="queue_entry",
            entity_id=uuid.UUID(entry_id),
            client_id=client_id,
            data=data,
        )
        await db.flush()
        await run_jobs(sessionmaker, test_settings, FAN_OUT)
        return await recipients(db, world, K.QUEUE_INTAKE_STATUS_CHANGED, event_id=event.id)

    # Marked incomplete by a CAS admin: the case manager acts next.
    assert await moved(admin, "incomplete_documentation", ["case_managers"]) == {"case_manager2"}
    # Sent back for a second review by the case manager: the CAS admins.
    assert await moved(manager, "pending_second_review", ["cas_admins"]) == {
        "cas_admin",
        "system_admin",
    }
    # An event never widens its kind's audiences (housing providers are not one of them).
    assert await moved(admin, "approved", ["case_managers", "provider_contacts"]) == {
        "case_manager2"
    }
    # Without an audience of its own: every audience of the kind (not the actor).
    assert await moved(admin, "approved", None) == {"case_manager2", "system_admin"}


async def test_ninety_days_without_contact_notifies_the_case_manager_once(
    db: AsyncSession,
    world: World,
    placed: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    now = clock.now()
    async with sessionmaker() as session:
        assert await scans.inactive_clients(session, now) == 0  # just had a contact
        await session.commit()
    later = now + timedelta(days=91)
    async with sessionmaker() as session:
        assert await scans.inactive_clients(session, later) == 1
        # The scan runs again (every hour, on any worker): nothing twice.
        assert await scans.inactive_clients(session, later + timedelta(hours=1)) == 0
        await session.commit()
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    assert await recipients(db, world, K.CLIENT_INACTIVE) == {"case_manager2"}
    [event] = await events_of(db, K.CLIENT_INACTIVE)
    assert event.client_id == uuid.UUID(placed["client"]["id"])
    assert event.actor_user_id is None  # the system's, from a scan
    assert event.data["last_contact_on"] == today().isoformat()


async def test_an_expired_document_notifies_those_who_may_see_it(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: Any,
    placed: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    client_id = uuid.UUID(placed["client"]["id"])
    # A second case manager, of the Bridge (who is also a CAS organization member).
    db.add(
        CaseAssignment(
            enrollment_id=uuid.UUID(placed["enrollment"]["id"]),
            client_id=client_id,
            user_id=world.user_id("case_manager"),
            organization_id=world.org_id("access_point_1"),
            start_date=today(),
            status="active",
        )
    )
    await db.flush()
    expired = (today() - timedelta(days=2)).isoformat()
    r = await upload_document_check(
        client,
        await auth.headers("cas_admin", org="cas"),
        client_id,
        issuance_date=(today() - timedelta(days=400)).isoformat(),
        expiration_date=expired,
    )
    assert r.status_code == 201, r.text
    await db.execute(
        update(QueueEntry).values(intake_status="pending")
    )  # not approved: no review needed
    async with sessionmaker() as session:
        found = await scans.expired_documents(session, clock.now(), lookback_days=7)
        assert found == 1
        assert await scans.expired_documents(session, clock.now(), lookback_days=7) == 0
        assert (
            await scans.approved_entries_with_expired_documents(
                session, clock.now(), lookback_days=7
            )
            == 0
        )
        await session.commit()
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    # Document Check is for the CAS organization and admins: case_manager2 (Harbor only) is an
    # assigned case manager but may not know the document exists; case_manager receives it
    # through the CAS organization. The uploader's notice of the upload is another kind.
    assert await recipients(db, world, K.DOCUMENT_EXPIRED) == {"case_manager", "cas_admin"}
    [n] = (
        await db.scalars(
            select(Notification).where(
                Notification.kind == K.DOCUMENT_EXPIRED.value,
                Notification.user_id == world.user_id("case_manager"),
            )
        )
    ).all()
    assert n.organization_id == world.org_id("cas")
    assert n.data["expiration_date"] == expired


async def test_an_expired_client_file_reaches_every_assigned_case_manager(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: Any,
    placed: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    client_id = placed["client"]["id"]
    r = await client.post(
        f"/api/v1/clients/{client_id}/files",
        headers=await auth.headers("cas_admin", org="cas"),
        data={
            "file_type": "social_security_card",
            "issuance_date": (today() - timedelta(days=30)).isoformat(),
            "expiration_date": (today() - timedelta(days=1)).isoformat(),
        },
        files={"file": ("card.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")},
    )
    assert r.status_code == 201, r.text
    async with sessionmaker() as session:
        assert await scans.expired_documents(session, clock.now(), lookback_days=7) == 1
        await session.commit()
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    assert await recipients(db, world, K.DOCUMENT_EXPIRED) == {"case_manager2", "cas_admin"}


async def test_an_approved_entry_whose_document_expired_is_flagged_for_the_cas_admins(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: Any,
    placed: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    entry_id = uuid.UUID(placed["queue_entry"]["id"])
    await db.execute(
        update(QueueEntry).where(QueueEntry.id == entry_id).values(intake_status="approved")
    )
    r = await upload_document_check(
        client,
        await auth.headers("case_manager", org="cas"),
        uuid.UUID(placed["client"]["id"]),
        issuance_date=(today() - timedelta(days=400)).isoformat(),
        expiration_date=(today() - timedelta(days=1)).isoformat(),
    )
    assert r.status_code == 201, r.text
    async with sessionmaker() as session:
        assert (
            await scans.approved_entries_with_expired_documents(
                session, clock.now(), lookback_days=7
            )
            == 1
        )
        await session.commit()
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    assert await recipients(db, world, K.QUEUE_REVIEW_NEEDED) == {"cas_admin"}
    [event] = await events_of(db, K.QUEUE_REVIEW_NEEDED)
    assert event.entity_type == "queue_entry" and event.entity_id == entry_id


async def test_an_entry_whose_expired_document_was_renewed_is_not_flagged(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: Any,
    placed: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    """The old verification expired, but a current one of the same item is on file: nothing
    for the CAS admins to review (the expiry itself is still told to the case managers). An
    expired document of another item, with nothing current for it, still flags the entry."""
    entry_id = uuid.UUID(placed["queue_entry"]["id"])
    client_id = uuid.UUID(placed["client"]["id"])
    await db.execute(
        update(QueueEntry).where(QueueEntry.id == entry_id).values(intake_status="approved")
    )
    cas = await auth.headers("case_manager", org="cas")
    for issued, expires in ((400, -1), (10, 300)):
        r = await upload_document_check(
            client,
            cas,
            client_id,
            issuance_date=(today() - timedelta(days=issued)).isoformat(),
            expiration_date=(today() + timedelta(days=expires)).isoformat(),
        )
        assert r.status_code == 201, r.text
    async with sessionmaker() as session:
        found = await scans.approved_entries_with_expired_documents(
            session, clock.now(), lookback_days=7
        )
        assert found == 0
        assert await scans.expired_documents(session, clock.now(), lookback_days=7) == 1
        await session.commit()
    r = await upload_document_check(
        client,
        cas,
        client_id,
        category="disability",
        item="disability",
        document_type="disability_letter",
        comments="Letter from the clinic",
        issuance_date=(today() - timedelta(days=400)).isoformat(),
        expiration_date=(today() - timedelta(days=1)).isoformat(),
    )
    assert r.status_code == 201, r.text
    async with sessionmaker() as session:
        found = await scans.approved_entries_with_expired_documents(
            session, clock.now(), lookback_days=7
        )
        assert found == 1
        await session.commit()
    [event] = await events_of(db, K.QUEUE_REVIEW_NEEDED)
    assert event.data["document_id"] == r.json()["id"]


async def test_a_providers_cas_contact_hears_of_its_referrals(
    db: AsyncSession,
    world: World,
    placed: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The plumbing of the matching feature's referral kinds: an event naming the project
    (``data.project_id``) reaches the project's own CAS contact, else the organization's --
    once the provider may see the client."""
    kind = K.QUEUE_REVIEW_NEEDED  # stands in for a referral kind (registered by matching)
    monkeypatch.setitem(
        kinds.KINDS,
        kind,
        KindSpec(kind, (Audience.PROVIDER_CONTACTS,), "A referral was sent", email=False),
    )
    housing = world.org_id("housing_1")
    # A second member of Hope Housing, the RRH project's own contact.
    db.add(
        Membership(
            user_id=world.user_id("agency_admin"), organization_id=housing, role="housing_provider"
        )
    )
    db.add(
        CasContact(
            coc_id=world.home.coc.id,
            organization_id=housing,
            user_id=world.user_id("housing_provider"),
        )
    )
    db.add(
        CasContact(
            coc_id=world.home.coc.id,
            organization_id=housing,
            project_id=world.project_id("h1_rrh"),
            user_id=world.user_id("agency_admin"),
        )
    )
    await db.flush()
    client_id = uuid.UUID(placed["client"]["id"])
    admin = seeded_actor(world, "cas_admin", "cas", Role.CAS_ADMIN)

    def referral(project: str) -> Any:
        return events.emit(
            db,
            admin,
            kind.value,
            entity_type="referral",
            entity_id=uuid.uuid4(),
            client_id=client_id,
            data={"project_id": str(world.project_id(project))},
        )

    before = referral("h1_psh")
    await db.flush()
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    # Not referred yet: the provider may not see the client, so nothing reaches them.
    assert await recipients(db, world, kind, event_id=before.id) == set()

    await access.grant(db, client_id, housing, "referred")
    psh, rrh = referral("h1_psh"), referral("h1_rrh")
    await db.flush()
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    assert await recipients(db, world, kind, event_id=psh.id) == {"housing_provider"}
    assert await recipients(db, world, kind, event_id=rrh.id) == {"agency_admin"}


async def test_victim_service_providers_never_receive_client_notifications(
    db: AsyncSession,
    world: World,
    placed: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kind = K.QUEUE_REVIEW_NEEDED
    monkeypatch.setitem(
        kinds.KINDS,
        kind,
        KindSpec(kind, (Audience.CASE_MANAGERS,), "Something about the client", email=False),
    )
    client_id = uuid.UUID(placed["client"]["id"])
    db.add(
        CaseAssignment(
            enrollment_id=uuid.UUID(placed["enrollment"]["id"]),
            client_id=client_id,
            user_id=world.user_id("vsp_case_manager"),
            organization_id=world.org_id("vsp"),
            start_date=today(),
            status="active",
        )
    )
    await db.flush()
    admin = seeded_actor(world, "cas_admin", "cas", Role.CAS_ADMIN)
    events.emit(
        db, admin, kind.value, entity_type="queue_entry", entity_id=None, client_id=client_id
    )
    await db.flush()
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    assert await recipients(db, world, kind) == {"case_manager2"}
