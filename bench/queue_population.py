"""A seeded queue for the queue benchmark: open queue entries with their clients, enrollments,
case managers, Current Living Situations and Document Check documents, set-based.

Built on ``bench.matching.seed_matching`` (households of one to four people, clients by COPY,
Coordinated Entry enrollments, the head's assessment, income and area tie, the entries with
their facts as the queue's refresh keeps them, a few matches: sent, parked, declined), plus:

* ``CASE_MANAGERS`` case-manager users (members of the two access points), each the active
  case manager of an equal share of the households (the head's CE enrollment): the
  ``case_manager_id`` filter of the list;
* two Current Living Situations per head (at entry, and a recent contact for most);
* Document Check documents of each head: identity, and for the households whose entries show
  documentation of disability on file, the verification of homelessness and of disability
  (file columns filled; the bytes are not stored -- the list never reads them).
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from app import clock
from app.services.demo import SeededCoc
from bench.harness import Bench
from bench.matching import VACANCY_PROJECT, Seeded, _each, seed_matching

CASE_MANAGERS = 400
EXTRA_TABLES = ("users", "memberships", "case_assignments", "current_living_situations",
                "document_checks")  # fmt: skip


def approved_for(open_entries: int) -> int:
    """``seed_matching`` adds one entry in another intake status per 20 approved: the number
    of approved entries that makes ``open_entries`` open entries (give or take one)."""
    return max(1, round(open_entries * 20 / 21))


# $1 coc, $2 ap1, $3 ap2, $4 count, $5 run tag
_USERS = """
INSERT INTO users (id, email, full_name, password_hash, is_active, failed_login_count, version,
                   created_at, updated_at)
SELECT gen_random_uuid(), 'bench.cm' || n || '.' || $5 || '@demo.example',
       'Bench Case Manager ' || n, NULL, true, 0, 1, now(), now()
FROM generate_series(1, $4::int) AS n;
CREATE TEMP TABLE _cm AS
SELECT id AS user_id, row_number() OVER (ORDER BY email) - 1 AS n,
       CASE WHEN row_number() OVER (ORDER BY email) % 2 = 0 THEN $2::uuid ELSE $3::uuid END
           AS organization_id
FROM users WHERE email LIKE 'bench.cm%.' || $5 || '@demo.example';
INSERT INTO memberships (id, user_id, organization_id, role, created_at, updated_at, coc_id)
SELECT gen_random_uuid(), user_id, organization_id, 'case_manager', now(), now(), $1 FROM _cm
"""

# $1 count of case managers, $2 today, $3 CAS user (recorded by), $4 CAS organization, $5 coc
_RECORDS = """
CREATE TEMP TABLE _heads AS
SELECT q.head_client_id AS client_id, q.head_enrollment_id AS enrollment_id, q.placed_on,
       'disability' = ANY (q.documents_on_file) AS documented,
       row_number() OVER (ORDER BY q.id) AS rn
FROM queue_entries q WHERE q.closed_at IS NULL;
INSERT INTO case_assignments (id, enrollment_id, client_id, user_id, organization_id,
                              start_date, status, version, created_at, updated_at, coc_id)
SELECT gen_random_uuid(), h.enrollment_id, h.client_id, cm.user_id, cm.organization_id,
       h.placed_on, 'active', 1, now(), now(), $5
FROM _heads h JOIN _cm cm ON cm.n = h.rn % $1::int;
INSERT INTO current_living_situations (id, enrollment_id, client_id, created_by_user_id,
    created_by_organization_id, information_date, current_living_situation, created_at,
    updated_at, coc_id)
SELECT gen_random_uuid(), h.enrollment_id, h.client_id, $3, $4, h.placed_on, 116,
       h.placed_on::timestamptz, h.placed_on::timestamptz, $5
FROM _heads h;
INSERT INTO current_living_situations (id, enrollment_id, client_id, created_by_user_id,
    created_by_organization_id, information_date, current_living_situation, created_at,
    updated_at, coc_id)
SELECT gen_random_uuid(), h.enrollment_id, h.client_id, $3, $4,
       greatest(h.placed_on, $2::date - (h.rn % 120)::int), 101, now(), now(), $5
FROM _heads h WHERE h.rn % 10 <> 0;
INSERT INTO document_checks (id, coc_id, client_id, uploaded_by_user_id,
    uploaded_by_organization_id, category, item, document_type, document_type_label,
    comments, verification_date, storage_key, content_type, size_bytes, sha256,
    original_filename, version, created_at, updated_at)
SELECT gen_random_uuid(), c.coc_id, h.client_id, $3, $4, d.category, d.item, d.document_type,
       d.label, CASE WHEN d.category = 'disability' THEN 'Doctor''s letter on file' END,
       h.placed_on, replace(gen_random_uuid()::text, '-', ''), 'application/pdf', 1024,
       repeat('0', 64), 'document.pdf', 1, h.placed_on::timestamptz, h.placed_on::timestamptz
FROM _heads h
JOIN clients c ON c.id = h.client_id
CROSS JOIN (VALUES ('homeless', 'identity', 'photo_id', 'Photo ID', false),
                   ('homeless', 'homeless', 'third_party_letter', 'Third-party letter', true),
                   ('disability', 'disability', 'doctor_letter', 'Doctor''s letter', true))
    AS d (category, item, document_type, label, needs_documented)
WHERE h.documented OR NOT d.needs_documented
"""


@dataclass
class QueueSeeded:
    matching: Seeded
    case_managers: list[uuid.UUID]
    extra_rows: dict[str, int]
    seconds: float

    def figures(self) -> dict[str, Any]:
        figures = self.matching.figures()
        figures["rows"] = {**figures["rows"], **self.extra_rows}
        figures["open_entries"] = sum(self.matching.statuses.values())
        figures["case_managers"] = len(self.case_managers)
        figures["seed_seconds"] = self.seconds
        return figures


async def _vacancy_unit(conn: asyncpg.Connection, world: SeededCoc) -> uuid.UUID:
    """One unit of the project the seeded declines are for."""
    unit = uuid.uuid4()
    await conn.execute(
        "INSERT INTO units (id, coc_id, project_id, label, bedrooms, status, status_changed_at, "
        "version, created_at, updated_at) "
        "VALUES ($1, $2, $3, 'V-01', 1, 'available', now(), 1, now(), now())",
        unit,
        world.coc.id,
        world.projects[VACANCY_PROJECT].id,
    )
    return unit


async def seed_queue(
    bench: Bench,
    world: SeededCoc,
    open_entries: int,
    rng: random.Random,
    *,
    case_managers: int = CASE_MANAGERS,
    check_foreign_keys: bool = False,
) -> QueueSeeded:
    """About ``open_entries`` open queue entries (95 % approved) and their records."""
    started = time.perf_counter()
    conn = await bench.connect()
    try:
        unit = await _vacancy_unit(conn, world)
    finally:
        await conn.close()
    seeded = await seed_matching(
        bench,
        world,
        approved_for(open_entries),
        rng,
        unit,
        check_foreign_keys=check_foreign_keys,
    )
    coc = world.coc.id
    ap1, ap2 = world.orgs["access_point_1"].id, world.orgs["access_point_2"].id
    cas_user, cas_org = world.users["case_manager"].id, world.orgs["cas"].id
    today = clock.today(world.coc)
    conn = await bench.connect()
    try:
        if not check_foreign_keys:
            # As in ``seed_matching``: rows built consistent, no per-row triggers.
            with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
                await conn.execute("SET session_replication_role = replica")
        tag = uuid.uuid4().hex[:8]
        await _each(conn, _USERS, coc, ap1, ap2, case_managers, tag)
        await _each(conn, _RECORDS, case_managers, today, cas_user, cas_org, coc)
        await conn.execute("SET session_replication_role = origin")
        # The facts stay as seeded (fresh), whatever a trigger marked.
        await conn.execute("UPDATE queue_entries SET facts_stale = false WHERE facts_stale")
        managers = [r[0] for r in await conn.fetch("SELECT user_id FROM _cm ORDER BY n")]
        extra = {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in EXTRA_TABLES}
    finally:
        await conn.close()
    await bench.vacuum_analyze(*EXTRA_TABLES, "queue_entries")
    return QueueSeeded(
        matching=seeded,
        case_managers=managers,
        extra_rows=extra,
        seconds=round(time.perf_counter() - started, 1),
    )
