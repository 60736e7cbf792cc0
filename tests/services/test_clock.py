"""One clock: ``now()`` in UTC, ``today(coc)`` in the CoC's time zone (a CoC setting).

The day-crossing tests freeze the instant 2026-12-02 05:30 UTC, which is 23:30 on 1 December in
Chicago (the seeded CoCs' zone): the CoC's date is the 1st although the UTC date is the 2nd.
They run under three machine zones (``TZ``), which must change nothing.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import pytest
import time_machine
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.models import AuditEvent, Client, Coc
from app.services.clients import access as client_access
from app.storage import FileStore
from tests.conftest import ROOT, Auth, World, assert_problem
from tests.support.documents import PDF, file_part, make_client
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, example

APP = ROOT / "app"
COCS = "/api/v1/cocs"

LATE_EVENING = datetime(2026, 12, 2, 5, 30, tzinfo=UTC)  # 23:30 on 1 December in Chicago
COC_DAY = "2026-12-01"
UTC_DAY = "2026-12-02"

# --- no other clock in app/ ----------------------------------------------------------------------

# Reads of the machine's clock or zone, and SQL that would compare with the database's date.
BARE_CLOCK = re.compile(
    r"\b(?:date|datetime)\s*\.\s*(?:today|now|utcnow)\s*\("
    r"|\bdatetime\s*\.\s*(?:utc)?fromtimestamp\s*\([^,()]*\)"
    r"|\btime\s*\.\s*(?:localtime|ctime|strftime|mktime)\s*\("
    r"|\bcurrent_date\b|\bcurrent_timestamp\b|\blocaltimestamp\b|\blocaltime\s*\("
    r"|\bfunc\s*\.\s*now\s*\(|[\"']now\(\)[\"']",
    re.IGNORECASE,
)
# Database-side creation stamps are fine: nothing compares them with a Python date.
ALLOWED = re.compile(r"server_default=(?:func\.now\(\)|text\(\"now\(\)\"\))")


def bare_clock_calls(source: str) -> list[str]:
    return [
        line.strip()
        for line in source.splitlines()
        if BARE_CLOCK.search(ALLOWED.sub("", line)) and not line.lstrip().startswith("#")
    ]


def test_the_grep_finds_bare_clock_calls() -> None:
    for line in (
        "x = date.today()",
        "at = datetime.now(UTC)",
        "at = datetime.now()",
        "at = datetime.utcnow()",
        "onupdate=lambda: datetime.now(UTC)",
        "d = datetime.fromtimestamp(ts)",
        "stmt.where(Client.roi_end_date >= func.current_date())",
        "stmt.where(AuthSession.expires_at > func.now())",
        'text("SELECT CURRENT_DATE")',
    ):
        assert bare_clock_calls(line), line
    for line in (
        "created_at = mapped_column(server_default=func.now(), nullable=False)",
        'merged_at = mapped_column(server_default=text("now()"), nullable=False)',
        "today = clock.today(actor)",
        "ts = datetime.fromtimestamp(record.created, UTC)",
    ):
        assert not bare_clock_calls(line), line


def test_app_reads_time_only_through_the_clock() -> None:
    found = {
        str(path.relative_to(APP.parent)): calls
        for path in sorted(APP.rglob("*.py"))
        if path.name != "clock.py" and (calls := bare_clock_calls(path.read_text()))
    }
    assert found == {}, "use app.clock (now() / today(coc)) instead: " + repr(found)


def test_today_is_the_cocs_date() -> None:
    with time_machine.travel(LATE_EVENING.timestamp(), tick=False):
        assert clock.now() == LATE_EVENING and clock.now().tzinfo is not None
        assert clock.today("America/Chicago") == date(2026, 12, 1)
        assert clock.today("UTC") == date(2026, 12, 2)
        assert clock.today("Pacific/Kiritimati") == date(2026, 12, 2)
        # Noon of a CoC day is that day in the CoC's zone, whatever the zone.
        for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "America/Chicago"):
            noon = clock.local_noon(date(2026, 12, 1), zone)
            assert noon.astimezone(clock.zone(zone)).date() == date(2026, 12, 1)
    for name in ("America/Chicago", "UTC", "Europe/Berlin"):
        assert clock.check_time_zone(name) == name
    for name in ("Mars/Olympus", "localtime", "", "../etc/passwd", "america/chicago"):
        with pytest.raises(ValueError):
            clock.check_time_zone(name)


# --- the CoC's time zone setting -----------------------------------------------------------------


async def _coc_count(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Coc)) or 0)


async def test_coc_time_zone_on_create_and_read(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    admin = await auth.headers("system_admin")
    home = await client.get(f"{COCS}/{world.home.coc.id}", headers=admin)
    assert home.json()["time_zone"] == "America/Chicago"  # the demo CoC's zone

    default = await client.post(
        COCS, headers=admin, json={"code": "TX-600", "name": "Dallas", "hmis_lead_name": "Lead"}
    )
    assert default.status_code == 201, default.text
    assert default.json()["time_zone"] == clock.DEFAULT_TIME_ZONE
    body = {"code": "HI-501", "name": "Hawaii", "hmis_lead_name": "Lead"}
    r = await client.post(COCS, headers=admin, json=body | {"time_zone": "Pacific/Honolulu"})
    assert r.status_code == 201, r.text
    assert r.json()["time_zone"] == "Pacific/Honolulu"
    row = await db.get(Coc, uuid.UUID(r.json()["id"]))
    assert row is not None and row.time_zone == "Pacific/Honolulu"
    event = await db.scalar(
        select(AuditEvent).where(AuditEvent.action == "coc.create", AuditEvent.entity_id == row.id)
    )
    assert event is not None and event.changes["time_zone"] == "Pacific/Honolulu"

    before = await _coc_count(db)
    for bad in ("Mars/Olympus", "localtime", "", "Etc/../../etc/passwd", "x" * 65, None, 5):
        refused = await client.post(
            COCS, headers=admin, json=body | {"code": "HI-502", "time_zone": bad}
        )
        assert assert_problem(refused, 422)["errors"][0]["loc"] == ["body", "time_zone"], bad
    assert await _coc_count(db) == before


async def test_coc_time_zone_update(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    admin = await auth.headers("system_admin")
    url = f"{COCS}/{world.home.coc.id}"
    version = (await client.get(url, headers=admin)).json()["version"]
    r = await client.patch(
        url, headers=admin | {"If-Match": f'"{version}"'}, json={"time_zone": "America/Denver"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["time_zone"] == "America/Denver" and r.json()["version"] == version + 1
    assert r.json()["name"] == "Home CoC"
    event = await db.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "coc.update", AuditEvent.entity_id == world.home.coc.id)
        .order_by(AuditEvent.occurred_at.desc())
        .limit(1)
    )
    assert event is not None
    assert event.changes == {"time_zone": {"old": "America/Chicago", "new": "America/Denver"}}

    for bad in ("Mars/Olympus", "", None, "localtime"):
        refused = await client.patch(url, headers=admin, json={"time_zone": bad})
        assert assert_problem(refused, 422)["errors"][0]["loc"] == ["body", "time_zone"], bad
    # Roles without CoC management are refused; another CoC is not found.
    for user, org in (("cas_admin", "cas"), ("case_manager", "cas"), ("agency_admin", None)):
        refused = await client.patch(
            url, headers=await auth.headers(user, org=org), json={"time_zone": "UTC"}
        )
        assert_problem(refused, 403)
    other = await client.patch(
        f"{COCS}/{world.other.coc.id}", headers=admin, json={"time_zone": "UTC"}
    )
    assert_problem(other, 404)
    zones = dict(
        (
            await db.execute(
                select(Coc.code, Coc.time_zone).where(Coc.code.in_(["XX-501", "YY-502"]))
            )
        )
        .tuples()
        .all()
    )
    assert zones == {"XX-501": "America/Denver", "YY-502": "America/Chicago"}


# --- crossing midnight ---------------------------------------------------------------------------


@pytest.fixture(params=["UTC", "America/Chicago", "Pacific/Kiritimati"])
def machine_tz(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The machine's own zone, which must not matter."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def late_evening(machine_tz: str) -> Iterator[None]:
    # A timestamp, not a datetime: given an aware datetime, time-machine also sets TZ.
    with time_machine.travel(LATE_EVENING.timestamp(), tick=False):
        yield


async def _count(db: AsyncSession, table: str) -> int:
    return int(await db.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


async def test_a_late_evening_cls_gets_the_cocs_date(
    late_evening: None, client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="cas")
    r = await client.post(INTAKES, json=example("pending"), headers=headers)
    assert r.status_code == 201, r.text
    enrollment = r.json()["enrollment"]
    assert enrollment["entry_date"] == COC_DAY
    assert [a["start_date"] for a in enrollment["case_assignments"]] == [COC_DAY]
    base = f"/api/v1/enrollments/{enrollment['id']}"

    cls = await client.post(
        f"{base}/current-living-situations",
        json={"current_living_situation": 116},
        headers=headers,
    )
    assert cls.status_code == 201, cls.text
    assert cls.json()["information_date"] == COC_DAY
    before = await _count(db, "current_living_situations")
    for path, body, field in (
        ("current-living-situations", {"current_living_situation": 116}, "information_date"),
        ("services", {"service_type": "financial_assistance"}, "date_provided"),
        ("case-notes", {"note": "Met at the library."}, "note_date"),
    ):
        refused = await client.post(f"{base}/{path}", json=body | {field: UTC_DAY}, headers=headers)
        problem = assert_problem(refused, 422)
        assert problem["errors"][0]["loc"] == ["body", field]
        assert "future" in problem["detail"]
    assert await _count(db, "current_living_situations") == before

    # A contact dated by day counts at noon of that day in the CoC's zone (18:00 UTC in
    # Chicago's winter), not at noon UTC; the client is active.
    read = (await client.get(base, headers=headers)).json()
    assert read["last_contact_at"] == "2026-12-01T18:00:00Z"
    assert read["inactive"] is False

    # Ending an assignment defaults to the CoC's date; the exit date is checked against it.
    assignment = enrollment["case_assignments"][0]
    ended = await client.post(
        f"{base}/case-assignments/{assignment['id']}/end", json={}, headers=headers
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["end_date"] == COC_DAY
    exit_body = {"destination": 410, "exit_reason": "left_coc_area"}
    refused = await client.post(
        f"{base}/exit", json=exit_body | {"exit_date": UTC_DAY}, headers={**headers, **ANY_VERSION}
    )
    assert assert_problem(refused, 422)["errors"][0]["loc"] == ["body", "exit_date"]
    done = await client.post(
        f"{base}/exit", json=exit_body | {"exit_date": COC_DAY}, headers={**headers, **ANY_VERSION}
    )
    assert done.status_code == 201, done.text
    assert done.json()["exit"]["exit_date"] == COC_DAY


async def test_each_coc_has_its_own_date(
    late_evening: None, client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    other_admin = await auth.headers("system_admin", coc="other")
    r = await client.patch(
        f"{COCS}/{world.other.coc.id}",
        headers=other_admin,
        json={"time_zone": "Pacific/Kiritimati"},
    )
    assert r.status_code == 200, r.text
    # At this instant it is 19:30 on 2 December on Kiritimati (UTC+14), 23:30 on the 1st in
    # Chicago: the same body is accepted in one CoC and refused in the other.
    there = await auth.headers("case_manager", org="cas", coc="other")
    here = await auth.headers("case_manager", org="cas")
    body = example("pending", entry_date=UTC_DAY)
    accepted = await client.post(INTAKES, json=body, headers=there)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["enrollment"]["entry_date"] == UTC_DAY
    refused = await client.post(INTAKES, json=body, headers=here)
    assert assert_problem(refused, 422)["errors"][0]["loc"] == ["body", "entry_date"]
    # Defaults follow each CoC's date.
    default_there = await client.post(
        INTAKES,
        json=example("pending", client={"first_name": "Ana", "last_name": "Lee"}),
        headers=there,
    )
    assert default_there.json()["enrollment"]["entry_date"] == UTC_DAY
    default_here = await client.post(INTAKES, json=example("pending"), headers=here)
    assert default_here.json()["enrollment"]["entry_date"] == COC_DAY
    base = f"/api/v1/enrollments/{accepted.json()['enrollment']['id']}"
    tomorrow_there = await client.post(
        f"{base}/current-living-situations",
        json={"current_living_situation": 116, "information_date": "2026-12-03"},
        headers=there,
    )
    assert_problem(tomorrow_there, 422)


async def test_dates_of_birth_use_the_cocs_date(
    late_evening: None, client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    person = {"first_name": "Robin", "last_name": "Day"}
    before = await db.scalar(select(func.count()).select_from(Client))
    refused = await client.post("/api/v1/clients", json=person | {"dob": UTC_DAY}, headers=headers)
    assert assert_problem(refused, 422)["errors"][0]["loc"] == ["body", "dob"]
    body = example("diverted")
    body["family_members"][0]["client"]["dob"] = UTC_DAY
    refused = await client.post(INTAKES, json=body, headers=headers)
    problem = assert_problem(refused, 422)
    assert problem["errors"][0]["loc"] == ["body", "family_members", "0", "client", "dob"]
    assert await db.scalar(select(func.count()).select_from(Client)) == before
    born = await client.post("/api/v1/clients", json=person | {"dob": COC_DAY}, headers=headers)
    assert born.status_code == 201, born.text
    url = f"/api/v1/clients/{born.json()['id']}"
    changed = await client.patch(url, json={"dob": UTC_DAY}, headers={**headers, **ANY_VERSION})
    assert assert_problem(changed, 422)["errors"][0]["loc"] == ["body", "dob"]
    assert (await client.get(url, headers=headers)).json()["dob"] == COC_DAY


async def test_releases_of_information_use_the_cocs_date(
    late_evening: None, client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    starts_tomorrow = await make_client(db, world, enrolled_in_cas=False)
    ends_today = await make_client(db, world, enrolled_in_cas=False)
    await db.execute(
        update(Client)
        .where(Client.id == starts_tomorrow.id)
        .values(roi_start_date=date(2026, 12, 2))
    )
    await db.execute(
        update(Client)
        .where(Client.id == ends_today.id)
        .values(roi_start_date=date(2026, 6, 1), roi_end_date=date(2026, 12, 1))
    )
    owner = await auth.headers("case_manager", org="access_point_1")
    other_agency = await auth.headers("case_manager2", org="access_point_2")
    for person, active in ((starts_tomorrow, False), (ends_today, True)):
        url = f"/api/v1/clients/{person.id}"
        r = await client.get(url, headers=owner)
        assert r.json()["roi_active"] is active
        seen = await client.get(url, headers=other_agency)
        assert seen.status_code == (200 if active else 404), seen.text
    ids = {
        c
        for c in await db.scalars(
            select(Client.id).where(client_access.roi_active(date(2026, 12, 1)))
        )
    }
    assert ends_today.id in ids and starts_tomorrow.id not in ids


async def test_documents_use_the_cocs_date(
    late_evening: None,
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    files = f"/api/v1/clients/{person.id}/files"
    # Expiring "today" is not expired yet (by the UTC date it would be).
    r = await client.post(
        files,
        headers=cas,
        data={"file_type": "photo_id", "expiration_date": COC_DAY},
        files=file_part(PDF),
    )
    assert r.status_code == 201, r.text
    assert r.json()["expired"] is False
    listed = await client.get(files, headers=cas, params={"expired": "false"})
    assert [f["id"] for f in listed.json()["items"]] == [r.json()["id"]]
    assert (await client.get(files, headers=cas, params={"expired": "true"})).json()["items"] == []
    refused = await client.post(
        files,
        headers=cas,
        data={"file_type": "photo_id", "issuance_date": UTC_DAY},
        files=file_part(PDF),
    )
    assert assert_problem(refused, 422)["errors"][0]["loc"] == ["body", "issuance_date"]

    checks = f"/api/v1/clients/{person.id}/document-checks"
    item = {"category": "homeless", "item": "identity", "document_type": "photo_id"}
    doc = await client.post(checks, headers=cas, data=item, files=file_part(PDF))
    assert doc.status_code == 201, doc.text
    assert doc.json()["verification_date"] == COC_DAY
    future = await client.post(
        checks, headers=cas, data=item | {"verification_date": UTC_DAY}, files=file_part(PDF)
    )
    assert assert_problem(future, 422)["errors"][0]["loc"] == ["body", "verification_date"]
    summary = await client.get(f"/api/v1/clients/{person.id}/document-summary", headers=cas)
    assert summary.json()["as_of"] == COC_DAY
