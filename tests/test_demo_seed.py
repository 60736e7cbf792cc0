"""`cas seed-demo`: the demo CoC with a few dozen clients in every outcome and documents, the
queue reviewed, housing units in every status and matches in every state, the same every time,
and nothing added by running it again (a database of its own)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.config import Settings, get_settings
from app.db import create_engine
from app.services.demo import DEMO_COC_CODE, demo_uuid
from tests.conftest import _admin_exec, _server_url
from tests.test_cli import _invoke


@pytest.fixture
def demo_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = _server_url()
    name = f"cas_demo_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin_exec(server, f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv("CAS_DATABASE_URL", url)
    monkeypatch.setenv("CAS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        yield url
    finally:
        get_settings.cache_clear()
        asyncio.run(_admin_exec(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _facts(url: str) -> dict[str, object]:
    engine = create_engine(url, Settings(), pool=False)
    try:
        async with engine.connect() as conn:

            async def one(sql: str) -> object:
                return (await conn.execute(text(sql))).scalar()

            outcomes = dict(
                (await conn.execute(text("SELECT outcome, count(*) FROM enrollments GROUP BY 1")))
                .tuples()
                .all()
            )
            return {
                "clients": await one("SELECT count(*) FROM clients"),
                "names": await one(
                    "SELECT string_agg(last_name, ',' ORDER BY last_name, first_name) FROM clients"
                ),
                "outcomes": outcomes,
                "queued": await one("SELECT count(*) FROM queue_entries"),
                "intake_statuses": dict(
                    (
                        await conn.execute(
                            text("SELECT intake_status, count(*) FROM queue_entries GROUP BY 1")
                        )
                    )
                    .tuples()
                    .all()
                ),
                "transitions": await one("SELECT count(*) FROM queue_transitions"),
                "scores": await one("SELECT count(*) FROM queue_scores"),
                "scored": await one("SELECT count(*) FROM queue_entries WHERE score IS NOT NULL"),
                "document_checks": await one("SELECT count(*) FROM document_checks"),
                "client_files": await one("SELECT count(*) FROM client_files"),
                "units": dict(
                    (await conn.execute(text("SELECT status, count(*) FROM units GROUP BY 1")))
                    .tuples()
                    .all()
                ),
                "matches": dict(
                    (await conn.execute(text("SELECT status, count(*) FROM matches GROUP BY 1")))
                    .tuples()
                    .all()
                ),
                # Sent matches by days on the stall clock (the CoC's 10 days, warned at 8).
                "waiting_days": sorted(
                    (
                        await conn.execute(
                            text(
                                "SELECT floor(extract(epoch FROM now() - clock_started_at) "
                                "/ 86400)::int FROM matches WHERE status = 'sent'"
                            )
                        )
                    )
                    .scalars()
                    .all()
                ),
                "referral_statuses": dict(
                    (
                        await conn.execute(
                            text("SELECT referral_status, count(*) FROM queue_entries GROUP BY 1")
                        )
                    )
                    .tuples()
                    .all()
                ),
                "cas_org": await one(
                    f"SELECT name FROM organizations WHERE id = "
                    f"'{demo_uuid(DEMO_COC_CODE, 'organization', 'cas')}'"
                ),
            }
    finally:
        await engine.dispose()


def test_seed_demo_loads_clients_once(demo_database: str, tmp_path: Path) -> None:
    first = _invoke(["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "39 demo intakes recorded now" in first.output
    facts = asyncio.run(_facts(demo_database))
    assert facts["clients"] == 44  # 39 people and 5 children
    # Enrollments: the intakes' CE enrollments, and the program enrollments matches started.
    assert facts["outcomes"] == {"pending": 11 + 6, "diverted": 8, "placed": 17 + 8}
    assert facts["queued"] == 22
    # The queue's review: entries in every status, each scored (some twice, with reasons); the
    # households for housing approved.
    assert facts["intake_statuses"] == {
        "pending": 3,
        "incomplete_documentation": 6,
        "pending_second_review": 3,
        "approved": 3 + 7,
    }
    assert facts["transitions"] == 22 + 3 + 6 + 3 + 6 + 7  # placements, then the moves
    assert facts["scores"] == 27 and facts["scored"] == 22
    assert facts["document_checks"] == 63 and facts["client_files"] == 22
    # Housing: units in every status, matches in every state, one stalled (11 days on the
    # CoC's 10-day clock), one about to stall (9 days), one on time.
    assert facts["units"] == {"available": 14, "occupied": 2, "reserved": 1, "offline": 2}
    assert facts["matches"] == {
        "sent": 3,
        "accepted": 1,
        "enrolled": 1,
        "declined": 1,
        "parked": 1,
        "rejected": 1,
        "no_show": 1,
        "canceled": 1,
        "ehv_navigation": 1,
        "ehv_voucher_issued": 1,
        "ehv_rfta_submitted": 1,
        "ehv_case_management": 1,
    }
    assert facts["waiting_days"] == [1, 9, 11]
    assert facts["referral_statuses"] == {
        "none": 12,
        "sent": 3,
        "accepted": 5,
        "parked": 1,
        "enrolled": 1,
    }
    assert facts["cas_org"] == "Coordinated Access System"
    assert list((tmp_path / "files").rglob("*")), "the demo documents' files are stored"

    again = _invoke(["seed-demo"])
    assert again.exit_code == 0, again.output
    assert "already present" in again.output and "0 demo intakes" in again.output
    assert asyncio.run(_facts(demo_database)) == facts
