"""Matching's notifications (DOMAIN 9 and 10): every change of a match reaches the provider's CAS
contact, the client's case managers and the CAS admins; the scheduled scans send "about to
stall", "stalled" and "park ended" once each, to the right people -- and nobody who may not see
the match or the client.

The seeded CoC: ``cas_admin`` (CAS admin), ``case_manager`` (the CAS organization; the intakes
of ``place`` are theirs, so they are the households' assigned case manager), ``housing_provider``
(Hope Housing, the provider of ``h1_*``), ``vsp_case_manager`` (a victim service provider).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock, jobs
from app.config import Settings
from app.models.enrollments import CaseAssignment
from app.models.notifications import CasContact, Notification
from app.models.platform import EmailMessage
from app.reference.notifications import NotificationKind
from app.services.matching import notices
from tests.conftest import Auth, World
from tests.support.intake import today
from tests.support.matching import act, ehv_contact, make_unit, place, send
from tests.support.notifications import FAN_OUT, events_of, recipients, run_jobs

K = NotificationKind
M = "/api/v1/matches"


async def _contact(db: AsyncSession, world: World) -> None:
    """Hope Housing's designated CAS contact: its ``housing_provider``."""
    db.add(
        CasContact(
            coc_id=world.home.coc.id,
            organization_id=world.org_id("housing_1"),
            user_id=world.user_id("housing_provider"),
        )
    )
    await db.flush()


async def _scan(sessionmaker: async_sessionmaker[AsyncSession], scan: Any, at: Any = None) -> int:
    async with sessionmaker() as session:
        found: int = await scan(session, at or clock.now())
        await session.commit()
    return found


async def _clock_back(db: AsyncSession, match_id: Any, days: int) -> None:
    """The match's response clock started ``days`` ago (by the wall clock: the test's
    transaction keeps one ``now()``)."""
    await db.execute(
        text("UPDATE matches SET clock_started_at = :t WHERE id = :i"),
        {"t": clock.now() - timedelta(days=days), "i": match_id},
    )


@pytest.fixture
async def sent(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> dict[str, Any]:
    await _contact(db, world)
    unit = await make_unit(client, auth, world.project_id("h1_rrh"))
    person = await place(client, auth, db)
    r = await send(client, auth, unit["id"], person["entry"])
    assert r.status_code == 201, r.text
    return {**person, "match": r.json(), "unit": unit}


def test_matchings_scans_are_scheduled(test_settings: Settings) -> None:
    registered = jobs.scans_for(test_settings)
    assert registered["matches_about_to_stall"] is notices.about_to_stall
    assert registered["matches_stalled"] is notices.stalled
    assert registered["parks_ended"] is notices.parks_ended


async def test_a_sent_match_reaches_the_providers_contact_and_the_case_manager(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    sent: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    # The CAS admin sent it (not told); the provider's CAS contact is emailed (seed 001).
    assert await recipients(db, world, K.MATCH_SENT) == {"housing_provider", "case_manager"}
    [event] = await events_of(db, K.MATCH_SENT)
    assert event.entity_type == "match" and str(event.entity_id) == sent["match"]["id"]
    mails = (
        await db.scalars(
            select(EmailMessage.to_address).where(
                EmailMessage.template == "notification:match.sent"
            )
        )
    ).all()
    assert world.home.users["housing_provider"].email in mails
    # The provider reads it in its inbox, with the match's ids (codes only, no names).
    hp = await auth.headers("housing_provider")
    r = await client.get("/api/v1/notifications?kind=match.sent", headers=hp)
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["kind"] == "match.sent" and item["data"]["match_id"] == sent["match"]["id"]
    # The provider declines: the CAS admins and the case manager hear of it, not the provider.
    r = await act(
        client, auth, sent["match"]["id"], "decline", {"reason": "another_housing_option"}
    )
    assert r.status_code == 200, r.text
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    assert await recipients(db, world, K.MATCH_DECLINED) == {"cas_admin", "case_manager"}
    # Webhook event types include the match kinds.
    r = await client.get(
        "/api/v1/webhook-subscriptions/event-types", headers=await auth.headers("agency_admin")
    )
    assert r.status_code == 200, r.text
    types = {t["event_type"] for t in r.json()["items"]}
    assert {"match.sent", "match.stalled", "match.park_ended"} <= types


async def test_about_to_stall_then_stalled_each_once_to_the_right_people(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    sent: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    match_id = sent["match"]["id"]
    admin = await auth.headers("cas_admin")
    # On time: nothing.
    assert await _scan(sessionmaker, notices.about_to_stall) == 0
    assert await _scan(sessionmaker, notices.stalled) == 0
    # A victim service provider's worker is also assigned to the client: they may not see it.
    db.add(
        CaseAssignment(
            enrollment_id=sent["enrollment"],
            client_id=sent["client"],
            user_id=world.user_id("vsp_case_manager"),
            organization_id=world.org_id("vsp"),
            start_date=today(),
            status="active",
        )
    )
    await _clock_back(db, match_id, 9)  # the warning window: two days before the tenth
    got = (await client.get(f"{M}/{match_id}", headers=admin)).json()
    assert got["stall"] == "about_to_stall"
    assert await _scan(sessionmaker, notices.about_to_stall) == 1
    # The scan runs again (every few minutes, on any worker): nothing twice.
    assert await _scan(sessionmaker, notices.about_to_stall) == 0
    assert await _scan(sessionmaker, notices.stalled) == 0
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    # The provider's program manager responds; the CAS admins follow up.
    assert await recipients(db, world, K.MATCH_ABOUT_TO_STALL) == {"housing_provider", "cas_admin"}
    [warned] = await events_of(db, K.MATCH_ABOUT_TO_STALL)
    assert warned.actor_user_id is None and str(warned.entity_id) == match_id
    assert warned.data["match_id"] == match_id
    assert warned.data["project_id"] == str(world.project_id("h1_rrh"))
    assert warned.data["stall_due_at"][:16] == got["stall_due_at"][:16]

    await _clock_back(db, match_id, 11)
    got = (await client.get(f"{M}/{match_id}", headers=admin)).json()
    assert got["stall"] == "stalled"
    assert await _scan(sessionmaker, notices.stalled) == 1
    assert await _scan(sessionmaker, notices.stalled, clock.now() + timedelta(hours=1)) == 0
    assert await _scan(sessionmaker, notices.about_to_stall) == 0
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    # Stalled: the case manager too -- never the victim service provider's worker.
    assert await recipients(db, world, K.MATCH_STALLED) == {
        "housing_provider",
        "cas_admin",
        "case_manager",
    }
    [stalled] = await events_of(db, K.MATCH_STALLED)
    # "A notification will appear stating the date the match stalled."
    assert stalled.data["stalls_on"] == (today() - timedelta(days=1)).isoformat()
    assert stalled.data["stall_due_at"][:16] == got["stall_due_at"][:16]
    hp = await auth.headers("housing_provider")
    [item] = (await client.get("/api/v1/notifications?kind=match.stalled", headers=hp)).json()[
        "items"
    ]
    assert item["entity_id"] == match_id
    # The provider's stall response restarts the clock; a later stall is a new period.
    r = await act(
        client, auth, match_id, "stall-responses", {"engaging": True, "reason": "scheduling_intake"}
    )
    assert r.status_code == 201, r.text
    assert (await client.get(f"{M}/{match_id}", headers=admin)).json()["stall"] == "on_time"
    assert await _scan(sessionmaker, notices.stalled) == 0
    await _clock_back(db, match_id, 11)
    assert await _scan(sessionmaker, notices.stalled) == 1
    assert await _scan(sessionmaker, notices.stalled) == 0
    assert len(await events_of(db, K.MATCH_STALLED)) == 2
    # An accepted match waits for nobody: no stall notice.
    r = await act(client, auth, match_id, "accept")
    assert r.status_code == 200, r.text
    await _clock_back(db, match_id, 30)
    assert await _scan(sessionmaker, notices.stalled) == 0
    got = (await client.get(f"{M}/{match_id}", headers=admin)).json()
    assert got["stall"] == "not_waiting" and got["stall_due_at"] is None
    nobody = await db.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == world.user_id("vsp_case_manager"))
    )
    assert nobody == 0


async def test_a_park_ending_returns_the_household_and_notifies_once(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    sent: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    match_id = sent["match"]["id"]
    r = await act(client, auth, match_id, "park", {"reason": "disengaged"})
    assert r.status_code == 200, r.text
    assert r.json()["parked_until"] == (today() + timedelta(days=30)).isoformat()
    assert await _scan(sessionmaker, notices.parks_ended) == 0  # not yet
    admin = await auth.headers("cas_admin")
    # The queue's list, filtered to the household's client.
    entry_url = f"/api/v1/queue-entries?client_id={sent['client']}"

    async def referral_status() -> str:
        r = await client.get(entry_url, headers=admin)
        assert r.status_code == 200, r.text
        [item] = r.json()["items"]
        assert item["id"] == str(sent["entry"])
        return str(item["referral_status"])

    assert await referral_status() == "parked"
    # The date comes (the calendar moved; nothing else is written).
    on = today()
    await db.execute(
        text("UPDATE matches SET parked_until = :d WHERE id = :i"), {"d": on, "i": match_id}
    )
    await db.execute(
        text("UPDATE queue_entries SET parked_until = :d WHERE id = :i"),
        {"d": on, "i": sent["entry"]},
    )
    # Back on the queue at read time, before any scan.
    assert await referral_status() == "none"
    assert await _scan(sessionmaker, notices.parks_ended) == 1
    assert await _scan(sessionmaker, notices.parks_ended, clock.now() + timedelta(days=1)) == 0
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    # The case manager and the CAS admins; the provider no longer holds the client.
    assert await recipients(db, world, K.MATCH_PARK_ENDED) == {"case_manager", "cas_admin"}
    [event] = await events_of(db, K.MATCH_PARK_ENDED)
    assert event.data["parked_until"] == on.isoformat()
    assert event.data["park_reason"] == "disengaged"
    # Matched again: the park's notice is not sent again.
    unit = await make_unit(client, auth, world.project_id("h1_psh"))
    assert (await send(client, auth, unit["id"], sent["entry"])).status_code == 201
    assert await _scan(sessionmaker, notices.parks_ended) == 0
    assert len(await events_of(db, K.MATCH_PARK_ENDED)) == 1


async def test_an_indefinite_park_never_ends_by_itself(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    sent: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    r = await act(client, auth, sent["match"]["id"], "park", {"reason": "deceased"})
    assert r.status_code == 200, r.text
    assert r.json()["parked_until"] is None
    later = clock.now() + timedelta(days=400)
    assert await _scan(sessionmaker, notices.parks_ended, later) == 0


async def test_the_assigned_ehv_case_manager_contact_hears_of_the_match_from_then_on(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    """Seed 001, EHV: the CoC admin assigns a case-manager agency contact, who takes over: that
    contact is told of the assignment and of every later change of the match; before it, the
    agency hears nothing of the match."""
    await _contact(db, world)
    project = world.project_id("h1_rrh")
    r = await client.put(
        f"/api/v1/projects/{project}/matching-profile",
        json={"funding_sources": [52], "referrals_through_cas": True, "requirements": []},
        headers={**(await auth.headers("cas_admin")), "If-Match": "*"},
    )
    assert r.status_code == 200 and r.json()["ehv"] is True, r.text
    unit = await make_unit(client, auth, project)
    person = await place(client, auth, db)
    r = await send(client, auth, unit["id"], person["entry"])
    assert r.status_code == 201, r.text
    match_id = r.json()["id"]
    r = await act(client, auth, match_id, "accept", user="cas_admin")
    assert r.status_code == 200 and r.json()["status"] == "ehv_navigation", r.text
    on = {"issued_on": today().isoformat()}
    assert (await act(client, auth, match_id, "voucher-issued", on)).status_code == 200
    on = {"submitted_on": today().isoformat()}
    assert (await act(client, auth, match_id, "rfta-submitted", on)).status_code == 200
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    # Not assigned yet: the agency's contact is told nothing of the match.
    assert "case_manager2" not in await recipients(db, world, K.MATCH_EHV_RFTA_SUBMITTED)

    body = await ehv_contact(db, world)
    r = await act(client, auth, match_id, "ehv-case-manager", body, user="cas_admin")
    assert r.status_code == 200 and r.json()["status"] == "ehv_case_management", r.text
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    # The assigned contact, the provider's contact and the client's case manager; not the CAS
    # admin who assigned it.
    assert await recipients(db, world, K.MATCH_EHV_CASE_MANAGER_ASSIGNED) == {
        "case_manager2",
        "housing_provider",
        "case_manager",
    }
    [note] = (
        await db.scalars(
            select(Notification).where(
                Notification.kind == K.MATCH_EHV_CASE_MANAGER_ASSIGNED.value,
                Notification.user_id == world.user_id("case_manager2"),
            )
        )
    ).all()
    # Received through the agency it was assigned for: acting for it opens the match.
    assert note.organization_id == world.org_id("housing_2")
    cm2 = await auth.headers("case_manager2", org="housing_2")
    r = await client.get("/api/v1/notifications?kind=match.ehv_case_manager_assigned", headers=cm2)
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["data"]["match_id"] == match_id
    assert (await client.get(f"{M}/{match_id}", headers=cm2)).status_code == 200

    # The contact now acts for the match; what follows reaches the others, and the contact hears
    # of a change someone else makes.
    r = await act(
        client,
        auth,
        match_id,
        "outcome",
        {"provider_result": "client_enrolled"},
        user="housing_provider",
    )
    assert r.status_code == 200 and r.json()["status"] == "enrolled", r.text
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    assert await recipients(db, world, K.MATCH_ENROLLED) == {
        "case_manager2",
        "case_manager",
        "cas_admin",
    }


async def test_the_provider_is_told_of_the_end_that_took_the_client_off_its_caseload(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    sent: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    """The CAS admin cancels: the provider's ``referred`` access ends in the same transaction,
    before the notice is delivered; the provider's CAS contact may still read the match, so is
    told of it (DOMAIN 10: referral outcomes reach the CAS contact)."""
    match_id = sent["match"]["id"]
    r = await act(
        client, auth, match_id, "cancel", {"reason": "unit_not_available"}, user="cas_admin"
    )
    assert r.status_code == 200 and r.json()["status"] == "canceled", r.text
    hp = await auth.headers("housing_provider")
    assert (await client.get(f"/api/v1/clients/{sent['client']}", headers=hp)).status_code == 404
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    assert await recipients(db, world, K.MATCH_CANCELED) == {"housing_provider", "case_manager"}
    r = await client.get("/api/v1/notifications?kind=match.canceled", headers=hp)
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["data"]["match_id"] == match_id and item["data"]["status"] == "canceled"
    assert (await client.get(f"{M}/{match_id}", headers=hp)).status_code == 200


async def test_the_ehv_contact_is_told_of_the_park_that_ended_its_access(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    """The provider parks an EHV match in case management: the agency's access to the client
    ends, and its assigned contact -- told of every change after the assignment -- hears of
    the park."""
    project = world.project_id("h1_rrh")
    r = await client.put(
        f"/api/v1/projects/{project}/matching-profile",
        json={"funding_sources": [52], "referrals_through_cas": True, "requirements": []},
        headers={**(await auth.headers("cas_admin")), "If-Match": "*"},
    )
    assert r.status_code == 200, r.text
    unit = await make_unit(client, auth, project)
    person = await place(client, auth, db)
    match_id = (await send(client, auth, unit["id"], person["entry"])).json()["id"]
    assert (await act(client, auth, match_id, "accept", user="cas_admin")).status_code == 200
    on = {"issued_on": today().isoformat()}
    assert (await act(client, auth, match_id, "voucher-issued", on)).status_code == 200
    on = {"submitted_on": today().isoformat()}
    assert (await act(client, auth, match_id, "rfta-submitted", on)).status_code == 200
    body = await ehv_contact(db, world)
    r = await act(client, auth, match_id, "ehv-case-manager", body, user="cas_admin")
    assert r.status_code == 200, r.text
    r = await act(client, auth, match_id, "park", {"reason": "disengaged"})
    assert r.status_code == 200 and r.json()["status"] == "parked", r.text
    cm2 = await auth.headers("case_manager2", org="housing_2")
    assert (await client.get(f"/api/v1/clients/{person['client']}", headers=cm2)).status_code == 404
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    assert await recipients(db, world, K.MATCH_PARKED) == {
        "case_manager2",
        "case_manager",
        "cas_admin",
    }
    r = await client.get("/api/v1/notifications?kind=match.parked", headers=cm2)
    assert r.status_code == 200 and len(r.json()["items"]) == 1, r.text
    assert (await client.get(f"{M}/{match_id}", headers=cm2)).status_code == 200
