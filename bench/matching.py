"""Benchmark: candidates for one vacancy, and the eligibility explanation, over a large queue.

Usage: python bench/matching.py [--entries 100000] [--requests 1000] [--explanations 1000]
                                [--concurrency 16] [--one-at-a-time 300] [--limit 50]
                                [--workers 1]
                                [--check-foreign-keys] [--profile service.html]

One run (on ``bench.harness``):

1. a throw-away database (``BENCH_DATABASE_URL`` names a server, else an embedded PostgreSQL),
   migrated, seeded with the demo CoC and ``--entries`` approved queue entries (plus 5 % in
   the other intake statuses), set-based (``seed_matching``): households of one to four people
   (clients by COPY, ``bench.population``), their Coordinated Entry enrollments, the head's
   housing needs assessment (sex-offender registry, meth conviction), income (70 % of heads:
   a total monthly income), area ties (90 % in the CoC's area); the entries' household facts
   as the queue's refresh keeps them (chronic, veteran, youth, size and type, documents on
   file; written here, fresh); matches: 2 % of the entries in an active (sent) match at
   another project, 1 % parked (a few of those parks ended by the calendar), 1 % declined by
   the vacancy's project before;
2. the service as its own uvicorn process on a loopback port (production settings); the
   vacancy's project (Hope Permanent Supportive Housing) gets five requirements through the
   API: chronic (must), sex-offender registry (must not), an area tie to the CoC's area,
   fits the bedrooms (one bedroom: two people) and an income ceiling ($1,500 a month), and
   ten one-bedroom units;
3. as a CAS administrator, ``GET /api/v1/units/{id}/candidates?limit=N`` (the first page of
   ranked eligible candidates, each with its rank counted by the queue) over the ten units,
   ``--requests`` at ``--concurrency`` in flight; then ``GET /api/v1/units/{id}/eligibility/
   {client_id}`` for ``--explanations`` heads of household drawn from the whole queue;
4. the baseline: the candidate search's own statement
   (``app.services.matching.eligibility.candidates_stmt``, compiled; checked to answer the
   same entries in the same order with the same ranks as the service) through raw asyncpg in a
   minimal ASGI app under uvicorn (``bench/baseline_app.py``), at the same concurrency; then
   the same statement in this process without HTTP (``database_only``);
5. the latency of one request alone: ``--one-at-a-time`` candidates pages and as many
   explanations, sent one after the other (concurrency 1), after the loaded phases.

The issue names no concurrency for these targets; both are reported: under load
(``--concurrency`` in flight, the throughput ratio's conditions) and one at a time (what a
user clicking "candidates" or "why" waits when the service is not saturated).

One JSON object is printed: p50/p95/p99, requests/s, the throughput ratio to the baseline, the
service's resident memory, the load average before each phase, and the issue's targets
(candidates p95 <= 100 ms and >= 50 % of the baseline's throughput; explanation p95 <= 30 ms),
each p95 target judged under load and one at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.ext.asyncio import async_sessionmaker  # noqa: E402

from app import clock  # noqa: E402
from app.db import create_engine  # noqa: E402
from app.models import Coc  # noqa: E402
from app.models.matching import Unit  # noqa: E402
from app.services.demo import SeededCoc  # noqa: E402
from app.services.matching import eligibility  # noqa: E402
from app.services.platform.crypto import FieldCipher  # noqa: E402
from bench import harness  # noqa: E402
from bench.harness import Bench, Job  # noqa: E402
from bench.population import ORGANIZATIONS, client_rows, copy_clients  # noqa: E402

TARGET_CANDIDATES_P95_MS = 100
TARGET_RATIO = 0.5
TARGET_EXPLAIN_P95_MS = 30

VACANCY_PROJECT = "h1_psh"  # the vacancy's project: five requirements
OTHER_PROJECT = "h1_rrh"  # where the households in an active match were sent
VACANCIES = 10
REQUIREMENTS: list[dict[str, Any]] = [
    {"kind": "chronic"},
    {"kind": "sex_offender_registry", "polarity": "must_not"},
    {"kind": "area_tie", "area": "coc_area"},
    {"kind": "fits_bedrooms"},
    {"kind": "income_ceiling", "max_value": 1500},
]

TABLES = (
    "clients",
    "client_access",
    "households",
    "household_members",
    "enrollments",
    "housing_needs_assessments",
    "income_benefits",
    "area_ties",
    "queue_entries",
    "units",
    "matches",
)

# --- seeding ------------------------------------------------------------------------------------

# A uniform draw in [0, 1) from (household number, salt): the same for the same seed.
_U = """
CREATE FUNCTION pg_temp.u(k bigint, salt bigint) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (hashint8extended(k, salt) & 9007199254740991)::float8 / 9007199254740992.0 $$
"""

# One row per household with every draw ($1 entries, $2 seed, $3 today, $4 extra entries in
# the other intake statuses).
_PLAN = """
CREATE TEMP TABLE _hh AS
WITH d AS (
    SELECT k,
           pg_temp.u(k, $2 + 1) AS u_size, pg_temp.u(k, $2 + 2) AS u_days,
           pg_temp.u(k, $2 + 3) AS u_chronic, pg_temp.u(k, $2 + 4) AS u_vet,
           pg_temp.u(k, $2 + 5) AS u_youth, pg_temp.u(k, $2 + 6) AS u_score,
           pg_temp.u(k, $2 + 7) AS u_sor, pg_temp.u(k, $2 + 8) AS u_income,
           pg_temp.u(k, $2 + 9) AS u_area, pg_temp.u(k, $2 + 10) AS u_docs,
           pg_temp.u(k, $2 + 11) AS u_match, pg_temp.u(k, $2 + 12) AS u_org
    FROM generate_series(1, $1::int + $4::int) AS k
), s AS (
    SELECT d.*,
           CASE WHEN u_size < 0.70 THEN 1 WHEN u_size < 0.85 THEN 2 WHEN u_size < 0.95 THEN 3
                ELSE 4 END AS size,
           floor(1095 * power(u_days, 1.8))::int AS days_ago
    FROM d
)
SELECT k, size, days_ago,
       gen_random_uuid() AS id,
       gen_random_uuid() AS head_enrollment_id,
       gen_random_uuid() AS queue_entry_id,
       sum(size) OVER (ORDER BY k) - size + 1 AS start,
       $3::date - days_ago AS entry_date,
       CASE WHEN k <= $1 THEN 'approved'
            WHEN k % 3 = 0 THEN 'pending'
            WHEN k % 3 = 1 THEN 'incomplete_documentation'
            ELSE 'pending_second_review' END AS status,
       u_chronic < 0.45 AS chronic,
       u_vet < 0.10 AS veteran,
       size = 1 AND u_youth < 0.08 AS youth,
       CASE WHEN u_score < 0.98 THEN floor(23 * pg_temp.u(k, $2 + 13))::int END AS score,
       CASE WHEN u_sor < 0.03 THEN 1 ELSE 0 END AS sex_offender,
       CASE WHEN u_income < 0.70 THEN 100 + floor(2400 * pg_temp.u(k, $2 + 14))::int END
           AS income,
       CASE WHEN u_area < 0.90 THEN 'coc_area' WHEN u_area < 0.95 THEN 'outside_coc_area' END
           AS area,
       u_docs < 0.60 AS disability_doc,
       -- matches: sent elsewhere (active), parked (a few ended), declined by the vacancy's
       -- project; approved entries only
       CASE WHEN k > $1 THEN NULL
            WHEN u_match < 0.02 THEN 'sent'
            WHEN u_match < 0.028 THEN 'parked'
            WHEN u_match < 0.03 THEN 'park_ended'
            WHEN u_match < 0.04 THEN 'declined' END AS match,
       u_org < 0.6 AS at_ap1
FROM s
"""

_MEMBERS = """
CREATE TEMP TABLE _cl AS
SELECT id, row_number() OVER (ORDER BY id) AS rn FROM clients WHERE coc_id = $1;
CREATE INDEX ON _cl (rn);
CREATE INDEX ON _hh (k);
ANALYZE _cl;
ANALYZE _hh;
CREATE TEMP TABLE _m AS
SELECT h.k, j, c.id AS client_id,
       CASE WHEN j = 0 THEN h.head_enrollment_id ELSE gen_random_uuid() END AS enrollment_id,
       CASE WHEN j = 0 THEN 1 ELSE 2 END AS relationship
FROM _hh h
CROSS JOIN LATERAL generate_series(0, h.size - 1) AS j
JOIN _cl c ON c.rn = h.start + j;
CREATE INDEX ON _m (k);
ANALYZE _m;
UPDATE clients c SET
    dob = CASE WHEN m.j > 0
               THEN $3::date - (365 + floor(6000 * pg_temp.u(m.k * 8 + m.j, $2 + 20))::int)
               WHEN h.youth THEN $3::date - (6700 + floor(2200 * pg_temp.u(m.k, $2 + 21))::int)
               ELSE c.dob END,
    veteran_status = CASE WHEN m.j > 0 OR h.youth THEN 0
                          WHEN h.veteran THEN 1 ELSE 0 END
FROM _m m JOIN _hh h ON h.k = m.k
WHERE c.id = m.client_id
"""

# $1 coc, $2 ap1, $3 ap2, $4 CE project, $5 CoC code, $6 creating user, $7 CAS organization
_HOUSEHOLDS = """
INSERT INTO households (id, coc_id, created_by_organization_id, created_at, updated_at, version)
SELECT id, $1, CASE WHEN at_ap1 THEN $2::uuid ELSE $3::uuid END,
       entry_date::timestamptz, entry_date::timestamptz, 1
FROM _hh;
INSERT INTO household_members (id, household_id, client_id, relationship_to_hoh, created_at,
                               updated_at, coc_id)
SELECT gen_random_uuid(), h.id, m.client_id, m.relationship, h.entry_date::timestamptz,
       h.entry_date::timestamptz, $1
FROM _m m JOIN _hh h ON h.k = m.k;
INSERT INTO enrollments (
    id, coc_id, client_id, project_id, is_coordinated_entry, household_id, household_group_id,
    relationship_to_hoh, entry_date, enrollment_coc, created_by_user_id,
    created_by_organization_id, disabling_condition, living_situation, length_of_stay,
    date_to_street_essh, times_homeless_past_three_years, months_homeless_past_three_years,
    translation_needed, outcome, created_at, updated_at, version)
SELECT m.enrollment_id, $1, m.client_id, $4, true, h.id, h.head_enrollment_id, m.relationship,
       h.entry_date, $5, $6, CASE WHEN h.at_ap1 THEN $2::uuid ELSE $3::uuid END,
       CASE WHEN m.j = 0 AND h.chronic THEN 1 ELSE 0 END,
       CASE WHEN m.j = 0 THEN 116 END,
       CASE WHEN m.j = 0 THEN 5 END,
       CASE WHEN m.j = 0 THEN h.entry_date - CASE WHEN h.chronic THEN 500 ELSE 60 END END,
       CASE WHEN m.j = 0 THEN 4 END,
       CASE WHEN m.j = 0 THEN CASE WHEN h.chronic THEN 112 ELSE 101 END END,
       CASE WHEN m.j = 0 THEN 0 END,
       'placed', h.entry_date::timestamptz, h.entry_date::timestamptz, 2
FROM _m m JOIN _hh h ON h.k = m.k;
INSERT INTO client_access (id, client_id, organization_id, reason, coc_id)
SELECT gen_random_uuid(), m.client_id, $7, 'enrolled', $1 FROM _m m
"""

# The head's housing needs assessment, income (some) and area tie (most).
# $1 coc, $2 ap1, $3 ap2, $4 user
_HEAD_RECORDS = """
INSERT INTO housing_needs_assessments (
    id, enrollment_id, client_id, assessment_date, sex_offender_registry,
    meth_manufacturing_conviction, behavioral_health_interest, violence_trauma_or_unsafe,
    created_by_user_id, created_by_organization_id, created_at, updated_at, coc_id)
SELECT gen_random_uuid(), h.head_enrollment_id, c.id, h.entry_date, h.sex_offender, 0, 1, 0,
       $4, CASE WHEN h.at_ap1 THEN $2::uuid ELSE $3::uuid END, h.entry_date::timestamptz,
       h.entry_date::timestamptz, $1
FROM _hh h JOIN _cl c ON c.rn = h.start;
INSERT INTO income_benefits (
    id, enrollment_id, client_id, information_date, data_collection_stage,
    income_from_any_source, ssi, ssi_amount, total_monthly_income, created_by_user_id,
    created_by_organization_id, created_at, updated_at, coc_id)
SELECT gen_random_uuid(), h.head_enrollment_id, c.id, h.entry_date, 1, 1, 1, h.income,
       h.income, $4, CASE WHEN h.at_ap1 THEN $2::uuid ELSE $3::uuid END,
       h.entry_date::timestamptz, h.entry_date::timestamptz, $1
FROM _hh h JOIN _cl c ON c.rn = h.start
WHERE h.income IS NOT NULL;
INSERT INTO area_ties (
    id, coc_id, client_id, tie_date, area, how, enrollment_id, created_by_user_id,
    created_by_organization_id, created_at, updated_at)
SELECT gen_random_uuid(), $1, c.id, h.entry_date - 400, h.area, 'lived', h.head_enrollment_id,
       $4, CASE WHEN h.at_ap1 THEN $2::uuid ELSE $3::uuid END, h.entry_date::timestamptz,
       h.entry_date::timestamptz
FROM _hh h JOIN _cl c ON c.rn = h.start
WHERE h.area IS NOT NULL
"""

# The entries, their facts as the queue's refresh keeps them (fresh), the referral status
# matching keeps. $1 coc, $2 seed, $3 today, $4 user
_QUEUE = """
INSERT INTO queue_entries (
    id, coc_id, household_id, head_client_id, head_enrollment_id, intake_status, placed_on,
    placed_by_user_id, created_at, updated_at, version, score, score_recorded_at, tie_breaker,
    chronic_recorded, chronic_documented, days_homeless_3y, veteran, family_with_children,
    youth, household_size, household_type, documents_on_file, last_activity_at, facts_as_of,
    facts_stale, referral_status, parked_until)
SELECT h.queue_entry_id, $1, h.id, c.id, h.head_enrollment_id, h.status, h.entry_date, $4,
       h.entry_date::timestamptz, h.entry_date::timestamptz, 2, h.score,
       CASE WHEN h.score IS NOT NULL THEN h.entry_date::timestamptz END,
       floor(2147483647 * pg_temp.u(h.k, $2 + 30))::int,
       h.chronic, h.chronic AND h.disability_doc,
       CASE WHEN h.chronic THEN 500 + h.days_ago ELSE 60 + h.days_ago END,
       h.veteran AND NOT h.youth, h.size > 1, h.youth, h.size,
       CASE WHEN h.size > 1 THEN 'adults_and_children' ELSE 'adults_only' END,
       CASE WHEN h.disability_doc THEN ARRAY['disability', 'homeless', 'identity']::varchar[]
            ELSE ARRAY['identity']::varchar[] END,
       h.entry_date::timestamptz, now(), false,
       CASE h.match WHEN 'sent' THEN 'sent' WHEN 'parked' THEN 'parked'
                    WHEN 'park_ended' THEN 'parked' ELSE 'none' END,
       CASE h.match WHEN 'parked' THEN $3::date + 20 WHEN 'park_ended' THEN $3::date - 1 END
FROM _hh h JOIN _cl c ON c.rn = h.start
"""

# Units for the matches elsewhere (one per active match), then the matches.
# $1 coc, $2 other project, $3 vacancy project, $4 housing org, $5 today, $6 a vacancy unit
_MATCHES = """
CREATE TEMP TABLE _mu AS
SELECT h.k, gen_random_uuid() AS unit_id FROM _hh h WHERE h.match IN ('sent', 'parked',
                                                                       'park_ended');
INSERT INTO units (id, coc_id, project_id, label, bedrooms, status, status_changed_at, version,
                   created_at, updated_at)
SELECT unit_id, $1, $2, 'B-' || k, 1, 'available', now(), 1, now(), now() FROM _mu;
INSERT INTO matches (
    id, coc_id, unit_id, project_id, organization_id, queue_entry_id, head_client_id,
    ce_enrollment_id, is_ehv, status, over_referral, sent_at, sent_on, clock_started_at,
    responded_at, closed_at, decline_reason, park_reason, parked_until, referral_result,
    result_date, version, created_at, updated_at)
SELECT gen_random_uuid(), $1, coalesce(mu.unit_id, $6::uuid),
       CASE WHEN h.match = 'declined' THEN $3::uuid ELSE $2::uuid END, $4, h.queue_entry_id,
       c.id, h.head_enrollment_id, false,
       CASE h.match WHEN 'park_ended' THEN 'parked' ELSE h.match END, false,
       now() - interval '3 days', $5::date - 3, now() - interval '3 days',
       CASE WHEN h.match <> 'sent' THEN now() - interval '1 day' END,
       CASE WHEN h.match <> 'sent' THEN now() - interval '1 day' END,
       CASE WHEN h.match = 'declined' THEN 'not_eligible_for_services' END,
       CASE WHEN h.match IN ('parked', 'park_ended') THEN 'disengaged' END,
       CASE h.match WHEN 'parked' THEN $5::date + 20 WHEN 'park_ended' THEN $5::date - 1 END,
       CASE h.match WHEN 'sent' THEN NULL WHEN 'declined' THEN 3 ELSE 2 END,
       CASE WHEN h.match <> 'sent' THEN $5::date - 1 END,
       1, now(), now()
FROM _hh h JOIN _cl c ON c.rn = h.start LEFT JOIN _mu mu ON mu.k = h.k
WHERE h.match IS NOT NULL
"""

_PARAM = re.compile(r"\$(\d+)")


async def _each(conn: asyncpg.Connection, script: str, *args: Any) -> None:
    """The statements of ``script`` (separated by ``;`` at a line end) in order; ``$n`` names
    the n-th of ``args`` (each statement gets the ones it names, renumbered)."""
    for statement in (s.strip() for s in script.split(";\n")):
        if not statement:
            continue
        used = sorted({int(n) for n in _PARAM.findall(statement)})
        number = {f"${n}": f"${i + 1}" for i, n in enumerate(used)}
        sql = _PARAM.sub(lambda m, number=number: number[m.group(0)], statement)
        await conn.execute(sql, *(args[n - 1] for n in used))


@dataclass
class Seeded:
    entries: int
    clients: int
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    referral_statuses: dict[str, int] = field(default_factory=dict)
    stale_entries: int = 0
    # Heads of household of approved entries, for the explanations.
    heads: list[uuid.UUID] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        return {
            "approved_entries": self.entries,
            "clients": self.clients,
            "seed_seconds": self.seconds,
            "rows": self.rows,
            "open_entries_by_intake_status": self.statuses,
            "open_entries_by_referral_status": self.referral_statuses,
            "stale_entries": self.stale_entries,
        }


async def seed_matching(
    bench: Bench,
    world: SeededCoc,
    entries: int,
    rng: random.Random,
    vacancy_unit: uuid.UUID,
    *,
    check_foreign_keys: bool = False,
) -> Seeded:
    """The queue and what the requirements read (see the module), vacuumed and analyzed."""
    started = time.perf_counter()
    seed = rng.randrange(1, 1_000_000) * 1000
    coc = world.coc.id
    ap1, ap2 = world.orgs["access_point_1"].id, world.orgs["access_point_2"].id
    user = world.users["case_manager"].id
    today = clock.today(world.coc)
    others = max(1, entries // 20)
    conn = await bench.connect()
    try:
        if not check_foreign_keys:
            # Rows built consistent: skip the per-row foreign-key and staleness triggers of the
            # bulk load (superuser only; otherwise they run). The entries come after, with
            # their triggers (the priority key is the database's).
            with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
                await conn.execute("SET session_replication_role = replica")
        await conn.execute(_U)
        await _each(conn, _PLAN, entries, seed, today, others)
        total = int(await conn.fetchval("SELECT sum(size) FROM _hh"))
        cipher = FieldCipher(bench.settings.field_encryption_key)
        rows = list(
            client_rows(
                total,
                rng,
                coc_id=coc,
                organizations=[world.orgs[k].id for k in ORGANIZATIONS],
                today=today,
                cipher=cipher,
            )
        )
        await copy_clients(conn, rows)
        await _each(conn, _MEMBERS, coc, seed, today)
        await _each(
            conn,
            _HOUSEHOLDS,
            coc,
            ap1,
            ap2,
            world.projects["ce"].id,
            world.coc.code,
            user,
            world.orgs["cas"].id,
        )
        await _each(conn, _HEAD_RECORDS, coc, ap1, ap2, user)
        await conn.execute("SET session_replication_role = origin")
        await _each(conn, _QUEUE, coc, seed, today, user)
        await _each(
            conn,
            _MATCHES,
            coc,
            world.projects[OTHER_PROJECT].id,
            world.projects[VACANCY_PROJECT].id,
            world.orgs["housing_1"].id,
            today,
            vacancy_unit,
        )
        # Whatever a trigger marked: the facts are fresh (written above as the refresh would).
        await conn.execute("UPDATE queue_entries SET facts_stale = false WHERE facts_stale")
        counts = {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in TABLES}
        statuses = {
            r[0]: int(r[1])
            for r in await conn.fetch(
                "SELECT intake_status, count(*) FROM queue_entries WHERE closed_at IS NULL "
                "GROUP BY 1 ORDER BY 1"
            )
        }
        referral = {
            r[0]: int(r[1])
            for r in await conn.fetch(
                "SELECT referral_status, count(*) FROM queue_entries WHERE closed_at IS NULL "
                "GROUP BY 1 ORDER BY 1"
            )
        }
        heads = [
            r[0]
            for r in await conn.fetch(
                "SELECT head_client_id FROM queue_entries WHERE intake_status = 'approved' "
                "ORDER BY head_client_id"
            )
        ]
    finally:
        await conn.close()
    await bench.vacuum_analyze(*TABLES)
    conn = await bench.connect()
    try:
        stale = int(await conn.fetchval("SELECT count(*) FROM queue_entries WHERE facts_stale"))
    finally:
        await conn.close()
    return Seeded(
        entries=entries,
        clients=total,
        seconds=round(time.perf_counter() - started, 1),
        rows=counts,
        statuses=statuses,
        referral_statuses=referral,
        stale_entries=stale,
        heads=heads,
    )


# --- the service's own statement ----------------------------------------------------------------


async def candidate_statements(
    bench: Bench, unit_ids: list[uuid.UUID], limit: int
) -> list[tuple[str, list[Any]]]:
    """For each unit, the candidate search's statement as the service builds it, compiled
    (``IN`` lists expanded) as the service's driver sends it: (sql, args)."""
    engine = create_engine(bench.url, bench.settings, pool=False)
    out = []
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            for unit_id in unit_ids:
                unit = await session.scalar(select(Unit).where(Unit.id == unit_id))
                assert unit is not None
                coc = await session.get(Coc, unit.coc_id)
                assert coc is not None
                t = await eligibility.target(session, unit)
                stmt = eligibility.candidates_stmt(t, clock.today(coc), limit)
                compiled = stmt.compile(
                    dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
                )
                out.append(
                    (str(compiled), [compiled.params[k] for k in compiled.positiontup or []])
                )
    finally:
        await engine.dispose()
    return out


# --- the run ------------------------------------------------------------------------------------


async def _setup(client: httpx.AsyncClient, admin: dict[str, str], project: uuid.UUID) -> list[str]:
    """The vacancy project's five requirements and its ten one-bedroom units, by the API."""
    r = await client.put(
        f"/api/v1/projects/{project}/matching-profile",
        json={"funding_sources": [2], "referrals_through_cas": True, "requirements": REQUIREMENTS},
        headers={**admin, "If-Match": "*"},
    )
    r.raise_for_status()
    units = []
    for i in range(VACANCIES):
        r = await client.post(
            f"/api/v1/projects/{project}/units",
            json={"label": f"V-{i + 1:02d}", "bedrooms": 1},
            headers=admin,
        )
        r.raise_for_status()
        units.append(r.json()["id"])
    return units


def _phase(p: harness.Phase, kind: str) -> dict[str, Any]:
    return {**p.totals(), **p.summary(kind)}


async def _run(bench: Bench, args: argparse.Namespace, rng: random.Random) -> None:
    world = await bench.seed_coc()
    service = await bench.serve(
        workers=args.workers, profile=args.profile, env=harness.NO_JOB_RUNNER
    )
    project = world.projects[VACANCY_PROJECT].id
    async with harness.http_client(service.base, args.concurrency) as client:
        admin = await harness.login(client, "cas_admin")
        units = await _setup(client, admin, project)
    seeded = await seed_matching(
        bench,
        world,
        args.entries,
        rng,
        uuid.UUID(units[0]),
        check_foreign_keys=args.check_foreign_keys,
    )

    async with harness.http_client(service.base, args.concurrency) as client:
        admin = await harness.login(client, "cas_admin")
        path = "/api/v1/units/{}/candidates?limit=" + str(args.limit)

        def candidates_jobs(n: int) -> list[Job]:
            return [
                harness.http_job(client, "candidates", "GET", path.format(units[i % len(units)]),
                                 headers=admin)
                for i in range(n)
            ]  # fmt: skip

        first = await client.get(path.format(units[0]), headers=admin)
        first.raise_for_status()
        service_answer = [(i["queue_entry_id"], i["rank"]) for i in first.json()["items"]]
        await harness.drive(candidates_jobs(max(20, args.requests // 10)), args.concurrency)
        cand = await harness.measure(candidates_jobs(args.requests), args.concurrency, service)

        heads = seeded.heads
        picks = [heads[rng.randrange(len(heads))] for _ in range(args.explanations)]
        explain_jobs = [
            harness.http_job(
                client,
                "explanation",
                "GET",
                f"/api/v1/units/{units[i % len(units)]}/eligibility/{client_id}",
                headers=admin,
                shown=lambda r: len(r.json()["requirements"]),
            )
            for i, client_id in enumerate(picks)
        ]
        await harness.drive(explain_jobs[: max(20, len(explain_jobs) // 10)], args.concurrency)
        expl = await harness.measure(explain_jobs, args.concurrency, service)
        alone = args.one_at_a_time
        cand_alone = await harness.measure(candidates_jobs(alone), 1, service)
        expl_alone = await harness.measure(explain_jobs[:alone], 1, service)
        memory = service.memory()

    statements = await candidate_statements(bench, [uuid.UUID(u) for u in units], args.limit)
    conn = await bench.connect()
    try:
        rows = await conn.fetch(statements[0][0], *statements[0][1])
    finally:
        await conn.close()
    baseline_answer = [(str(r["id"]), int(r["rank"])) for r in rows[: args.limit]]
    if baseline_answer != service_answer:
        raise RuntimeError("the baseline's statement does not give the service's answer")
    requests = [[statements[i % len(statements)]] for i in range(args.requests)]
    baseline_server = await bench.serve_baseline(requests, pool_size=args.concurrency)
    async with harness.http_client(baseline_server.base, args.concurrency) as client:
        jobs = harness.baseline_jobs(client, len(requests))
        await harness.drive(jobs[: max(20, len(jobs) // 10)], args.concurrency)
        base = await harness.measure(jobs, args.concurrency, baseline_server)
    sql = await harness.run_sql(bench.url, requests, args.concurrency)

    candidates = _phase(cand, "candidates")
    baseline = _phase(base, "baseline")
    ratio = harness.ratio(candidates["requests_per_s"], baseline["requests_per_s"])
    explanation = _phase(expl, "explanation")
    candidates_alone = _phase(cand_alone, "candidates")
    explanation_alone = _phase(expl_alone, "explanation")
    await bench.report(
        {
            "benchmark": "matching",
            "seed": seeded.figures(),
            "requests": args.requests,
            "explanations": args.explanations,
            "concurrency": args.concurrency,
            "limit": args.limit,
            "requirements": REQUIREMENTS,
            "candidates_shown": len(service_answer),
            "last_rank_shown": service_answer[-1][1] if service_answer else None,
            "service": (
                f"uvicorn app.asgi:app, {args.workers} worker(s), CAS_ENVIRONMENT=production, "
                "no access log, request logs to a file, loopback HTTP/1.1 keep-alive (httpx)"
            ),
            "baseline_service": (
                "eligibility.candidates_stmt compiled, through asyncpg in a minimal ASGI app "
                "(bench/baseline_app.py), uvicorn, 1 worker, the same client"
            ),
            "candidates": candidates,
            "baseline": baseline,
            "database_only": _phase(sql, "database_only"),
            "throughput_ratio_to_baseline": ratio,
            "explanation": explanation,
            "candidates_one_at_a_time": candidates_alone,
            "explanation_one_at_a_time": explanation_alone,
            "server_memory": {"service": memory, "baseline_app": baseline_server.memory()},
            "targets": {
                "candidates_p95_le_100ms": candidates["p95_ms"] <= TARGET_CANDIDATES_P95_MS,
                "candidates_ge_50pct_of_baseline": ratio >= TARGET_RATIO,
                "explanation_p95_le_30ms": explanation["p95_ms"] <= TARGET_EXPLAIN_P95_MS,
                "one_at_a_time_candidates_p95_le_100ms": (
                    candidates_alone["p95_ms"] <= TARGET_CANDIDATES_P95_MS
                ),
                "one_at_a_time_explanation_p95_le_30ms": (
                    explanation_alone["p95_ms"] <= TARGET_EXPLAIN_P95_MS
                ),
            },
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000, help="approved queue entries")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--explanations", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--one-at-a-time",
        type=int,
        default=300,
        help="candidates pages and explanations then sent one at a time (latency alone)",
    )
    parser.add_argument("--limit", type=int, default=50, help="candidates per page")
    # The container runs one worker; uvicorn takes more from WEB_CONCURRENCY.
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--check-foreign-keys",
        action="store_true",
        help="check foreign keys row by row while seeding (slower; the smoke test does)",
    )
    parser.add_argument(
        "--profile", type=Path, help="write a pyinstrument HTML profile of the service here"
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with Bench("matching") as bench:
        asyncio.run(_run(bench, args, rng))


if __name__ == "__main__":
    main()
