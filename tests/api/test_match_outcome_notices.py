"""DOMAIN 10, "referral outcome / decline / park": each provider move on a referral (and the CAS
admin's cancel) reaches the provider's CAS contact, the client's case managers and the CAS
admins -- never the person who made it, nor anyone else (another agency, a victim service
provider, the system admin, the other CoC).

The seeded CoC: ``cas_admin`` (CAS admin), ``case_manager`` (the CAS organization; the intakes of
``place`` are theirs), ``housing_provider`` (Hope Housing's CAS contact, the provider of
``h1_*``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.config import Settings
from app.models.notifications import CasContact
from app.reference.notifications import NotificationKind
from tests.conftest import Auth, World
from tests.support.matching import act, make_unit, place, send
from tests.support.notifications import FAN_OUT, events_of, recipients, run_jobs

K = NotificationKind
PROVIDER_MOVES = {"cas_admin", "case_manager"}


@pytest.mark.parametrize(
    ("steps", "kind", "told"),
    [
        ([("accept", {}, "housing_provider")], K.MATCH_ACCEPTED, PROVIDER_MOVES),
        (
            [
                ("accept", {}, "housing_provider"),
                ("outcome", {"provider_result": "client_enrolled"}, "housing_provider"),
            ],
            K.MATCH_ENROLLED,
            PROVIDER_MOVES,
        ),
        (
            [("decline", {"reason": "another_housing_option"}, "housing_provider")],
            K.MATCH_DECLINED,
            PROVIDER_MOVES,
        ),
        ([("park", {"reason": "disengaged"}, "housing_provider")], K.MATCH_PARKED, PROVIDER_MOVES),
        ([("reject", {}, "housing_provider")], K.MATCH_REJECTED, PROVIDER_MOVES),
        ([("no-show", {}, "housing_provider")], K.MATCH_NO_SHOW, PROVIDER_MOVES),
        (
            [("cancel", {"reason": "sent_in_error"}, "cas_admin")],
            K.MATCH_CANCELED,
            {"housing_provider", "case_manager"},
        ),
        (
            [
                ("stall", {}, ""),
                (
                    "stall-responses",
                    {"engaging": True, "reason": "scheduling_intake"},
                    "housing_provider",
                ),
            ],
            K.MATCH_STALL_RESPONSE,
            PROVIDER_MOVES,
        ),
    ],
    ids=[
        "accepted",
        "enrolled",
        "declined",
        "parked",
        "rejected",
        "no_show",
        "canceled",
        "stall_response",
    ],
)
async def test_each_referral_outcome_reaches_the_right_people(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    steps: list[tuple[str, dict[str, Any], str]],
    kind: NotificationKind,
    told: set[str],
) -> None:
    match_id = await _sent(client, auth, db, world)
    for action, body, user in steps:
        if action == "stall":
            await _stalled(db, match_id)
            continue
        r = await act(client, auth, match_id, action, body, user=user)
        assert r.status_code in (200, 201), r.text
    await run_jobs(sessionmaker, test_settings, FAN_OUT)
    [event] = await events_of(db, kind)
    assert str(event.entity_id) == match_id and event.data["match_id"] == match_id
    assert await recipients(db, world, kind) == told
    # What each recipient reads: the match's ids and codes, through the organization they act
    # for when they received it.
    for user, org in (("case_manager", "cas"), ("housing_provider", "housing_1")):
        if user not in told:
            continue
        headers = await auth.headers(user, org=org)
        listed = await client.get(f"/api/v1/notifications?kind={kind.value}", headers=headers)
        [item] = listed.json()["items"]
        assert item["data"]["match_id"] == match_id and item["client_id"] == str(event.client_id)


async def _stalled(db: AsyncSession, match_id: str) -> None:
    """The match's response clock started eleven days ago (the policy asks for ten)."""
    await db.execute(
        text("UPDATE matches SET clock_started_at = :t WHERE id = :i"),
        {"t": clock.now() - timedelta(days=11), "i": match_id},
    )


async def _sent(client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World) -> str:
    """A referral to Hope Housing's RRH unit, whose CAS contact is ``housing_provider``."""
    db.add(
        CasContact(
            coc_id=world.home.coc.id,
            organization_id=world.org_id("housing_1"),
            user_id=world.user_id("housing_provider"),
        )
    )
    await db.flush()
    unit = await make_unit(client, auth, world.project_id("h1_rrh"))
    person = await place(client, auth, db)
    r = await send(client, auth, unit["id"], person["entry"])
    assert r.status_code == 201, r.text
    match_id: str = r.json()["id"]
    return match_id
