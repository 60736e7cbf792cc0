"""The population of the load benchmark (``bench/load.py``), set-based, on top of the queue
benchmark's (``bench.queue_population.seed_queue``: households with their clients, Coordinated
Entry enrollments, assessments, income, area ties, open queue entries, 400 case managers with
their case assignments, Current Living Situations, Document Check documents, a few matches):

* the households whose intake status the run moves are assigned to the demo case manager (who
  logs in), so the Case Manager Review's move is hers to make;
* vacant units of Hope Rapid Re-Housing (no requirements), one per match the run may make;
* an inbox for each user who logs in: notifications of intake-status changes about queue
  entries, most of them read (acknowledged), the rest new (the bell's count).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from app.services.demo import SeededCoc
from bench.harness import Bench
from bench.matching import OTHER_PROJECT, _each
from bench.queue_population import QueueSeeded

# Who logs in (demo users of ``bench.seed_coc``) and the organization each inbox is for.
INBOXES = (
    ("case_manager", "access_point_1"),
    ("case_manager2", "access_point_2"),
    ("cas_admin", "cas"),
    ("housing_provider", "housing_1"),
)

# $1 coc, $2 events, $3 user ids, $4 their organizations, $5 share read (1 in $5 stays new)
_INBOX = """
CREATE TEMP TABLE _ev AS
SELECT gen_random_uuid() AS id, q.id AS entry_id, q.head_client_id AS client_id,
       now() - q.n * interval '17 minutes' AS at
FROM (SELECT id, head_client_id, row_number() OVER (ORDER BY tie_breaker) AS n
      FROM queue_entries WHERE closed_at IS NULL) q
WHERE q.n <= $2;
INSERT INTO notification_events (id, coc_id, event_type, entity_type, entity_id, client_id,
                                 data, created_at, fanned_out_at)
SELECT e.id, $1, 'queue.intake_status_changed', 'queue_entry', e.entry_id, e.client_id,
       jsonb_build_object('queue_entry_id', e.entry_id, 'from', 'pending', 'to', 'approved',
                          'audience', jsonb_build_array('case_managers')),
       e.at, e.at
FROM _ev e;
INSERT INTO notifications (id, coc_id, user_id, organization_id, event_id, kind, entity_type,
                           entity_id, client_id, data, occurred_at, created_at,
                           acknowledged_at, emailed)
SELECT gen_random_uuid(), $1, u.user_id, u.organization_id, e.id,
       'queue.intake_status_changed', 'queue_entry', e.entry_id, e.client_id,
       jsonb_build_object('queue_entry_id', e.entry_id, 'from', 'pending', 'to', 'approved'),
       e.at, e.at,
       CASE WHEN row_number() OVER (PARTITION BY u.user_id ORDER BY e.at) % $5 <> 0
            THEN e.at + interval '1 hour' END,
       false
FROM _ev e
CROSS JOIN unnest($3::uuid[], $4::uuid[]) AS u (user_id, organization_id)
"""

# $1 the demo case manager, $2 her organization, $3 the entries
_ASSIGN = """
UPDATE case_assignments ca SET user_id = $1, organization_id = $2
FROM queue_entries q
WHERE q.id = ANY($3::uuid[]) AND ca.enrollment_id = q.head_enrollment_id
  AND ca.status = 'active'
"""

# $1 coc, $2 project, $3 count
_UNITS = """
INSERT INTO units (id, coc_id, project_id, label, bedrooms, status, status_changed_at, version,
                   created_at, updated_at)
SELECT gen_random_uuid(), $1, $2, 'L-' || n, 1, 'available', now(), 1, now(), now()
FROM generate_series(1, $3::int) AS n
RETURNING id
"""


@dataclass
class LoadPopulation:
    """What the run works on (ids), and the seed's figures."""

    queue: QueueSeeded
    # Approved entries whose intake status the run moves round (approved -> incomplete ->
    # second review -> approved), their version (ETag) as seeded.
    cycled: list[tuple[uuid.UUID, int]]
    # Approved entries, in no match, for the matches (each used once) ...
    to_match: list[uuid.UUID]
    # ... and the vacant units they are matched to.
    units: list[uuid.UUID]
    # Heads of approved entries the Document Check uploads are for.
    upload_clients: list[uuid.UUID]
    # (first name, last name, DOB) of every client: an intake's new client is none of them.
    people: set[tuple[str, str, str]]
    notifications: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        figures = self.queue.figures()
        figures["rows"]["notifications"] = self.notifications
        figures["rows"]["units"] += len(self.units)
        figures["cycled_entries"] = len(self.cycled)
        figures["entries_to_match"] = len(self.to_match)
        figures["vacant_units"] = len(self.units)
        figures["upload_clients"] = len(self.upload_clients)
        figures["seed_seconds"] = round(self.queue.seconds + self.seconds, 1)
        return figures


async def seed_load(
    bench: Bench,
    world: SeededCoc,
    queue: QueueSeeded,
    *,
    cycled: int,
    matches: int,
    notifications_per_user: int,
    unread_one_in: int = 5,
) -> LoadPopulation:
    """The load's additions to the seeded queue (see the module)."""
    started = time.perf_counter()
    coc = world.coc.id
    conn = await bench.connect()
    try:
        approved = [
            (r[0], r[1], r[2])
            for r in await conn.fetch(
                "SELECT q.id, q.version, q.head_client_id FROM queue_entries q "
                "WHERE q.closed_at IS NULL AND q.intake_status = 'approved' "
                "AND q.referral_status = 'none' "
                "AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.queue_entry_id = q.id) "
                "ORDER BY q.tie_breaker"
            )
        ]
        cycled = min(cycled, len(approved) // 3)
        matches = min(matches, len(approved) - cycled)
        cycle = approved[:cycled]
        matched = approved[cycled : cycled + matches]
        # Uploads: households the run neither moves nor matches when there are enough.
        rest = approved[cycled + matches :] or approved[cycled:]
        await conn.execute(
            _ASSIGN,
            world.users["case_manager"].id,
            world.orgs["access_point_1"].id,
            [e for e, _, _ in cycle],
        )
        units = [
            r[0] for r in await conn.fetch(_UNITS, coc, world.projects[OTHER_PROJECT].id, matches)
        ]
        users = [world.users[u].id for u, _ in INBOXES]
        orgs = [world.orgs[o].id for _, o in INBOXES]
        await _each(conn, _INBOX, coc, notifications_per_user, users, orgs, unread_one_in)
        seeded = int(await conn.fetchval("SELECT count(*) FROM notifications"))
        people = {
            (r[0].lower(), r[1].lower(), r[2].isoformat())
            for r in await conn.fetch(
                "SELECT first_name, last_name, dob FROM clients "
                "WHERE first_name IS NOT NULL AND last_name IS NOT NULL AND dob IS NOT NULL"
            )
        }
    finally:
        await conn.close()
    await bench.vacuum_analyze("units", "notifications", "notification_events", "case_assignments")
    return LoadPopulation(
        queue=queue,
        cycled=[(e, v) for e, v, _ in cycle],
        to_match=[e for e, _, _ in matched],
        units=units,
        upload_clients=[c for _, _, c in rest],
        people=people,
        notifications=seeded,
        seconds=round(time.perf_counter() - started, 1),
    )
