"""The inbox API: your own notifications only, the state filters, the calendar range, the bell,
snooze / dismiss / acknowledge / dismiss all, the email choice per kind; bad input is a
problem and changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.config import Settings
from app.models import EmailMessage, Membership
from app.models.notifications import Notification
from app.models.platform import NotificationEvent
from app.permissions import Role
from app.reference.notifications import NotificationKind
from app.services.notifications import live
from tests.conftest import Auth, World, assert_problem
from tests.support.actors import make_actor
from tests.support.notifications import FAN_OUT, intake, run_jobs

URL = "/api/v1/notifications"
K = NotificationKind


def _iso(at: datetime) -> str:
    return at.astimezone().isoformat()


@pytest.fixture
async def inbox(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> list[dict[str, Any]]:
    """Three notifications in cas_admin's inbox (outcome changes of three intakes by
    case_manager2), newest first."""
    headers = await auth.headers("case_manager2", org="access_point_2")
    for _ in range(3):
        await intake(client, headers, "placed")
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    r = await client.get(URL, headers=await auth.headers("cas_admin", org="cas"))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    assert len(items) == 3
    return items


async def test_list_your_notifications_with_their_text_and_state(
    client: httpx.AsyncClient, auth: Auth, world: World, inbox: list[dict[str, Any]]
) -> None:
    first = inbox[0]
    assert first["kind"] == "enrollment.outcome_changed"
    assert first["title"] == "A Coordinated Entry outcome changed"
    assert first["message"] == "The Coordinated Entry intake's outcome: placed."
    assert first["organization_id"] == str(world.org_id("cas"))
    assert first["new"] is True and first["dismissed_at"] is None
    assert first["entity_type"] == "enrollment" and first["client_id"]
    # Codes and ids only: no names anywhere.
    assert "Jordan" not in str(inbox) and "Rivera" not in str(inbox)
    created = [i["created_at"] for i in inbox]
    assert created == sorted(created, reverse=True)

    headers = await auth.headers("cas_admin", org="cas")
    one = await client.get(f"{URL}/{first['id']}", headers=headers)
    assert one.status_code == 200 and one.json() == first
    bell = await client.get(f"{URL}/unread-count", headers=headers)
    assert bell.json() == {"unread": 3}
    # Paging.
    page = await client.get(URL, params={"limit": 2}, headers=headers)
    assert [i["id"] for i in page.json()["items"]] == [i["id"] for i in inbox[:2]]
    rest = await client.get(
        URL, params={"limit": 2, "cursor": page.json()["next_cursor"]}, headers=headers
    )
    assert [i["id"] for i in rest.json()["items"]] == [inbox[2]["id"]]


async def test_someone_elses_notification_is_not_found(
    client: httpx.AsyncClient, auth: Auth, inbox: list[dict[str, Any]]
) -> None:
    mine = inbox[0]["id"]
    for user, org, coc in (
        ("case_manager", "cas", "home"),  # received one of their own for the same event
        ("system_admin", None, "home"),
        ("cas_admin", "cas", "other"),
    ):
        headers = await auth.headers(user, org=org, coc=coc)
        assert_problem(await client.get(f"{URL}/{mine}", headers=headers), 404)
        for action in ("dismiss", "acknowledge"):
            assert_problem(await client.post(f"{URL}/{mine}/{action}", headers=headers), 404)
        until = _iso(clock.now() + timedelta(hours=1))
        r = await client.post(f"{URL}/{mine}/snooze", json={"until": until}, headers=headers)
        assert_problem(r, 404)
        listed = await client.get(URL, headers=headers)
        assert mine not in [i["id"] for i in listed.json()["items"]]
    owner = await auth.headers("cas_admin", org="cas")
    still = (await client.get(f"{URL}/{mine}", headers=owner)).json()
    assert still["new"] and not still["dismissed_at"] and not still["acknowledged_at"]
    assert_problem(await client.get(f"{URL}/{uuid.uuid4()}", headers=owner), 404)


async def test_states_are_separate_and_filterable(
    client: httpx.AsyncClient, auth: Auth, inbox: list[dict[str, Any]]
) -> None:
    headers = await auth.headers("cas_admin", org="cas")
    a, b, c = (i["id"] for i in inbox)
    until = clock.now() + timedelta(hours=2)
    snoozed = await client.post(f"{URL}/{a}/snooze", json={"until": _iso(until)}, headers=headers)
    assert snoozed.status_code == 200, snoozed.text
    assert snoozed.json()["new"] is False
    assert datetime.fromisoformat(snoozed.json()["snoozed_until"]) == until.replace(
        microsecond=until.microsecond
    )
    dismissed = await client.post(f"{URL}/{b}/dismiss", headers=headers)
    assert dismissed.json()["dismissed_at"] and dismissed.json()["acknowledged_at"] is None
    acked = await client.post(f"{URL}/{c}/acknowledge", headers=headers)
    assert acked.json()["acknowledged_at"] and acked.json()["dismissed_at"] is None
    # Acknowledging a dismissed one keeps both: the states are not one.
    both = await client.post(f"{URL}/{b}/acknowledge", headers=headers)
    assert both.json()["dismissed_at"] and both.json()["acknowledged_at"]

    async def ids(status: str) -> list[str]:
        r = await client.get(URL, params={"status": status}, headers=headers)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert await ids("new") == []
    assert await ids("snoozed") == [a]
    assert await ids("dismissed") == [b]
    assert sorted(await ids("acknowledged")) == sorted([b, c])
    assert (await client.get(f"{URL}/unread-count", headers=headers)).json() == {"unread": 0}
    # Dismissing again changes nothing; a dismissed notification cannot be snoozed.
    again = await client.post(f"{URL}/{b}/dismiss", headers=headers)
    assert again.json()["dismissed_at"] == dismissed.json()["dismissed_at"]
    r = await client.post(f"{URL}/{b}/snooze", json={"until": _iso(until)}, headers=headers)
    assert_problem(r, 409)


async def test_a_snooze_ends_and_the_notification_is_new_again(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, inbox: list[dict[str, Any]]
) -> None:
    headers = await auth.headers("cas_admin", org="cas")
    target = inbox[0]["id"]
    until = clock.now() + timedelta(minutes=5)
    r = await client.post(f"{URL}/{target}/snooze", json={"until": _iso(until)}, headers=headers)
    assert r.status_code == 200
    assert (await client.get(f"{URL}/unread-count", headers=headers)).json() == {"unread": 2}
    # Five minutes later (the snooze is compared with the clock at read time).
    row = await db.get(Notification, uuid.UUID(target))
    assert row is not None
    row.snoozed_until = clock.now() - timedelta(seconds=1)
    await db.flush()
    assert (await client.get(f"{URL}/unread-count", headers=headers)).json() == {"unread": 3}
    new = await client.get(URL, params={"status": "new"}, headers=headers)
    assert target in [i["id"] for i in new.json()["items"]]


async def test_bad_snoozes_are_refused_and_change_nothing(
    client: httpx.AsyncClient, auth: Auth, inbox: list[dict[str, Any]]
) -> None:
    headers = await auth.headers("cas_admin", org="cas")
    target = inbox[0]["id"]
    for body, field in (
        ({"until": _iso(clock.now() - timedelta(minutes=1))}, "until"),  # the past
        ({"until": _iso(clock.now() + timedelta(days=91))}, "until"),  # too far
        ({"until": "soon"}, "until"),
        ({}, "until"),
        ({"until": _iso(clock.now() + timedelta(hours=1)), "extra": 1}, "extra"),
    ):
        r = await client.post(f"{URL}/{target}/snooze", json=body, headers=headers)
        problem = assert_problem(r, 422)
        assert field in str(problem["errors"]), problem
    unchanged = (await client.get(f"{URL}/{target}", headers=headers)).json()
    assert unchanged["snoozed_until"] is None and unchanged["new"] is True
    bad = await client.get(URL, params={"status": "unread"}, headers=headers)
    assert_problem(bad, 422)
    bad_kind = await client.get(URL, params={"kind": "referral.teleported"}, headers=headers)
    assert_problem(bad_kind, 422)


async def test_dismiss_all_and_by_kind(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    inbox: list[dict[str, Any]],
) -> None:
    headers = await auth.headers("cas_admin", org="cas")
    r = await client.post(f"{URL}/dismiss-all", json={"kind": "document.uploaded"}, headers=headers)
    assert r.status_code == 200 and r.json() == {"dismissed": 0}
    r = await client.post(f"{URL}/dismiss-all", json={}, headers=headers)
    assert r.json() == {"dismissed": 3}
    assert (await client.get(f"{URL}/unread-count", headers=headers)).json() == {"unread": 0}
    again = await client.post(f"{URL}/dismiss-all", json={}, headers=headers)
    assert again.json() == {"dismissed": 0}
    assert_problem(await client.post(f"{URL}/dismiss-all", headers=headers), 422)
    bad = await client.post(f"{URL}/dismiss-all", json={"kind": "everything"}, headers=headers)
    assert_problem(bad, 422)
    # Only yours: case_manager's notifications of the same events are untouched.
    theirs = await db.scalar(
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.user_id == world.user_id("case_manager"),
            Notification.dismissed_at.is_(None),
        )
    )
    assert theirs == 3


async def test_kind_and_calendar_range_filters(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, inbox: list[dict[str, Any]]
) -> None:
    headers = await auth.headers("cas_admin", org="cas")
    # One notification received three days ago (a calendar shows it on that day).
    row = await db.get(Notification, uuid.UUID(inbox[2]["id"]))
    assert row is not None
    row.created_at = clock.now() - timedelta(days=3)
    await db.flush()
    day = (clock.now() - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    r = await client.get(
        URL,
        params={"since": day.isoformat(), "until": (day + timedelta(days=1)).isoformat()},
        headers=headers,
    )
    assert [i["id"] for i in r.json()["items"]] == [inbox[2]["id"]]
    r = await client.get(URL, params={"since": clock.now().isoformat()}, headers=headers)
    assert r.json()["items"] == []
    by_kind = await client.get(URL, params={"kind": "enrollment.outcome_changed"}, headers=headers)
    assert len(by_kind.json()["items"]) == 3
    other = await client.get(URL, params={"kind": "client.inactive"}, headers=headers)
    assert other.json()["items"] == []
    assert_problem(await client.get(URL, params={"since": "9999-01-01"}, headers=headers), 422)


async def test_the_inbox_shows_what_came_through_the_organization_you_act_for(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, inbox: Any
) -> None:
    """case_manager received the three notices through the CAS organization: acting for the
    Bridge Access Point they are not in the list, the bell, the stream's catch-up, and cannot
    be read or acted on (404) -- switching back to the CAS organization shows them."""
    as_cas = await auth.headers("case_manager", org="cas")
    listed = (await client.get(URL, headers=as_cas)).json()["items"]
    assert len(listed) == 3
    assert {i["organization_id"] for i in listed} == {str(world.org_id("cas"))}
    as_bridge = await auth.headers("case_manager", org="access_point_1")
    assert (await client.get(URL, headers=as_bridge)).json()["items"] == []
    assert (await client.get(f"{URL}/unread-count", headers=as_bridge)).json() == {"unread": 0}
    target = listed[0]["id"]
    assert_problem(await client.get(f"{URL}/{target}", headers=as_bridge), 404)
    for action in ("dismiss", "acknowledge"):
        assert_problem(await client.post(f"{URL}/{target}/{action}", headers=as_bridge), 404)
    r = await client.post(f"{URL}/dismiss-all", json={}, headers=as_bridge)
    assert r.json() == {"dismissed": 0}
    assert (await client.get(f"{URL}/unread-count", headers=as_cas)).json() == {"unread": 3}


async def test_a_victim_service_providers_inbox_and_the_others_stay_apart(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, inbox: Any
) -> None:
    """DOMAIN 2: a user acting for a VSP sees nothing about identifiable clients -- not the
    notices they received through another membership; and what reached them through the VSP
    does not show while they act for another organization."""
    me, vsp = world.user_id("case_manager"), world.org_id("vsp")
    db.add(Membership(user_id=me, organization_id=vsp, role="agency_admin"))
    # An organization-level notice that reached them through the VSP.
    disabled = NotificationEvent(
        coc_id=world.home.coc.id,
        event_type=K.WEBHOOK_SUBSCRIPTION_DISABLED.value,
        entity_type="webhook_subscription",
        entity_id=uuid.uuid4(),
        data={"organization_id": str(vsp)},
        fanned_out_at=clock.now(),
    )
    db.add(disabled)
    await db.flush()
    vsp_notice = Notification(
        coc_id=world.home.coc.id,
        user_id=me,
        organization_id=vsp,
        event_id=disabled.id,
        kind=disabled.event_type,
        entity_type=disabled.entity_type,
        entity_id=disabled.entity_id,
        data=disabled.data,
        occurred_at=clock.now(),
        emailed=False,
    )
    db.add(vsp_notice)
    await db.flush()
    as_vsp = await auth.headers("case_manager", org="vsp")
    listed = (await client.get(URL, headers=as_vsp)).json()["items"]
    assert [i["id"] for i in listed] == [str(vsp_notice.id)]
    assert all(i["client_id"] is None for i in listed)
    assert (await client.get(f"{URL}/unread-count", headers=as_vsp)).json() == {"unread": 1}
    for item in inbox:
        assert_problem(await client.get(f"{URL}/{item['id']}", headers=as_vsp), 404)
    as_cas = await auth.headers("case_manager", org="cas")
    ids = [i["id"] for i in (await client.get(URL, headers=as_cas)).json()["items"]]
    assert len(ids) == 3 and str(vsp_notice.id) not in ids
    assert_problem(await client.get(f"{URL}/{vsp_notice.id}", headers=as_cas), 404)
    assert (await client.get(f"{URL}/unread-count", headers=as_cas)).json() == {"unread": 3}


async def test_email_choices_per_kind_but_no_wholesale_opt_out(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    headers = await auth.headers("cas_admin", org="cas")
    prefs = await client.get(f"{URL}/preferences", headers=headers)
    assert prefs.status_code == 200
    by_kind = {p["kind"]: p for p in prefs.json()["items"]}
    assert set(by_kind) == {k.value for k in K}
    assert by_kind["queue.intake_status_changed"]["email"] is True
    assert by_kind["document.uploaded"]["email"] is False
    assert by_kind["client.inactive"]["audiences"] == ["case_managers"]

    r = await client.put(
        f"{URL}/preferences",
        json={"kind": "enrollment.outcome_changed", "email": True},
        headers=headers,
    )
    assert r.status_code == 200
    changed = {p["kind"]: p for p in r.json()["items"]}
    assert changed["enrollment.outcome_changed"]["email"] is True
    assert changed["enrollment.outcome_changed"]["default_email"] is False
    for body in (
        {"kind": "everything", "email": False},
        {"email": False},
        {"kind": "document.uploaded"},
        {"kind": "document.uploaded", "email": False, "inbox": False},
    ):
        assert_problem(await client.put(f"{URL}/preferences", json=body, headers=headers), 422)

    await intake(client, await auth.headers("case_manager2", org="access_point_2"), "placed")
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    mails = (await db.scalars(select(EmailMessage.to_address))).all()
    # cas_admin asked for these emails; case_manager (default: no email) gets none, and both
    # got the notification in their inbox.
    assert mails == ["cas_admin@demo.example"]
    events = await db.scalar(select(func.count()).select_from(NotificationEvent))
    assert events == 1


async def test_acting_in_another_coc_shows_that_organizations_inbox(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    inbox: list[dict[str, Any]],
) -> None:
    """A member of two CoCs acting for the other one sees what reached them through that
    organization only; this CoC's notices are theirs again once they switch back."""
    me, there = world.user_id("cas_admin"), world.org_id("cas", "other")
    db.add(Membership(user_id=me, organization_id=there, role="cas_admin"))
    await db.flush()
    r = await client.post(
        "/api/v1/auth/switch-organization",
        headers=await auth.headers("cas_admin", org="cas"),
        json={"organization_id": str(there)},
    )
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await client.get(URL, headers=headers)).json()["items"] == []
    assert (await client.get(f"{URL}/unread-count", headers=headers)).json() == {"unread": 0}
    first = inbox[0]["id"]
    assert_problem(await client.get(f"{URL}/{first}", headers=headers), 404)
    until = _iso(clock.now() + timedelta(hours=1))
    r = await client.post(f"{URL}/{first}/snooze", json={"until": until}, headers=headers)
    assert_problem(r, 404)
    r = await client.post(f"{URL}/dismiss-all", json={}, headers=headers)
    assert r.status_code == 200 and r.json() == {"dismissed": 0}, r.text
    rows = (await db.scalars(select(Notification).where(Notification.user_id == me))).all()
    assert len(rows) == 3 and all(n.dismissed_at is None and n.snoozed_until is None for n in rows)
    home = await auth.headers("cas_admin", org="cas")
    assert (await client.get(f"{URL}/unread-count", headers=home)).json() == {"unread": 3}


class _QuietListener:
    """Stands in for the LISTEN connection: nothing arrives (the stream's first events are its
    catch-up and the count)."""

    def subscribers(self, key: str) -> int:
        return 0

    @contextlib.asynccontextmanager
    async def subscribe(self, key: str) -> AsyncIterator[asyncio.Queue[str]]:
        yield asyncio.Queue()


async def _stream_opening(
    sessionmaker: async_sessionmaker[AsyncSession], actor: Any, last_event_id: str
) -> list[tuple[str, Any]]:
    """The live stream's events up to its first unread count (a reconnect after
    ``last_event_id``)."""
    events = live.stream(
        sessionmaker,
        cast(Any, _QuietListener()),
        actor,
        heartbeat_seconds=60,
        ends_at=clock.now() + timedelta(minutes=5),
        last_event_id=last_event_id,
    )
    opened: list[tuple[str, Any]] = []
    async for chunk in events:
        fields = dict(line.split(": ", 1) for line in chunk.strip().splitlines() if ": " in line)
        if "event" in fields:
            opened.append((fields["event"], json.loads(fields["data"])))
            if fields["event"] == "unread_count":
                break
    await events.aclose()
    return opened


async def test_the_live_stream_follows_the_organization_acted_for(
    db: AsyncSession,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox: list[dict[str, Any]],
) -> None:
    """case_manager reconnects after the oldest of their three notices (received through the
    CAS organization): acting for it, the two newer ones and a count of 3; acting for the
    Bridge, nothing and a count of 0."""
    user = world.user_id("case_manager")
    oldest, *newer = (
        await db.scalars(
            select(Notification.id)
            .where(Notification.user_id == user)
            .order_by(Notification.created_at, Notification.id)
        )
    ).all()
    as_cas = make_actor(
        Role.CASE_MANAGER, world.org_id("cas"), coc=world.home.coc.id, kind="cas", user_id=user
    )
    as_bridge = make_actor(
        Role.CASE_MANAGER, world.org_id("access_point_1"), coc=world.home.coc.id, user_id=user
    )
    opened = await _stream_opening(sessionmaker, as_cas, str(oldest))
    assert [name for name, _ in opened] == ["notification", "notification", "unread_count"]
    assert {body["id"] for _, body in opened[:2]} == {str(i) for i in newer}
    assert opened[-1][1] == {"unread": 3}
    opened = await _stream_opening(sessionmaker, as_bridge, str(oldest))
    assert opened == [("unread_count", {"unread": 0})]


async def test_leaving_the_organization_hides_what_came_through_it(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, inbox: Any
) -> None:
    """case_manager's notices came through the CAS organization; once that membership is
    removed, a token still acting for it is refused, and acting for the Bridge shows nothing."""
    as_cas = await auth.headers("case_manager", org="cas")
    assert len((await client.get(URL, headers=as_cas)).json()["items"]) == 3
    await db.execute(
        delete(Membership).where(
            Membership.user_id == world.user_id("case_manager"),
            Membership.organization_id == world.org_id("cas"),
        )
    )
    await db.flush()
    refused = await client.get(URL, headers=as_cas)
    assert refused.status_code in (401, 403), refused.text
    as_bridge = await auth.headers("case_manager", org="access_point_1")
    assert (await client.get(URL, headers=as_bridge)).json()["items"] == []
    assert (await client.get(f"{URL}/unread-count", headers=as_bridge)).json() == {"unread": 0}
