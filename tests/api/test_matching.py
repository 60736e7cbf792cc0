"""Housing inventory, eligibility, candidates and matches through HTTP (issue 13)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import Auth, World
from tests.support.http import ANY_VERSION
from tests.support.intake import rows, today
from tests.support.matching import act, ehv_contact, make_unit, place, send

M = "/api/v1/matches"


async def _profile(
    client: httpx.AsyncClient, auth: Auth, project_id: Any, **body: Any
) -> dict[str, Any]:
    headers = {**(await auth.headers("cas_admin")), **ANY_VERSION}
    payload = {"funding_sources": [], "referrals_through_cas": True, "requirements": [], **body}
    r = await client.put(
        f"/api/v1/projects/{project_id}/matching-profile", json=payload, headers=headers
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_unit_status_follows_its_events(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    unit = await make_unit(client, auth, world.project_id("h1_psh"), bedrooms=2)
    assert unit["status"] == "available" and unit["bedrooms"] == 2
    hp = await auth.headers("housing_provider")
    base = f"/api/v1/units/{unit['id']}"
    person = await place(client, auth, db)

    r = await client.post(f"{base}/check-in", json={"client_id": str(person["client"])}, headers=hp)
    assert r.status_code == 428, r.text
    r = await client.post(
        f"{base}/check-in",
        json={"client_id": str(person["client"])},
        headers={**hp, "If-Match": '"7"'},
    )
    assert r.status_code == 412, r.text
    # A client the provider may not see is an unknown id (422); an admin checks them in.
    r = await client.post(
        f"{base}/check-in", json={"client_id": str(person["client"])}, headers={**hp, **ANY_VERSION}
    )
    assert r.status_code == 422, r.text
    admin = await auth.headers("cas_admin")
    r = await client.post(
        f"{base}/check-in",
        json={"client_id": str(person["client"])},
        headers={**admin, **ANY_VERSION},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "occupied"
    assert r.json()["occupant_client_id"] == str(person["client"])
    # A wrong event for the status: 409, nothing written.
    r = await client.post(f"{base}/reservation", json={}, headers={**hp, **ANY_VERSION})
    assert r.status_code == 409, r.text
    for path, body, expected in (
        ("check-out", {}, "available"),
        ("reservation", {"note": "outside referral"}, "reserved"),
        ("release", {}, "available"),
        ("offline", {"reason": "repairs"}, "offline"),
        ("online", {}, "available"),
    ):
        r = await client.post(f"{base}/{path}", json=body, headers={**hp, **ANY_VERSION})
        assert r.status_code == 200, (path, r.text)
        assert r.json()["status"] == expected
    r = await client.post(
        f"{base}/offline", json={"reason": "other"}, headers={**hp, **ANY_VERSION}
    )
    assert r.status_code == 422, r.text
    events = (await client.get(f"{base}/events", headers=hp)).json()["items"]
    assert [e["kind"] for e in events] == [
        "created",
        "check_in",
        "check_out",
        "reserve",
        "release",
        "take_offline",
        "bring_online",
    ]
    # Others in the CoC read the unit without the occupant; only the provider writes.
    cm = await auth.headers("case_manager")
    r = await client.get(f"{base}/events", headers=cm)
    assert r.status_code == 200 and r.json()["items"][1]["client_id"] is None
    # Nor the provider's notes about the household (free text: "outside referral", names).
    assert [e["note"] for e in r.json()["items"]] == [None] * 7
    assert events[3]["note"] == "outside referral"
    r = await client.post(f"{base}/check-out", json={}, headers={**cm, **ANY_VERSION})
    assert r.status_code == 403, r.text
    admin = await auth.headers("agency_admin")
    r = await client.post(
        f"{base}/offline", json={"reason": "repairs"}, headers={**admin, **ANY_VERSION}
    )
    assert r.status_code == 403, r.text
    other = await auth.headers("system_admin", coc="other")
    assert (await client.get(base, headers=other)).status_code == 404
    r = await client.patch(base, json={"bedrooms": 3}, headers={**hp, **ANY_VERSION})
    assert r.status_code == 200 and r.json()["bedrooms"] == 3 and r.json()["status"] == "available"


async def test_candidates_rank_and_eligibility_explanation(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    project = world.project_id("h2_vash")
    profile = await _profile(
        client,
        auth,
        project,
        requirements=[
            {"kind": "veteran"},
            {"kind": "sex_offender_registry", "polarity": "must_not"},
            {"kind": "household_size", "max_value": 2},
            {"kind": "fits_bedrooms"},
        ],
        stall_after_days=7,
    )
    assert profile["requirements"][0]["kind"] == "veteran"
    # A decimal is a JSON number both ways (as the contract says), not a string when read.
    assert profile["requirements"][2]["max_value"] == 2
    assert profile["referral_event"] == 14 and profile["effective_stall_after_days"] == 7
    headers = {**(await auth.headers("housing_provider", org=None)), **ANY_VERSION}
    unit_r = await client.post(
        f"/api/v1/projects/{project}/units", json={"label": "V1", "bedrooms": 1}, headers=headers
    )
    assert unit_r.status_code == 403  # housing_1's provider does not manage housing_2's units
    admin = await auth.headers("cas_admin")
    unit_r = await client.post(
        f"/api/v1/projects/{project}/units", json={"label": "V1", "bedrooms": 1}, headers=admin
    )
    assert unit_r.status_code == 201, unit_r.text
    unit = unit_r.json()
    low = await place(client, auth, db, veteran=True, score=3)
    high = await place(client, auth, db, veteran=True, score=15)
    not_vet = await place(client, auth, db, score=20)
    pending = await place(client, auth, db, approved=False, veteran=True, score=22)

    r = await client.get(f"/api/v1/units/{unit['id']}/candidates", headers=admin)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    ids = [i["queue_entry_id"] for i in items]
    assert str(high["entry"]) in ids and str(low["entry"]) in ids
    assert ids.index(str(high["entry"])) < ids.index(str(low["entry"]))
    assert str(not_vet["entry"]) not in ids and str(pending["entry"]) not in ids
    ranks = [i["rank"] for i in items]
    assert ranks == sorted(ranks)
    first = next(i for i in items if i["queue_entry_id"] == str(high["entry"]))
    assert first["score"] == 15 and first["veteran"] is True

    r = await client.get(
        f"/api/v1/units/{unit['id']}/eligibility/{not_vet['client']}", headers=admin
    )
    assert r.status_code == 200, r.text
    why = r.json()
    assert why["eligible"] is False and why["approved"] is True and why["on_queue"] is True
    by_kind = {c["kind"]: c for c in why["requirements"]}
    assert by_kind["veteran"]["passed"] is False and by_kind["veteran"]["value"] == "false"
    assert by_kind["sex_offender_registry"]["passed"] is True
    assert by_kind["household_size"]["passed"] is True and by_kind["household_size"]["value"] == "1"
    r = await client.get(f"/api/v1/units/{unit['id']}/eligibility/{high['client']}", headers=admin)
    assert r.json()["eligible"] is True and r.json()["rank"] == first["rank"]
    # Providers and case managers do not search candidates.
    for user in ("housing_provider", "case_manager"):
        r = await client.get(
            f"/api/v1/units/{unit['id']}/candidates", headers=await auth.headers(user)
        )
        assert r.status_code == 403, user
    # Bad requirement: a parameter the kind does not take.
    r = await client.put(
        f"/api/v1/projects/{project}/matching-profile",
        json={
            "funding_sources": [],
            "referrals_through_cas": True,
            "requirements": [{"kind": "veteran", "area": "coc_area"}],
        },
        headers={**admin, **ANY_VERSION},
    )
    assert r.status_code == 422, r.text


async def test_match_sent_accepted_enrolled(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    unit = await make_unit(client, auth, world.project_id("h1_psh"))
    person = await place(client, auth, db)
    r = await send(client, auth, unit["id"], person["entry"], note="Good fit")
    assert r.status_code == 201, r.text
    match = r.json()
    assert match["status"] == "sent" and match["referral_event"] == 14
    assert match["stall"] == "on_time" and r.headers["ETag"] == '"1"'
    [event] = await rows(
        db, "SELECT * FROM ce_events WHERE id = :i", i=uuid.UUID(match["referral_event_id"])
    )
    assert event["event"] == 14 and event["enrollment_id"] == person["enrollment"]
    [entry] = await rows(
        db, "SELECT referral_status FROM queue_entries WHERE id = :i", i=person["entry"]
    )
    assert entry["referral_status"] == "sent"
    # The provider now sees the client; the client's case manager reads the match.
    hp = await auth.headers("housing_provider")
    assert (await client.get(f"/api/v1/clients/{person['client']}", headers=hp)).status_code == 200
    cm = await auth.headers("case_manager")
    r = await client.get(f"{M}/{match['id']}", headers=cm)
    assert r.status_code == 200, r.text
    r = await act(client, auth, match["id"], "accept", user="case_manager")
    assert r.status_code == 403, r.text
    outsider = await auth.headers("case_manager2")
    assert (await client.get(f"{M}/{match['id']}", headers=outsider)).status_code == 404
    # The unit holds its match: a second one needs an over-referral.
    other = await place(client, auth, db)
    r = await send(client, auth, unit["id"], other["entry"])
    assert r.status_code == 409, r.text
    r = await send(client, auth, unit["id"], other["entry"], over_referral=True)
    assert r.status_code == 201, r.text
    profile = (
        await client.get(
            f"/api/v1/projects/{world.project_id('h1_psh')}/matching-profile", headers=hp
        )
    ).json()
    assert profile["active_over_referrals"] == 1

    r = await act(client, auth, match["id"], "accept", {"note": "Intake Monday"})
    assert r.status_code == 200, r.text
    accepted = r.json()
    assert accepted["status"] == "accepted" and accepted["program_enrollment_id"]
    [prog] = await rows(
        db,
        "SELECT * FROM enrollments WHERE id = :i",
        i=uuid.UUID(accepted["program_enrollment_id"]),
    )
    assert prog["project_id"] == world.project_id("h1_psh") and prog["living_situation"] == 116
    r = await act(client, auth, match["id"], "outcome", {"provider_result": "client_enrolled"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "enrolled" and done["referral_result"] == 1
    assert done["ce_exit_destination"] == 435 and done["ce_exit_subsidy_type"] == 439
    [event] = await rows(db, "SELECT * FROM ce_events WHERE id = :i", i=event["id"])
    assert event["referral_result"] == 1 and event["result_date"] == today()
    [entry] = await rows(db, "SELECT * FROM queue_entries WHERE id = :i", i=person["entry"])
    assert entry["closed_reason"] == "housed" and entry["referral_status"] == "enrolled"
    u = (await client.get(f"/api/v1/units/{unit['id']}", headers=hp)).json()
    assert u["status"] == "occupied" and u["occupant_client_id"] == str(person["client"])
    timeline = (await client.get(f"{M}/{match['id']}/timeline", headers=cm)).json()["items"]
    assert [(t["change"], t["to_status"]) for t in timeline] == [
        ("sent", "sent"),
        ("accepted", "accepted"),
        ("enrolled", "enrolled"),
    ]
    events = await rows(
        db,
        "SELECT event_type, data FROM notification_events WHERE entity_id = :i ORDER BY created_at",
        i=uuid.UUID(match["id"]),
    )
    assert [e["event_type"] for e in events] == ["match.sent", "match.accepted", "match.enrolled"]
    assert events[0]["data"]["audience"] == [
        "provider_contacts",
        "ehv_case_manager",
        "case_managers",
        "cas_admins",
    ]
    # An ended match takes no more moves.
    r = await act(client, auth, match["id"], "decline", {"reason": "another_housing_option"})
    assert r.status_code == 409 and r.json()["current"] == "enrolled"


async def test_decline_is_final_for_the_pair_and_reasons_are_listed(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    unit = await make_unit(client, auth, world.project_id("h1_rrh"))
    person = await place(client, auth, db)
    match = (await send(client, auth, unit["id"], person["entry"])).json()
    assert match["referral_event"] == 13
    r = await act(client, auth, match["id"], "decline", {"reason": "other"})
    assert r.status_code == 422, r.text
    r = await act(client, auth, match["id"], "decline", {"reason": "because"})
    assert r.status_code == 422, r.text
    [m] = await rows(db, "SELECT status FROM matches WHERE id = :i", i=uuid.UUID(match["id"]))
    assert m["status"] == "sent"
    r = await act(
        client, auth, match["id"], "decline", {"reason": "other", "explanation": "Agreed with CAS"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["decline_reason"] == "other" and r.json()["referral_result"] == 3
    [entry] = await rows(
        db, "SELECT referral_status FROM queue_entries WHERE id = :i", i=person["entry"]
    )
    assert entry["referral_status"] == "none"
    admin = await auth.headers("cas_admin")
    items = (await client.get(f"/api/v1/units/{unit['id']}/candidates", headers=admin)).json()[
        "items"
    ]
    assert str(person["entry"]) not in [i["queue_entry_id"] for i in items]
    r = await send(client, auth, unit["id"], person["entry"])
    assert r.status_code == 409 and "declined" in r.json()["detail"]
    why = (
        await client.get(
            f"/api/v1/units/{unit['id']}/eligibility/{person['client']}", headers=admin
        )
    ).json()
    assert why["declined_for_project"] is True and why["eligible"] is False
    # Another project may still get the household.
    other_unit = await make_unit(client, auth, world.project_id("h1_psh"))
    assert (await send(client, auth, other_unit["id"], person["entry"])).status_code == 201


async def test_park_holds_the_entry_until_its_date(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    unit = await make_unit(client, auth, world.project_id("h1_psh"))
    person = await place(client, auth, db)
    match = (await send(client, auth, unit["id"], person["entry"])).json()
    past = (today() - timedelta(days=1)).isoformat()
    for body in (
        {"reason": "short_incarceration"},
        {"reason": "disengaged", "parked_until": past},
        {"reason": "deceased", "parked_until": (today() + timedelta(days=5)).isoformat()},
        {"reason": "other", "parked_until": (today() + timedelta(days=5)).isoformat()},
        {"reason": "disengaged", "parked_until": (today() + timedelta(days=400)).isoformat()},
    ):
        r = await act(client, auth, match["id"], "park", body)
        assert r.status_code == 422, (body, r.text)
    r = await act(client, auth, match["id"], "park", {"reason": "disengaged"})
    assert r.status_code == 200, r.text
    parked = r.json()
    assert parked["status"] == "parked"
    assert parked["parked_until"] == (today() + timedelta(days=30)).isoformat()
    # Off the provider's caseload; the unit is free again; the entry is held.
    hp = await auth.headers("housing_provider")
    assert (await client.get(f"/api/v1/clients/{person['client']}", headers=hp)).status_code == 404
    admin = await auth.headers("cas_admin")
    u = (await client.get(f"/api/v1/units/{unit['id']}", headers=admin)).json()
    assert u["status"] == "available" and u["active_match_id"] is None
    items = (await client.get(f"/api/v1/units/{unit['id']}/candidates", headers=admin)).json()[
        "items"
    ]
    assert str(person["entry"]) not in [i["queue_entry_id"] for i in items]
    r = await send(client, auth, unit["id"], person["entry"])
    assert r.status_code == 409 and "parked" in r.json()["detail"]
    [entry] = await rows(
        db,
        "SELECT referral_status, parked_until FROM queue_entries WHERE id = :i",
        i=person["entry"],
    )
    assert entry == {"referral_status": "parked", "parked_until": today() + timedelta(days=30)}
    # The date comes: back on the queue where it was, without any write by a job.
    await _park_ends_today(db, uuid.UUID(match["id"]))
    items = (await client.get(f"/api/v1/units/{unit['id']}/candidates", headers=admin)).json()[
        "items"
    ]
    assert str(person["entry"]) in [i["queue_entry_id"] for i in items]
    assert (await send(client, auth, unit["id"], person["entry"])).status_code == 201
    [entry] = await rows(
        db,
        "SELECT referral_status, parked_until FROM queue_entries WHERE id = :i",
        i=person["entry"],
    )
    assert entry == {"referral_status": "sent", "parked_until": None}


async def _park_ends_today(db: Any, match_id: uuid.UUID) -> None:
    """Arrange a park whose end date has come (the calendar moved; nothing else is written)."""
    await db.execute(
        text("UPDATE matches SET parked_until = :d WHERE id = :i"), {"d": today(), "i": match_id}
    )
    await db.execute(
        text(
            "UPDATE queue_entries SET parked_until = :d "
            "WHERE id = (SELECT queue_entry_id FROM matches WHERE id = :i)"
        ),
        {"d": today(), "i": match_id},
    )


async def test_queue_and_caseloads_show_the_referral_status(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    """The queue's referral_status filter, sort and column and the caseload's column read what
    matching keeps; a park that reached its date reads none again (the household is back)."""
    people = {k: await place(client, auth, db) for k in ("sent", "accepted", "parked", "none")}
    units = {k: await make_unit(client, auth, world.project_id("h1_psh")) for k in people}
    matches = {}
    for k in ("sent", "accepted", "parked"):
        r = await send(client, auth, units[k]["id"], people[k]["entry"])
        assert r.status_code == 201, r.text
        matches[k] = r.json()["id"]
    assert (await act(client, auth, matches["accepted"], "accept")).status_code == 200
    r = await act(client, auth, matches["parked"], "park", {"reason": "disengaged"})
    assert r.status_code == 200, r.text
    until = (today() + timedelta(days=30)).isoformat()
    admin = await auth.headers("cas_admin")
    ours = {str(p["entry"]): k for k, p in people.items()}

    async def queue(**params: Any) -> dict[str, dict[str, Any]]:
        r = await client.get(
            "/api/v1/queue-entries", params={"limit": 200, **params}, headers=admin
        )
        assert r.status_code == 200, r.text
        return {ours[i["id"]]: i for i in r.json()["items"] if i["id"] in ours}

    listed = await queue()
    assert {k: i["referral_status"] for k, i in listed.items()} == {k: k for k in people}
    assert listed["parked"]["parked_until"] == until and listed["sent"]["parked_until"] is None
    for status in ("sent", "accepted", "parked", "none"):
        assert list(await queue(referral_status=status)) == [status], status
    both = await queue(referral_status=["parked", "sent"])
    assert sorted(both) == ["parked", "sent"]
    r = await client.post(
        "/api/v1/queue-entries/search", json={"referral_status": ["accepted"]}, headers=admin
    )
    assert [ours.get(i["id"]) for i in r.json()["items"]] == ["accepted"]
    # Sorted by referral status (alphabetical), exactly reversed with "-".
    ordered = list(await queue(sort="referral_status"))
    assert ordered == ["accepted", "none", "parked", "sent"]
    assert list(await queue(sort="-referral_status")) == list(reversed(ordered))

    # The caseload of the households' case manager shows the same column, and filters on it.
    cm = await auth.headers("case_manager", org="cas")
    clients = {str(p["client"]): k for k, p in people.items()}

    async def caseload(**params: Any) -> dict[str, str]:
        r = await client.get("/api/v1/caseloads/mine", params={"limit": 200, **params}, headers=cm)
        assert r.status_code == 200, r.text
        return {
            clients[i["client_id"]]: i["referral_status"]
            for i in r.json()["items"]
            if i["client_id"] in clients
        }

    assert await caseload() == {k: k for k in people}
    assert await caseload(referral_status="parked") == {"parked": "parked"}

    # The park's date comes: the household is back on the queue (none), in every view.
    await _park_ends_today(db, uuid.UUID(matches["parked"]))
    listed = await queue()
    assert listed["parked"]["referral_status"] == "none"
    assert listed["parked"]["parked_until"] is None
    assert "parked" not in await queue(referral_status="parked")
    assert sorted(await queue(referral_status="none")) == ["none", "parked"]
    ordered = list(await queue(sort="referral_status"))
    assert ordered[0] == "accepted" and ordered[3] == "sent"
    assert sorted(ordered[1:3]) == ["none", "parked"]  # both none now: in rank order
    assert (await caseload())["parked"] == "none"
    assert await caseload(referral_status="parked") == {}
    why = await client.get(
        f"/api/v1/units/{units['none']['id']}/eligibility/{people['parked']['client']}",
        headers=admin,
    )
    assert why.json()["parked"] is False and why.json()["eligible"] is True

    # Housed: the entry leaves the queue; the caseload says enrolled.
    r = await act(
        client, auth, matches["accepted"], "outcome", {"provider_result": "client_enrolled"}
    )
    assert r.status_code == 200, r.text
    assert "accepted" not in await queue()
    assert (await caseload())["accepted"] == "enrolled"
    assert (await caseload(referral_status="enrolled")) == {"accepted": "enrolled"}


async def test_bad_matches_are_refused_and_nothing_written(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    unit = await make_unit(client, auth, world.project_id("h1_psh"))
    pending = await place(client, auth, db, approved=False)
    before = await rows(db, "SELECT count(*) AS n FROM matches")
    r = await send(client, auth, unit["id"], pending["entry"])
    assert r.status_code == 409 and "approved" in r.json()["detail"]
    person = await place(client, auth, db)
    r = await send(client, auth, unit["id"], person["entry"], over_referral=True)
    assert r.status_code == 422, r.text
    hp = {**(await auth.headers("housing_provider")), **ANY_VERSION}
    r = await client.post(
        f"/api/v1/units/{unit['id']}/offline", json={"reason": "repairs"}, headers=hp
    )
    assert r.status_code == 200
    r = await send(client, auth, unit["id"], person["entry"])
    assert r.status_code == 409 and "offline" in r.json()["detail"]
    r = await send(client, auth, uuid.uuid4(), person["entry"])
    assert r.status_code == 422, r.text
    r = await send(client, auth, unit["id"], uuid.uuid4())
    assert r.status_code == 422, r.text
    r = await client.post(
        M,
        json={"unit_id": unit["id"], "queue_entry_id": str(person["entry"])},
        headers=await auth.headers("housing_provider"),
    )
    assert r.status_code == 403, r.text
    assert await rows(db, "SELECT count(*) AS n FROM matches") == before
    # Over-referral to the offline unit, explicit: allowed.
    r = await send(client, auth, unit["id"], person["entry"], over_referral=True)
    assert r.status_code == 201, r.text
    match = r.json()
    r = await send(
        client,
        auth,
        (await make_unit(client, auth, world.project_id("h1_rrh")))["id"],
        person["entry"],
    )
    assert r.status_code == 409 and "already in an active match" in r.json()["detail"]
    # If-Match on moves: missing 428, stale 412.
    base = await auth.headers("housing_provider")
    r = await client.post(
        f"{M}/{match['id']}/decline", json={"reason": "another_housing_option"}, headers=base
    )
    assert r.status_code == 428
    r = await client.post(
        f"{M}/{match['id']}/decline",
        json={"reason": "another_housing_option"},
        headers={**base, "If-Match": '"9"'},
    )
    assert r.status_code == 412
    # Cancel: admins only, with a reason.
    r = await act(client, auth, match["id"], "cancel", {"reason": "sent_in_error"})
    assert r.status_code == 403
    r = await act(client, auth, match["id"], "cancel", {"reason": "other"}, user="cas_admin")
    assert r.status_code == 422
    r = await act(
        client, auth, match["id"], "cancel", {"reason": "sent_in_error"}, user="cas_admin"
    )
    assert r.status_code == 200 and r.json()["status"] == "canceled"
    other = await auth.headers("system_admin", coc="other")
    assert (await client.get(f"{M}/{match['id']}", headers=other)).status_code == 404


async def test_stall_is_derived_and_a_response_restarts_the_clock(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    unit = await make_unit(client, auth, world.project_id("h1_rrh"))
    person = await place(client, auth, db)
    match = (await send(client, auth, unit["id"], person["entry"])).json()
    mid = uuid.UUID(match["id"])
    r = await act(
        client, auth, mid, "stall-responses", {"engaging": True, "reason": "scheduling_intake"}
    )
    assert r.status_code == 409, r.text
    admin = await auth.headers("cas_admin")
    await db.execute(
        text("UPDATE matches SET clock_started_at = now() - interval '9 days' WHERE id = :i"),
        {"i": mid},
    )
    got = (await client.get(f"{M}/{mid}", headers=admin)).json()
    assert got["stall"] == "about_to_stall"
    about = (await client.get(f"{M}?about_to_stall=true", headers=admin)).json()["items"]
    assert match["id"] in [m["id"] for m in about]
    await db.execute(
        text("UPDATE matches SET clock_started_at = now() - interval '11 days' WHERE id = :i"),
        {"i": mid},
    )
    stalled = (await client.get(f"{M}?stalled=true", headers=admin)).json()["items"]
    assert match["id"] in [m["id"] for m in stalled]
    assert (await client.get(f"{M}/{mid}", headers=admin)).json()["stall"] == "stalled"
    r = await act(client, auth, mid, "stall-responses", {"engaging": False, "reason": "other"})
    assert r.status_code == 422
    r = await act(
        client, auth, mid, "stall-responses", {"engaging": False, "reason": "cannot_contact"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["client_last_seen_on"] == today().isoformat()
    got = (await client.get(f"{M}/{mid}", headers=admin)).json()
    assert got["stall"] == "on_time"
    listed = (await client.get(f"{M}/{mid}/stall-responses", headers=admin)).json()["items"]
    assert [s["reason"] for s in listed] == ["cannot_contact"]
    # A project's own policy: 3 days.
    await _profile(client, auth, world.project_id("h1_rrh"), stall_after_days=3)
    await db.execute(
        text("UPDATE matches SET clock_started_at = now() - interval '4 days' WHERE id = :i"),
        {"i": mid},
    )
    assert (await client.get(f"{M}/{mid}", headers=admin)).json()["stall"] == "stalled"


async def test_parking_an_ehv_match_ends_the_case_manager_agencys_access_too(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    """The EHV case-manager agency sees the household through the match it was assigned
    (``referred``); parking takes the household off its caseload, as off the provider's."""
    project = world.project_id("h1_rrh")
    await _profile(client, auth, project, funding_sources=[52])
    unit = await make_unit(client, auth, project)
    person = await place(client, auth, db)
    r = await send(client, auth, unit["id"], person["entry"])
    assert r.status_code == 201, r.text
    mid = r.json()["id"]
    on = {"issued_on": today().isoformat()}
    assert (await act(client, auth, mid, "accept", user="cas_admin")).status_code == 200
    assert (await act(client, auth, mid, "voucher-issued", on)).status_code == 200
    on = {"submitted_on": today().isoformat()}
    assert (await act(client, auth, mid, "rfta-submitted", on)).status_code == 200
    body = await ehv_contact(db, world)
    cm2 = await auth.headers("case_manager2", org="housing_2")
    client_url = f"/api/v1/clients/{person['client']}"
    assert (await client.get(client_url, headers=cm2)).status_code == 404
    r = await act(client, auth, mid, "ehv-case-manager", body, user="cas_admin")
    assert r.status_code == 200, r.text
    assert (await client.get(client_url, headers=cm2)).status_code == 200
    r = await act(client, auth, mid, "park", {"reason": "disengaged"})
    assert r.status_code == 200 and r.json()["status"] == "parked", r.text
    assert (await client.get(client_url, headers=cm2)).status_code == 404


async def _referred(db: Any, organization: uuid.UUID, clients: list[Any]) -> set[uuid.UUID]:
    """The clients among ``clients`` the organization holds ``referred`` access to."""
    found = await rows(
        db,
        "SELECT client_id FROM client_access WHERE organization_id = :o AND reason = 'referred' "
        "AND client_id = ANY(:c)",
        o=organization,
        c=[uuid.UUID(str(c)) for c in clients],
    )
    return {r["client_id"] for r in found}


async def _household(db: Any, entry: uuid.UUID) -> list[uuid.UUID]:
    found = await rows(
        db,
        "SELECT m.client_id FROM household_members m JOIN queue_entries q "
        "ON q.household_id = m.household_id WHERE q.id = :e",
        e=entry,
    )
    return [r["client_id"] for r in found]


@pytest.mark.parametrize(
    ("action", "body", "user"),
    [
        ("decline", {"reason": "another_housing_option"}, "housing_provider"),
        ("reject", {}, "housing_provider"),
        ("no-show", {}, "housing_provider"),
        ("cancel", {"reason": "sent_in_error"}, "cas_admin"),
    ],
)
async def test_an_unsuccessful_end_ends_the_providers_referred_access(
    client: httpx.AsyncClient,
    auth: Auth,
    db: Any,
    world: World,
    action: str,
    body: dict[str, Any],
    user: str,
) -> None:
    """Least privilege: the provider sees the household while the referral is open; when it
    ends unsuccessfully (as when parked) the ``referred`` access it gave ends. The provider still
    reads the match and its timeline (match visibility is its own rule)."""
    unit = await make_unit(client, auth, world.project_id("h1_rrh"))
    person = await place(client, auth, db)
    match = (await send(client, auth, unit["id"], person["entry"])).json()
    household = [person["client"], *await _household(db, person["entry"])]
    provider = world.org_id("housing_1")
    assert await _referred(db, provider, household) == set(household)
    hp = await auth.headers("housing_provider")
    client_url = f"/api/v1/clients/{person['client']}"
    assert (await client.get(client_url, headers=hp)).status_code == 200
    r = await act(client, auth, match["id"], action, body, user=user)
    assert r.status_code == 200, r.text
    ended = r.json()["status"]
    assert ended in ("declined", "rejected", "no_show", "canceled")
    assert await _referred(db, provider, household) == set()
    assert (await client.get(client_url, headers=hp)).status_code == 404
    r = await client.get(f"{M}/{match['id']}", headers=hp)
    assert r.status_code == 200 and r.json()["status"] == ended, r.text
    timeline = await client.get(f"{M}/{match['id']}/timeline", headers=hp)
    assert timeline.status_code == 200, timeline.text
    assert [t["from_status"] for t in timeline.json()["items"]] == [None, "sent"]


@pytest.mark.parametrize("end", ["decline", "park"])
async def test_the_access_another_match_or_the_providers_own_link_needs_stays(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World, end: str
) -> None:
    """An ended match removes only the ``referred`` grants no other match of the organization
    still holds (active, or enrolled); the provider's own link (it enrolled the client at
    acceptance) is another reason and stays."""
    provider = world.org_id("housing_1")
    hp = await auth.headers("housing_provider")
    ends = {
        "decline": {"reason": "not_eligible_for_services"},
        "park": {"reason": "disengaged"},
    }
    # Two households; the second's head is also a member of the first (both referred to Hope).
    first, second = await place(client, auth, db), await place(client, auth, db)
    [household_id] = await rows(
        db, "SELECT household_id, coc_id FROM queue_entries WHERE id = :e", e=first["entry"]
    )
    await db.execute(
        text(
            "INSERT INTO household_members (id, coc_id, household_id, client_id, "
            "relationship_to_hoh, created_at, updated_at) "
            "VALUES (:i, :coc, :h, :c, 5, now(), now())"
        ),
        {
            "i": uuid.uuid4(),
            "coc": household_id["coc_id"],
            "h": household_id["household_id"],
            "c": second["client"],
        },
    )
    one = (
        await send(
            client,
            auth,
            (await make_unit(client, auth, world.project_id("h1_psh")))["id"],
            first["entry"],
        )
    ).json()
    two = (
        await send(
            client,
            auth,
            (await make_unit(client, auth, world.project_id("h1_rrh")))["id"],
            second["entry"],
        )
    ).json()
    assert one["status"] == two["status"] == "sent"
    both = [first["client"], second["client"]]
    assert await _referred(db, provider, both) == set(both)
    r = await act(client, auth, one["id"], end, ends[end])
    assert r.status_code == 200, r.text
    # The second household's head is still referred to Hope by the open match.
    assert await _referred(db, provider, both) == {second["client"]}
    url = "/api/v1/clients/{}"
    assert (await client.get(url.format(first["client"]), headers=hp)).status_code == 404
    assert (await client.get(url.format(second["client"]), headers=hp)).status_code == 200
    # Accepted (Hope enrolls the household: its own link), then rejected: still seen.
    assert (await act(client, auth, two["id"], "accept")).status_code == 200
    r = await act(client, auth, two["id"], "reject", {"note": "Over income"})
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    assert await _referred(db, provider, both) == set()
    assert (await client.get(url.format(second["client"]), headers=hp)).status_code == 200


async def test_a_voided_enrollments_case_manager_no_longer_reads_the_match(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    """Match visibility counts the client's case managers as client visibility does: an active
    assignment on an enrollment that is not voided."""
    unit = await make_unit(client, auth, world.project_id("h1_psh"))
    person = await place(client, auth, db)
    match = (await send(client, auth, unit["id"], person["entry"])).json()
    # The intake's case manager, acting for their own agency: their case, so its match.
    own = await auth.headers("case_manager", org="access_point_1")
    client_url = f"/api/v1/clients/{person['client']}"
    assert (await client.get(client_url, headers=own)).status_code == 200
    assert (await client.get(f"{M}/{match['id']}", headers=own)).status_code == 200
    # The intake was recorded in error: its match is canceled, then the intake is voided, with
    # its case assignment.
    r = await act(
        client, auth, match["id"], "cancel", {"reason": "sent_in_error"}, user="cas_admin"
    )
    assert r.status_code == 200, r.text
    admin = {**(await auth.headers("cas_admin", org="cas")), **ANY_VERSION}
    r = await client.post(
        f"/api/v1/enrollments/{person['enrollment']}/void",
        json={"reason": "Recorded in error"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert (await client.get(client_url, headers=own)).status_code == 404
    assert (await client.get(f"{M}/{match['id']}", headers=own)).status_code == 404
    listed = await client.get(f"{M}?client_id={person['client']}", headers=own)
    assert listed.status_code == 200 and listed.json()["items"] == [], listed.text


async def test_an_intake_with_an_active_match_is_not_voided(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    """Voiding says the intake was recorded in error: while a match of the household is active
    (the provider could still accept it, start a program enrollment from the voided stay and
    record the HUD referral result) the void is a 409 naming the match, and nothing changes.
    Once the CAS admin cancels the match, the void goes through."""
    unit = await make_unit(client, auth, world.project_id("h1_psh"))
    person = await place(client, auth, db)
    match = (await send(client, auth, unit["id"], person["entry"])).json()
    admin = {**(await auth.headers("cas_admin", org="cas")), **ANY_VERSION}
    void = f"/api/v1/enrollments/{person['enrollment']}/void"
    state = (
        "SELECT (SELECT count(*) FROM enrollments WHERE id = :e AND voided_at IS NULL) AS live, "
        "(SELECT count(*) FROM queue_entries WHERE id = :q AND closed_at IS NULL) AS queued, "
        "(SELECT status FROM matches WHERE id = :m) AS match"
    )
    args = {"e": person["enrollment"], "q": person["entry"], "m": uuid.UUID(match["id"])}
    [before] = await rows(db, state, **args)
    r = await client.post(void, json={"reason": "Recorded in error"}, headers=admin)
    assert r.status_code == 409, r.text
    assert r.json()["match_id"] == match["id"], r.text
    # An intake recorded in error is no referral outcome: the advice is the admin's cancel only.
    assert "/cancel" in r.json()["detail"] and "/outcome" not in r.json()["detail"], r.text
    [after] = await rows(db, state, **args)
    assert after == before and before["match"] == "sent"
    r = await act(
        client, auth, match["id"], "cancel", {"reason": "sent_in_error"}, user="cas_admin"
    )
    assert r.status_code == 200, r.text
    r = await client.post(void, json={"reason": "Recorded in error"}, headers=admin)
    assert r.status_code == 200, r.text


async def test_the_ehv_contact_must_be_able_to_record_the_outcome(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    """The assigned contact takes over and records the outcome (``referrals:respond``): a member
    whose role there cannot is refused (422 naming ``user_id``), and nothing is written."""
    project = world.project_id("h1_rrh")
    await _profile(client, auth, project, funding_sources=[52])
    unit = await make_unit(client, auth, project)
    person = await place(client, auth, db)
    mid = (await send(client, auth, unit["id"], person["entry"])).json()["id"]
    assert (await act(client, auth, mid, "accept", user="cas_admin")).status_code == 200
    on = {"issued_on": today().isoformat()}
    assert (await act(client, auth, mid, "voucher-issued", on)).status_code == 200
    on = {"submitted_on": today().isoformat()}
    assert (await act(client, auth, mid, "rfta-submitted", on)).status_code == 200
    counts = (
        "SELECT (SELECT count(*) FROM match_events WHERE match_id = :m) AS events, "
        "(SELECT count(*) FROM notification_events WHERE entity_id = :m) AS notices, "
        "(SELECT count(*) FROM client_access WHERE organization_id = :o) AS access"
    )
    agency = world.org_id("access_point_2")
    [before] = await rows(db, counts, m=uuid.UUID(mid), o=agency)
    # A case manager of the agency (a member, but no referrals:respond).
    body = {"organization_id": str(agency), "user_id": str(world.user_id("case_manager2"))}
    r = await act(client, auth, mid, "ehv-case-manager", body, user="cas_admin")
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "user_id"], r.text
    assert "referrals:respond" in r.json()["detail"]
    [after] = await rows(db, counts, m=uuid.UUID(mid), o=agency)
    assert after == before
    [m] = await rows(
        db,
        "SELECT status, ehv_case_manager_organization_id, ehv_case_manager_user_id, version "
        "FROM matches WHERE id = :m",
        m=uuid.UUID(mid),
    )
    assert m["status"] == "ehv_rfta_submitted" and m["ehv_case_manager_user_id"] is None
    assert m["ehv_case_manager_organization_id"] is None
    # A contact who may respond is assigned, and records the outcome.
    r = await act(
        client, auth, mid, "ehv-case-manager", await ehv_contact(db, world), user="cas_admin"
    )
    assert r.status_code == 200, r.text
    done = await act(
        client,
        auth,
        mid,
        "outcome",
        {"provider_result": "client_enrolled"},
        user="case_manager2",
        org="housing_2",
    )
    assert done.status_code == 200 and done.json()["status"] == "enrolled", done.text


async def test_matches_and_program_entries_stay_inside_the_projects_operating_period(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    """HUD 2.03: a project outside its operating period takes no match (409, nothing written),
    and the program entry a provider records on accepting lies inside the period (422 naming
    ``entry_date``, the match still waiting)."""
    project = world.project_id("h1_psh")
    unit = await make_unit(client, auth, project)
    person = await place(client, auth, db)
    period = "UPDATE projects SET operating_end_date = :e WHERE id = :p"
    await db.execute(text(period), {"e": today() - timedelta(days=1), "p": project})
    counts = (
        "SELECT (SELECT count(*) FROM matches WHERE unit_id = :u) AS matches, "
        "(SELECT count(*) FROM ce_events WHERE enrollment_id = :e) AS events"
    )
    args = {"u": uuid.UUID(unit["id"]), "e": person["enrollment"]}
    [before] = await rows(db, counts, **args)
    r = await send(client, auth, unit["id"], person["entry"])
    assert r.status_code == 409 and "not operating" in r.json()["detail"], r.text
    assert (await rows(db, counts, **args))[0] == before
    # Nor does a project of a deactivated organization (nobody there can respond).
    await db.execute(text(period), {"e": None, "p": project})
    deactivate = "UPDATE organizations SET is_active = :a WHERE id = :o"
    await db.execute(text(deactivate), {"a": False, "o": world.org_id("housing_1")})
    r = await send(client, auth, unit["id"], person["entry"])
    assert r.status_code == 409 and "deactivated" in r.json()["detail"], r.text
    assert (await rows(db, counts, **args))[0] == before
    await db.execute(text(deactivate), {"a": True, "o": world.org_id("housing_1")})
    # Sent while it operated (five days ago); it closed three days ago.
    await db.execute(text(period), {"e": None, "p": project})
    r = await send(client, auth, unit["id"], person["entry"])
    assert r.status_code == 201, r.text
    mid = r.json()["id"]
    await db.execute(
        text("UPDATE matches SET sent_on = :d WHERE id = :m"),
        {"d": today() - timedelta(days=5), "m": uuid.UUID(mid)},
    )
    await db.execute(text(period), {"e": today() - timedelta(days=3), "p": project})
    late = {"entry_date": (today() - timedelta(days=2)).isoformat()}
    r = await act(client, auth, mid, "accept", late)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "entry_date"], r.text
    [m] = await rows(db, "SELECT status FROM matches WHERE id = :m", m=uuid.UUID(mid))
    assert m["status"] == "sent"
    inside = {"entry_date": (today() - timedelta(days=4)).isoformat()}
    r = await act(client, auth, mid, "accept", inside)
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text


async def test_a_deactivated_account_is_not_made_the_ehv_contact(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    """The contact takes the match over: an account that is deactivated (it cannot sign in) is
    refused like a non-member (422 naming ``user_id``), and nothing is written."""
    project = world.project_id("h1_rrh")
    await _profile(client, auth, project, funding_sources=[52])
    unit = await make_unit(client, auth, project)
    person = await place(client, auth, db)
    mid = (await send(client, auth, unit["id"], person["entry"])).json()["id"]
    assert (await act(client, auth, mid, "accept", user="cas_admin")).status_code == 200
    on = {"issued_on": today().isoformat()}
    assert (await act(client, auth, mid, "voucher-issued", on)).status_code == 200
    on = {"submitted_on": today().isoformat()}
    assert (await act(client, auth, mid, "rfta-submitted", on)).status_code == 200
    body = await ehv_contact(db, world)
    await db.execute(
        text("UPDATE users SET is_active = false WHERE id = :u"), {"u": uuid.UUID(body["user_id"])}
    )
    counts = (
        "SELECT (SELECT count(*) FROM match_events WHERE match_id = :m) AS events, "
        "(SELECT count(*) FROM client_access WHERE organization_id = :o) AS access"
    )
    agency = uuid.UUID(body["organization_id"])
    [before] = await rows(db, counts, m=uuid.UUID(mid), o=agency)
    r = await act(client, auth, mid, "ehv-case-manager", body, user="cas_admin")
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "user_id"], r.text
    [after] = await rows(db, counts, m=uuid.UUID(mid), o=agency)
    assert after == before
    [m] = await rows(
        db, "SELECT status, ehv_case_manager_user_id FROM matches WHERE id = :m", m=uuid.UUID(mid)
    )
    assert m["status"] == "ehv_rfta_submitted" and m["ehv_case_manager_user_id"] is None


async def test_ehv_route(client: httpx.AsyncClient, auth: Auth, db: Any, world: World) -> None:
    project = world.project_id("h1_rrh")
    profile = await _profile(client, auth, project, funding_sources=[52])
    assert profile["ehv"] is True and profile["referral_event"] == 17
    unit = await make_unit(client, auth, project)
    person = await place(client, auth, db)
    await db.execute(text("DELETE FROM area_ties WHERE client_id = :c"), {"c": person["client"]})
    r = await send(client, auth, unit["id"], person["entry"])
    assert r.status_code == 422 and "Area ties" in r.json()["detail"]
    cm = await auth.headers("case_manager", org="cas")
    r = await client.post(
        f"/api/v1/clients/{person['client']}/area-ties",
        json={"area_ties": [{"tie_date": today().isoformat(), "area": "coc_area", "how": "lived"}]},
        headers=cm,
    )
    assert r.status_code == 201, r.text
    r = await send(client, auth, unit["id"], person["entry"])
    assert r.status_code == 201, r.text
    match = r.json()
    assert match["is_ehv"] is True and match["referral_event"] == 17
    # The CoC admin accepts an EHV match, not the provider.
    r = await act(client, auth, match["id"], "accept")
    assert r.status_code == 403, r.text
    r = await act(client, auth, match["id"], "accept", user="cas_admin")
    assert r.status_code == 200 and r.json()["status"] == "ehv_navigation"
    r = await act(
        client, auth, match["id"], "rfta-submitted", {"submitted_on": today().isoformat()}
    )
    assert r.status_code == 409, r.text
    r = await act(client, auth, match["id"], "voucher-issued", {"issued_on": today().isoformat()})
    assert r.status_code == 200 and r.json()["status"] == "ehv_voucher_issued"
    assert r.json()["program_enrollment_id"]
    r = await act(
        client, auth, match["id"], "rfta-submitted", {"submitted_on": today().isoformat()}
    )
    assert r.status_code == 200 and r.json()["status"] == "ehv_rfta_submitted"
    body = {
        "organization_id": str(world.org_id("housing_2")),
        "user_id": str(world.user_id("case_manager")),
    }
    r = await act(client, auth, match["id"], "ehv-case-manager", body, user="cas_admin")
    assert r.status_code == 422, r.text  # not a member of that agency
    body["user_id"] = str(world.user_id("system_admin"))
    r = await act(client, auth, match["id"], "ehv-case-manager", body, user="cas_admin")
    assert r.status_code in (200, 422), r.text
    body = await ehv_contact(db, world)
    r = await act(client, auth, match["id"], "ehv-case-manager", body, user="cas_admin")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ehv_case_management"
    # The case-manager agency now sees the match.
    cm2 = await auth.headers("case_manager2", org="housing_2")
    assert (await client.get(f"{M}/{match['id']}", headers=cm2)).status_code == 200
    r = await act(client, auth, match["id"], "outcome", {"provider_result": "client_enrolled"})
    assert r.status_code == 200 and r.json()["status"] == "enrolled"
    assert r.json()["ce_exit_subsidy_type"] == 420


async def test_a_ce_exit_with_an_active_match_is_refused(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    """Exiting the household from Coordinated Entry while its match is still active (sent,
    accepted, on the EHV route) would leave a referral the provider can still accept and
    succeed on a closed stay: like the void, the exit is a 409 naming the match, nothing is
    written. Once the provider records the outcome or the CAS admin cancels, the exit goes
    through."""
    unit = await make_unit(client, auth, world.project_id("h1_psh"))
    person = await place(client, auth, db)
    match = (await send(client, auth, unit["id"], person["entry"])).json()
    manager = {**(await auth.headers("case_manager", org="cas")), **ANY_VERSION}
    url = f"/api/v1/enrollments/{person['enrollment']}/exit"
    body = {"exit_date": today().isoformat(), "destination": 410, "exit_reason": "left_coc_area"}
    state = (
        "SELECT (SELECT exit_date FROM enrollments WHERE id = :e) AS exit_date, "
        "(SELECT count(*) FROM exits WHERE enrollment_id = :e) AS exits, "
        "(SELECT count(*) FROM enrollment_assessments WHERE enrollment_id = :e) AS passes, "
        "(SELECT count(*) FROM queue_entries WHERE id = :q AND closed_at IS NULL) AS queued, "
        "(SELECT count(*) FROM case_assignments WHERE enrollment_id = :e "
        " AND status = 'active') AS assigned, "
        "(SELECT status FROM matches WHERE id = :m) AS match"
    )
    args = {"e": person["enrollment"], "q": person["entry"], "m": uuid.UUID(match["id"])}
    [before] = await rows(db, state, **args)
    for status in ("sent", "accepted"):
        r = await client.post(url, json=body, headers=manager)
        assert r.status_code == 409, r.text
        problem = r.json()
        assert problem["match_id"] == match["id"] and problem["match_status"] == status
        assert "match" in problem["detail"]
        [after] = await rows(db, state, **args)
        assert after == {**before, "match": status}
        if status == "sent":
            assert (await act(client, auth, match["id"], "accept")).status_code == 200
            [before] = await rows(db, state, **args)
    r = await act(
        client, auth, match["id"], "cancel", {"reason": "sent_in_error"}, user="cas_admin"
    )
    assert r.status_code == 200, r.text
    r = await client.post(url, json=body, headers=manager)
    assert r.status_code == 201, r.text
    [done] = await rows(db, state, **args)
    assert done["exits"] == 1 and done["queued"] == 0 and done["exit_date"] == today()


async def test_units_only_on_residential_project_types(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    """HUD counts beds and units for ES, TH, SH and PH projects (2.02.6 types 0, 1, 2, 3, 8, 9,
    10, 13): a unit of a street outreach, services only, day shelter, prevention or other
    project would be a vacancy CAS refers to where nobody can move in. Creating one is a 422
    naming the project's type, nothing written; a Safe Haven takes units."""
    admin = await auth.headers("system_admin")
    body = {"label": "Room 1", "bedrooms": 0}
    count_units = "SELECT count(*) AS n FROM units"
    count_events = "SELECT count(*) AS n FROM unit_events"
    outreach = world.project_id("ap1_outreach")  # 4 Street Outreach
    projects = {4: outreach}
    for ptype in (6, 7, 8, 11, 12):
        r = await client.post(
            "/api/v1/projects",
            headers=admin,
            json={
                "organization_id": str(world.org_id("access_point_1")),
                "name": f"Type {ptype} {uuid.uuid4().hex[:6]}",
                "project_type": ptype,
                "operating_start_date": "2024-01-01",
            },
        )
        assert r.status_code == 201, r.text
        projects[ptype] = uuid.UUID(r.json()["id"])
    [units_before] = await rows(db, count_units)
    [events_before] = await rows(db, count_events)
    for ptype, project in projects.items():
        if ptype == 8:
            continue
        r = await client.post(f"/api/v1/projects/{project}/units", json=body, headers=admin)
        assert r.status_code == 422, r.text
        problem = r.json()
        assert problem["errors"][0]["loc"] == ["path", "project_id"], r.text
        assert problem["project_type"] == ptype
        assert "project type" in problem["detail"].lower()
        assert await rows(db, count_units) == [units_before]
        assert await rows(db, count_events) == [events_before]
    r = await client.post(f"/api/v1/projects/{projects[8]}/units", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["project_id"] == str(projects[8]) and r.json()["status"] == "available"
    [units_after] = await rows(db, count_units)
    assert units_after["n"] == units_before["n"] + 1


async def test_a_project_with_units_keeps_a_residential_type(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    """Changing a project that has units to a type without beds (here Street Outreach) would
    leave vacancies nobody can move into: 422 naming ``project_type``, nothing changed; another
    residential type is fine."""
    project = world.project_id("h1_rrh")
    await make_unit(client, auth, project)
    admin = await auth.headers("system_admin")
    url = f"/api/v1/projects/{project}"
    r = await client.patch(url, json={"project_type": 4}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "project_type"], r.text
    [row] = await rows(db, "SELECT project_type FROM projects WHERE id = :p", p=project)
    assert row["project_type"] == 13
    r = await client.patch(url, json={"project_type": 3}, headers=admin)
    assert r.status_code == 200 and r.json()["project_type"] == 3, r.text


async def test_the_referral_event_follows_the_project_type(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    """HUD 4.20.2 has a referral event for each residential project type but Safe Haven: 10 ES
    (entry/exit and night-by-night), 11 TH, 12 joint TH-RRH (funding 44), 13 RRH, 14 PSH, 15
    other PH (housing only, with services). A Safe Haven match is sent and recorded without a
    4.20 event (HUD has none for it), so its export holds no invented code."""
    admin = await auth.headers("system_admin")
    expected = {(0, None): 10, (1, None): 10, (2, None): 11, (2, 44): 12, (3, None): 14}
    expected |= {(8, 6): None, (9, None): 15, (10, None): 15, (13, None): 13}
    for (ptype, funder), code in expected.items():
        r = await client.post(
            "/api/v1/projects",
            headers=admin,
            json={
                "organization_id": str(world.org_id("housing_1")),
                "name": f"Type {ptype} {uuid.uuid4().hex[:6]}",
                "project_type": ptype,
                "funding_source": funder,
                "referrals_through_cas": True,
                "operating_start_date": "2024-01-01",
            },
        )
        assert r.status_code == 201, r.text
        unit = await make_unit(client, auth, uuid.UUID(r.json()["id"]))
        person = await place(client, auth, db)
        events = "SELECT event FROM ce_events WHERE enrollment_id = :e AND event <> 2"
        before = await rows(db, events, e=person["enrollment"])
        r = await send(client, auth, unit["id"], person["entry"])
        assert r.status_code == 201, r.text
        assert r.json()["referral_event"] == code, (ptype, funder, r.text)
        after = await rows(db, events, e=person["enrollment"])
        added = [] if code is None else [code]
        assert sorted(x["event"] for x in after) == sorted([x["event"] for x in before] + added), (
            ptype,
            funder,
            after,
        )


async def test_a_member_removed_from_a_referred_household_leaves_the_providers_view(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    """A match gives the provider ``referred`` access to the household's members; a member who
    leaves the household (removed while the match is open) is no longer part of that referral:
    the provider stops seeing them at once (and the match's end, which revokes only the current
    members, cannot miss them). The head stays visible; another CoC's or a hidden client's
    access is not touched."""
    cm = await auth.headers("case_manager", org="cas")
    person = await place(client, auth, db)
    r = await client.post(
        "/api/v1/clients", headers=cm, json={"first_name": "Leaving", "last_name": "Member"}
    )
    assert r.status_code == 201, r.text
    leaving = uuid.UUID(r.json()["id"])
    [row] = await rows(
        db, "SELECT household_id, coc_id FROM queue_entries WHERE id = :e", e=person["entry"]
    )
    await db.execute(
        text(
            "INSERT INTO household_members (id, coc_id, household_id, client_id, "
            "relationship_to_hoh, created_at, updated_at) "
            "VALUES (:i, :coc, :h, :c, 3, now(), now())"
        ),
        {"i": uuid.uuid4(), "coc": row["coc_id"], "h": row["household_id"], "c": leaving},
    )
    unit = await make_unit(client, auth, world.project_id("h1_rrh"))
    match = (await send(client, auth, unit["id"], person["entry"])).json()
    provider = world.org_id("housing_1")
    head = uuid.UUID(str(person["client"]))
    assert await _referred(db, provider, [head, leaving]) == {head, leaving}
    hp = await auth.headers("housing_provider")
    assert (await client.get(f"/api/v1/clients/{leaving}", headers=hp)).status_code == 200

    r = await client.delete(
        f"/api/v1/households/{row['household_id']}/members/{leaving}",
        headers={**cm, **ANY_VERSION},
    )
    assert r.status_code == 200, r.text
    assert str(leaving) not in {m["client_id"] for m in r.json()["members"]}
    assert await _referred(db, provider, [head, leaving]) == {head}
    assert (await client.get(f"/api/v1/clients/{leaving}", headers=hp)).status_code == 404
    assert (await client.get(f"/api/v1/clients/{head}", headers=hp)).status_code == 200
    # The match goes on; its end still ends the head's access.
    r = await act(client, auth, match["id"], "decline", {"reason": "another_housing_option"})
    assert r.status_code == 200, r.text
    assert await _referred(db, provider, [head, leaving]) == set()
