"""The end-to-end journey over HTTP, as each role (issue 16): admins invite the people who do the
work, who accept and log in; a case manager's intake places a household on the queue; documents
are uploaded; the CAS admin marks the documentation incomplete, the case manager sends it back
for a second review, the CAS admin approves; the housing provider opens a unit; the CAS admin
finds the household among the candidates and matches it; the match nears its stall date; the
provider parks it; the park ends and the household is a candidate again; a new match is accepted,
the program intake done and its outcome recorded; the case manager exits the household from
CAS; the people in the story find it in their inboxes, the partner's webhook receiver got it,
and the HMIS CSV export holds the client, the enrollments, the intake's records, both referrals
and the exit and passes the structural checks.

Only the calendar and the background jobs are moved by hand: the clock the way the matching
tests move it (the match's stall clock and the park's end date), the jobs as the worker runs
them (notifications' fan-out, webhook deliveries, emails; the export's job)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.config import Settings
from app.models.platform import EmailMessage
from app.services.hmis.check import check_zip
from app.services.matching import notices
from tests.conftest import PASSWORD as SEEDED_PASSWORD
from tests.conftest import World
from tests.support import journey as J
from tests.support.hmis import EXPORTS, read_zip
from tests.support.hmis import run_jobs as run_background
from tests.support.intake import INTAKES, today
from tests.support.notifications import receiver, run_jobs

API = "/api/v1"


class Person:
    """Someone using the API: logs in with a password, acts for one organization."""

    def __init__(self, client: httpx.AsyncClient, email: str) -> None:
        self.client = client
        self.email = email
        self.headers: dict[str, str] = {}
        self.organization_id = ""

    async def login(self, password: str, organization_id: Any = None) -> Person:
        body: dict[str, Any] = {"email": self.email, "password": password}
        if organization_id is not None:
            body["organization_id"] = str(organization_id)
        r = await self.client.post(f"{API}/auth/login", json=body)
        assert r.status_code == 200, r.text
        self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        self.organization_id = r.json()["organization_id"]
        return self

    async def switch(self, organization_id: Any) -> None:
        r = await self.client.post(
            f"{API}/auth/switch-organization",
            json={"organization_id": str(organization_id)},
            headers=self.headers,
        )
        assert r.status_code == 200, r.text
        self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        self.organization_id = r.json()["organization_id"]

    async def get(self, path: str, status: int = 200, **params: Any) -> Any:
        r = await self.client.get(f"{API}{path}", headers=self.headers, params=params)
        assert r.status_code == status, r.text
        return r.json() if r.headers.get("content-type", "").endswith("json") else r

    async def send(
        self, method: str, path: str, body: Any = None, status: int = 200, **kw: Any
    ) -> Any:
        headers = {**self.headers, **kw.pop("headers", {})}
        r = await self.client.request(method, f"{API}{path}", json=body, headers=headers, **kw)
        assert r.status_code == status, r.text
        return r.json() if r.content else None

    async def etag(self, path: str) -> dict[str, str]:
        r = await self.client.get(f"{API}{path}", headers=self.headers)
        assert r.status_code == 200, r.text
        return {"If-Match": r.headers["ETag"]}


def invitation_token(message: EmailMessage) -> str:
    return next(
        line for line in message.body.splitlines() if line and " " not in line and len(line) > 30
    )


async def invite(
    db: AsyncSession,
    client: httpx.AsyncClient,
    inviter: Person,
    who: tuple[str, str, str, str],
    world: World,
) -> Person:
    """``inviter`` invites; the invitee reads the email, sets a password and logs in."""
    email, name, org_key, role = who
    org_id = world.org_id(org_key)
    user = await inviter.send(
        "POST",
        "/users",
        {"email": email, "full_name": name, "organization_id": str(org_id), "role": role},
        status=201,
    )
    assert user["invitation_pending"] is True and user["email"] == email
    message = await db.scalar(
        select(EmailMessage).where(
            EmailMessage.template == "invitation", EmailMessage.to_address == email
        )
    )
    assert message is not None
    r = await client.post(
        f"{API}/auth/invitations/accept",
        json={"token": invitation_token(message), "password": J.PASSWORD},
    )
    assert r.status_code == 204, r.text
    person = await Person(client, email).login(J.PASSWORD)
    assert person.organization_id == str(org_id)
    me = await person.get("/auth/me")
    assert me["organization"]["id"] == str(org_id) and me["role"] == role
    assert me["memberships"] == []  # nowhere else to switch to
    return person


def signed_by(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, s.split(",", 1)[1])
        for s in headers["webhook-signature"].split(" ")
    )


async def candidates(admin: Person, unit_id: str) -> list[str]:
    page = await admin.get(f"/units/{unit_id}/candidates", limit=200)
    return [c["queue_entry_id"] for c in page["items"]]


async def test_the_whole_journey_over_http(
    client: httpx.AsyncClient,
    db: AsyncSession,
    world: World,
    app: Any,
    store: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    day = today()
    # --- The HMIS lead's system admin and the agency admin invite the people of the story.
    system_admin = await Person(client, "system_admin@demo.example").login(SEEDED_PASSWORD)
    agency_admin = await Person(client, "agency_admin@demo.example").login(SEEDED_PASSWORD)
    cas_admin = await invite(db, client, system_admin, J.CAS_ADMIN, world)
    provider = await invite(db, client, system_admin, J.PROVIDER, world)
    manager = await invite(db, client, agency_admin, J.CASE_MANAGER, world)
    # The case manager also works in the CAS organization (Document Check is done there).
    manager_id = (await manager.get("/auth/me"))["user"]["id"]
    await system_admin.send(
        "POST",
        f"/users/{manager_id}/memberships",
        {"organization_id": str(world.org_id("cas")), "role": "case_manager"},
        status=201,
    )
    # The access point's own system hears about its clients (a partner webhook).
    with receiver() as rx:
        subscription = await agency_admin.send(
            "POST",
            "/webhook-subscriptions",
            {"url": rx.url, "event_types": J.WEBHOOK_EVENTS, "description": "Bridge CMS"},
            status=201,
        )

        # --- Intake: placed on the queue, pending.
        done = await manager.send("POST", INTAKES.removeprefix(API), J.intake(), status=201)
        assert done["outcome"] == "placed"
        client_id = done["client"]["id"]
        entry_id = done["queue_entry"]["id"]
        ce_enrollment_id = done["enrollment"]["id"]
        entry = await cas_admin.get(f"/queue-entries/{entry_id}")
        assert entry["intake_status"] == "pending" and entry["referral_status"] == "none"
        assert entry["client"]["id"] == client_id and entry["documents_on_file"] == []

        # --- Documents: the photo ID in Client Files (at the access point), the shelter
        # letter in Document Check (acting for the CAS organization).
        r = await client.post(
            f"{API}/clients/{client_id}/files",
            headers=manager.headers,
            data=J.CLIENT_FILE,
            files={"file": ("id.png", J.ID_PNG, "image/png")},
        )
        assert r.status_code == 201, r.text
        id_file = r.json()
        assert id_file["file"]["content_type"] == "image/png"
        assert id_file["file"]["sha256"] == hashlib.sha256(J.ID_PNG).hexdigest()
        await manager.switch(world.org_id("cas"))
        r = await client.post(
            f"{API}/clients/{client_id}/document-checks",
            headers=manager.headers,
            data=J.HOMELESS_CHECK,
            files={"file": ("letter.pdf", J.LETTER_PDF, "application/pdf")},
        )
        assert r.status_code == 201, r.text
        letter = r.json()
        got = await client.get(
            f"{API}/document-checks/{letter['id']}/file", headers=manager.headers
        )
        assert got.status_code == 200 and got.content == J.LETTER_PDF

        # --- The CAS admin scores it and marks the documentation incomplete.
        url = f"/queue-entries/{entry_id}"
        await cas_admin.send("PUT", f"{url}/score", J.SCORE, headers={"If-Match": "*"})
        moved = await cas_admin.send(
            "POST", f"{url}/transitions", J.INCOMPLETE, headers=await cas_admin.etag(url)
        )
        assert moved["intake_status"] == "incomplete_documentation"
        # The worker delivers the events as they come: the case manager is told what to do,
        # through the access point where the case is theirs (the inbox shows what came through
        # the organization one acts for).
        await run_jobs(sessionmaker, test_settings)
        assert (await manager.get("/notifications", kind="queue.intake_status_changed"))[
            "items"
        ] == []
        await manager.switch(world.org_id("access_point_1"))
        told = await manager.get("/notifications", limit=200)
        [status_note] = [
            n
            for n in told["items"]
            if n["kind"] == "queue.intake_status_changed" and n["client_id"] == client_id
        ]
        assert status_note["data"]["to"] == "incomplete_documentation"
        assert status_note["data"]["queue_entry_id"] == entry_id
        assert status_note["organization_id"] == str(world.org_id("access_point_1"))
        assert (await manager.get("/notifications/unread-count"))["unread"] >= 1
        await manager.switch(world.org_id("cas"))

        # --- Case Manager Review: what is missing, read-only; the case manager may only send
        # it back for a second review, after uploading the disability letter.
        review = await manager.get(f"{url}/review")
        assert [r["code"] for r in review["incomplete_reasons"]] == ["disability_verification"]
        assert (
            review["instructions_for_case_manager"] == J.INCOMPLETE["instructions_for_case_manager"]
        )
        assert review["allowed"] == ["pending_second_review"]
        r = await client.post(
            f"{API}/clients/{client_id}/document-checks",
            headers=manager.headers,
            data=J.DISABILITY_CHECK,
            files={"file": ("disability.pdf", J.DISABILITY_PDF, "application/pdf")},
        )
        assert r.status_code == 201, r.text
        refused = await client.post(
            f"{API}{url}/transitions",
            json=J.APPROVED,
            headers={**manager.headers, **await manager.etag(url)},
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["allowed"] == ["pending_second_review"]
        moved = await manager.send(
            "POST", f"{url}/transitions", J.SECOND_REVIEW, headers=await manager.etag(url)
        )
        assert moved["intake_status"] == "pending_second_review"
        # The CAS admins hear that the record is back for their review, and of the upload.
        await run_jobs(sessionmaker, test_settings)
        admin_inbox = await cas_admin.get("/notifications", limit=200)
        admin_kinds = {(n["kind"], n["client_id"]) for n in admin_inbox["items"]}
        assert ("document.uploaded", client_id) in admin_kinds
        assert ("queue.intake_status_changed", client_id) in admin_kinds
        assert (await cas_admin.get("/notifications/unread-count"))["unread"] >= 2

        # --- Approved.
        moved = await cas_admin.send(
            "POST", f"{url}/transitions", J.APPROVED, headers=await cas_admin.etag(url)
        )
        assert moved["intake_status"] == "approved"
        history = await cas_admin.get(f"{url}/transitions")
        assert [(t["from_status"], t["to_status"]) for t in history["items"]] == [
            (None, "pending"),
            ("pending", "incomplete_documentation"),
            ("incomplete_documentation", "pending_second_review"),
            ("pending_second_review", "approved"),
        ]

        # --- The housing provider opens a unit: a vacancy; the household is a candidate.
        psh = world.project_id("h1_psh")
        unit = await provider.send("POST", f"/projects/{psh}/units", J.UNIT, status=201)
        assert unit["status"] == "available" and unit["label"] == J.UNIT["label"]
        assert entry_id in await candidates(cas_admin, unit["id"])
        why = await cas_admin.get(f"/units/{unit['id']}/eligibility/{client_id}")
        assert why["eligible"] is True

        # --- The match.
        match = await cas_admin.send(
            "POST",
            "/matches",
            {"unit_id": unit["id"], "queue_entry_id": entry_id, "note": J.MATCH_NOTE},
            status=201,
        )
        assert match["status"] == "sent" and match["stall"] == "on_time"
        assert match["referral_event"] == 14
        assert (await cas_admin.get(url))["referral_status"] == "sent"
        # The provider now sees the client.
        assert (await provider.get(f"/clients/{client_id}"))["last_name"] == "Traveler"

        # --- Nine days without an answer: about to stall (the CoC's 10 days, warned 2
        # before). The clock moves the way the matching tests move it.
        await db.execute(
            text("UPDATE matches SET clock_started_at = now() - interval '9 days' WHERE id = :i"),
            {"i": uuid.UUID(match["id"])},
        )
        assert (await cas_admin.get(f"/matches/{match['id']}"))["stall"] == "about_to_stall"
        about = await cas_admin.get("/matches", about_to_stall="true")
        assert match["id"] in [m["id"] for m in about["items"]]
        # The job runner's scan records the notice once; the CAS admins get it (the worker's
        # fan-out; the provider's CAS contact too, when the provider has named one).
        async with sessionmaker() as session:
            assert await notices.about_to_stall(session, clock.now()) == 1
            assert await notices.about_to_stall(session, clock.now()) == 0
            await session.commit()
        await run_jobs(sessionmaker, test_settings)
        inbox = await cas_admin.get("/notifications", kind="match.about_to_stall")
        assert [n["kind"] for n in inbox["items"]] == ["match.about_to_stall"], inbox
        assert inbox["items"][0]["client_id"] == client_id

        # --- The provider parks it: the client cannot be reached. The unit is free again and
        # the household is held off the candidates until the park's end date.
        path = f"/matches/{match['id']}"
        parked = await provider.send("POST", f"{path}/park", J.PARK, headers={"If-Match": "*"})
        assert parked["status"] == "parked"
        assert parked["parked_until"] == (day + timedelta(days=30)).isoformat()
        entry = await cas_admin.get(url)
        assert entry["referral_status"] == "parked"
        assert (await cas_admin.get(f"/units/{unit['id']}"))["status"] == "available"
        assert entry_id not in await candidates(cas_admin, unit["id"])

        # --- The park's date comes (the calendar moved): the household is back where it was.
        for table, column in (("matches", "id"), ("queue_entries", "id")):
            key = match["id"] if table == "matches" else entry_id
            await db.execute(
                text(f"UPDATE {table} SET parked_until = :d WHERE {column} = :i"),
                {"d": day, "i": uuid.UUID(key)},
            )
        assert entry_id in await candidates(cas_admin, unit["id"])
        assert (await cas_admin.get(url))["referral_status"] == "none"

        # --- A new match, accepted with the program intake's entry date.
        second = await cas_admin.send(
            "POST",
            "/matches",
            {"unit_id": unit["id"], "queue_entry_id": entry_id, "note": "Back from the park."},
            status=201,
        )
        assert second["id"] != match["id"] and second["stall"] == "on_time"
        path = f"/matches/{second['id']}"
        accepted = await provider.send(
            "POST", f"{path}/accept", J.accept(day), headers={"If-Match": "*"}
        )
        assert accepted["status"] == "accepted" and accepted["program_enrollment_id"]
        program_url = f"/enrollments/{accepted['program_enrollment_id']}"
        program = await provider.get(program_url)
        assert program["project_id"] == str(psh) and program["client_id"] == client_id
        assert program["entry_date"] == day.isoformat()
        # The program intake is the provider's: the client is theirs to see now, the household
        # enrolled into the program on the accept's entry date.
        household = await provider.get(f"{program_url}/household")
        assert [m["client_id"] for m in household["items"]] == [client_id]

        # --- The outcome: enrolled. The unit is occupied, the queue entry closed, the CE exit
        # flagged with the program's destination.
        done_match = await provider.send(
            "POST", f"{path}/outcome", J.OUTCOME, headers={"If-Match": "*"}
        )
        assert done_match["status"] == "enrolled" and done_match["referral_result"] == 1
        assert done_match["ce_exit_destination"] == 435
        assert done_match["ce_exit_subsidy_type"] == 439
        occupied = await cas_admin.get(f"/units/{unit['id']}")
        assert occupied["status"] == "occupied" and occupied["occupant_client_id"] == client_id
        entry = await cas_admin.get(url)
        assert entry["referral_status"] == "enrolled" and entry["closed_reason"] == "housed"
        assert entry["closed_at"] is not None
        timeline = await cas_admin.get(f"{path}/timeline")
        assert [t["to_status"] for t in timeline["items"]] == ["sent", "accepted", "enrolled"]
        first_timeline = await cas_admin.get(f"/matches/{match['id']}/timeline")
        assert [t["to_status"] for t in first_timeline["items"]] == ["sent", "parked"]

        # --- The CE exit, by the case manager at the access point.
        await manager.switch(world.org_id("access_point_1"))
        ce_url = f"/enrollments/{ce_enrollment_id}"
        await manager.send(
            "POST",
            f"{ce_url}/exit",
            J.exit_body(day),
            status=201,
            headers=await manager.etag(ce_url),
        )
        ce = await manager.get(ce_url)
        assert ce["exit_date"] == day.isoformat()
        assert ce["exit"]["destination"] == 435 and ce["exit"]["destination_subsidy_type"] == 439

        # --- The rest of the events delivered; no names in any notification.
        await run_jobs(sessionmaker, test_settings)
        everything = [await p.get("/notifications", limit=200) for p in (manager, cas_admin)]
        assert "Traveler" not in json.dumps(everything) and "Journey" not in json.dumps(everything)

        # --- The partner's receiver got the events of its client, signed.
        received = [json.loads(r.body) for r in rx.requests]
        for request in rx.requests:
            headers = {k.lower(): v for k, v in request.headers.items()}
            assert signed_by(subscription["secret"], headers, request.body)
        kinds = {(p["type"], p["data"].get("client_id")) for p in received}
        assert ("document.uploaded", client_id) in kinds
        assert ("queue.intake_status_changed", client_id) in kinds
        assert ("enrollment.outcome_changed", client_id) in kinds
        deliveries = await agency_admin.get(
            f"/webhook-subscriptions/{subscription['id']}/deliveries", limit=200
        )
        assert {d["status"] for d in deliveries["items"]} == {"succeeded"}
        assert len(deliveries["items"]) == len(rx.requests)

    # --- The HMIS CSV export holds the client, both enrollments and the exit, and passes the
    # structural checks.
    start = system_admin.send
    job = await start(
        "POST",
        EXPORTS.removeprefix(API),
        {"start_date": (day - timedelta(days=400)).isoformat(), "end_date": day.isoformat()},
        status=202,
    )
    await run_background(app)
    finished = await system_admin.get(f"/exports/hmis-csv/{job['id']}")
    assert finished["status"] == "succeeded", finished
    archive = await client.get(
        f"{API}/exports/hmis-csv/{job['id']}/file", headers=system_admin.headers
    )
    assert archive.status_code == 200
    with tempfile.TemporaryDirectory() as folder:
        zipped = Path(folder) / "export.zip"
        zipped.write_bytes(archive.content)
        assert check_zip(str(zipped)).issues == []
    files = read_zip(archive.content)
    person_id = client_id.replace("-", "")
    [person] = [c for c in files["Client"] if c["PersonalID"] == person_id]
    assert person["LastName"] == "Traveler" and person["DOB"] == "1979-03-14"
    enrollments = {
        e["EnrollmentID"]: e for e in files["Enrollment"] if e["PersonalID"] == person_id
    }
    ce_id = ce_enrollment_id.replace("-", "")
    program_id = accepted["program_enrollment_id"].replace("-", "")
    assert set(enrollments) == {ce_id, program_id}
    assert enrollments[program_id]["EntryDate"] == day.isoformat()
    assert enrollments[ce_id]["EntryDate"] == done["enrollment"]["entry_date"]
    [left] = [x for x in files["Exit"] if x["EnrollmentID"] == ce_id]
    assert left["Destination"] == "435" and left["DestinationSubsidyType"] == "439"
    assert left["ExitDate"] == day.isoformat()
    events = [e for e in files["Event"] if e["EnrollmentID"] == ce_id]
    # The PSH referral events, one per match; the second's result: successful referral.
    referrals = [e for e in events if e["Event"] == "14"]
    assert len(referrals) == 2, events
    assert {e["ReferralResult"] for e in referrals} >= {"1"}, referrals
    # The intake's records of the CE enrollment: its CE assessment, current living situation,
    # disabilities, health and DV, income and benefits.
    held = {
        name: sum(1 for r in files[name] if r["EnrollmentID"] == ce_id)
        for name in (
            "Assessment",
            "CurrentLivingSituation",
            "Disabilities",
            "HealthAndDV",
            "IncomeBenefits",
        )
    }
    assert all(held.values()), held
