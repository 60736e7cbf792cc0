"""Assessment scores of queue entries through HTTP: recorded by CAS admins with a reason, within
the CoC's range, kept in a history, audited; a re-encounter starts from the last score."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent
from app.models.queue import QueueEntry, QueueScore
from app.services.ce.outcome import CARRIED_SCORE_REASON
from tests.conftest import Auth, World, assert_problem
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, example, today
from tests.support.queue_flow import place


async def _scores(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(QueueScore)) or 0)


async def test_cas_admins_record_scores_with_reasons(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    placed = await place(client, cm)
    admin = await auth.headers("cas_admin")
    url = f"{placed.url}/score"

    empty = await client.get(url, headers=cm)  # the assigned case manager sees the score
    assert empty.status_code == 200, empty.text
    assert empty.json() == {
        "queue_entry_id": placed.entry_id,
        "score": None,
        "score_recorded_at": None,
        "scale": {"tool": "VI-SPDAT", "min": 0, "max": 22},
        "version": placed.version,
        "latest": None,
    }
    assert empty.headers["etag"] == f'"{placed.version}"'

    r = await client.put(
        url,
        json={"score": 9, "reason": "VI-SPDAT at intake"},
        headers={**admin, "If-Match": empty.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["score"] == 9 and body["version"] == placed.version + 1
    assert r.headers["etag"] == f'"{placed.version + 1}"'
    assert body["latest"]["reason"] == "VI-SPDAT at intake"
    assert body["latest"]["previous_score"] is None and body["latest"]["tool"] == "VI-SPDAT"
    assert body["latest"]["recorded_by_user_id"] == str(world.user_id("cas_admin"))

    again = await client.put(
        url,
        json={"score": 14, "reason": "Re-assessed after the hospital stay"},
        headers={**admin, "If-Match": r.headers["etag"]},
    )
    assert again.status_code == 200, again.text
    assert again.json()["latest"]["previous_score"] == 9

    entry = await db.get(QueueEntry, uuid.UUID(placed.entry_id))
    assert entry is not None
    await db.refresh(entry)
    assert entry.score == 14 and entry.score_recorded_at is not None

    history = await client.get(f"{placed.url}/scores", headers=cm)
    assert history.status_code == 200, history.text
    assert [(s["score"], s["previous_score"], s["reason"]) for s in history.json()["items"]] == [
        (9, None, "VI-SPDAT at intake"),
        (14, 9, "Re-assessed after the hospital stay"),
    ]
    trail = (
        await db.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.action == "queue_entry.score",
                AuditEvent.entity_id == uuid.UUID(placed.entry_id),
            )
            .order_by(AuditEvent.occurred_at)
        )
    ).all()
    assert [t.changes["score"] for t in trail if t.changes] == [
        {"old": None, "new": 9},
        {"old": 9, "new": 14},
    ]
    assert all(t.actor_user_id == world.user_id("cas_admin") for t in trail)
    # The Case Manager Review shows the reasons for the changes of score, newest first.
    review = await client.get(f"{placed.url}/review", headers=cm)
    assert [c["reason"] for c in review.json()["score_changes"]] == [
        "Re-assessed after the hospital stay",
        "VI-SPDAT at intake",
    ]
    assert review.json()["score"] == 14


async def test_the_range_is_the_cocs_setting(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    placed = await place(client, await auth.headers("case_manager", org="access_point_1"))
    await db.execute(
        text(
            "UPDATE queue_settings SET score_tool = 'Local tool', score_min = 10, "
            "score_max = 40 WHERE coc_id = :c"
        ),
        {"c": world.home.coc.id},
    )
    admin = await auth.headers("system_admin")
    low = await client.put(
        f"{placed.url}/score",
        json={"score": 5, "reason": "tried"},
        headers={**admin, **ANY_VERSION},
    )
    problem = assert_problem(low, 422)
    assert "between 10 and 40" in problem["detail"] and "Local tool" in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", "score"]
    ok = await client.put(
        f"{placed.url}/score", json={"score": 33, "reason": "ok"}, headers={**admin, **ANY_VERSION}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["latest"]["tool"] == "Local tool"
    assert ok.json()["scale"] == {"tool": "Local tool", "min": 10, "max": 40}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"score": 9}, "reason"),
        ({"score": 9, "reason": ""}, "reason"),
        ({"score": 9, "reason": "   "}, "reason"),
        ({"score": 23, "reason": "too high"}, "score"),
        ({"score": -1, "reason": "negative"}, "score"),
        ({"score": "high", "reason": "words"}, "score"),
        ({"reason": "no score"}, "score"),
        ({"score": 9, "reason": "x", "tool": "other"}, "tool"),
    ],
)
async def test_bad_scores_are_problems_and_write_nothing(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    body: dict[str, Any],
    field: str,
) -> None:
    placed = await place(client, await auth.headers("case_manager", org="access_point_1"))
    before = (
        await _scores(db),
        await db.scalar(select(func.count()).where(AuditEvent.action == "queue_entry.score")),
    )
    r = await client.put(
        f"{placed.url}/score", json=body, headers={**await auth.headers("cas_admin"), **ANY_VERSION}
    )
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["loc"][1] == field, problem
    after = (
        await _scores(db),
        await db.scalar(select(func.count()).where(AuditEvent.action == "queue_entry.score")),
    )
    assert after == before
    entry = await db.get(QueueEntry, uuid.UUID(placed.entry_id))
    assert entry is not None
    await db.refresh(entry)
    assert entry.score is None and entry.version == placed.version


async def test_who_may_score(client: httpx.AsyncClient, auth: Auth, db: AsyncSession) -> None:
    placed = await place(client, await auth.headers("case_manager", org="access_point_1"))
    url = f"{placed.url}/score"
    body = {"score": 3, "reason": "a guess"}
    for user, org, needs in (
        ("case_manager", "access_point_1", "queue:review"),  # assigned: reads, does not set
        ("case_manager", "cas", "queue:review"),
        ("housing_provider", None, "queue:read"),
    ):
        r = await client.put(url, json=body, headers={**await auth.headers(user, org=org)})
        assert needs in assert_problem(r, 403)["detail"], (user, org)
    # Who may not see the entry learns nothing more.
    hidden = await client.put(url, json=body, headers=await auth.headers("agency_admin"))
    assert_problem(hidden, 404)
    other = await client.put(
        url, json=body, headers={**await auth.headers("cas_admin", coc="other"), **ANY_VERSION}
    )
    assert_problem(other, 404)
    admin = await auth.headers("cas_admin")
    assert_problem(await client.put(url, json=body, headers=admin), 428)
    assert_problem(await client.put(url, json=body, headers={**admin, "If-Match": '"99"'}), 412)
    assert await _scores(db) == 0
    # The history is the whole queue's (CAS organization) and the assigned case manager's.
    for user, org, status in (
        ("case_manager", "cas", 200),
        ("case_manager", "access_point_1", 200),
        ("case_manager2", None, 404),
        ("agency_admin", None, 404),
    ):
        r = await client.get(f"{placed.url}/scores", headers=await auth.headers(user, org=org))
        assert r.status_code == status, (user, org, r.text)


async def test_a_closed_entry_keeps_its_score(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    placed = await place(client, cm)
    await client.post(
        f"/api/v1/enrollments/{placed.enrollment_id}/exit",
        json={"exit_date": today().isoformat(), "destination": 410, "exit_reason": "left_coc_area"},
        headers={**cm, **ANY_VERSION},
    )
    r = await client.put(
        f"{placed.url}/score",
        json={"score": 3, "reason": "late"},
        headers={**await auth.headers("cas_admin"), **ANY_VERSION},
    )
    assert "closed (exited)" in assert_problem(r, 409)["detail"]


async def test_a_re_encounter_starts_from_the_last_score(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    """Seed 002: a client placed again is not assessed again; the new entry carries the last
    score of the household's previous entry, with a reason saying so."""
    cm = await auth.headers("case_manager", org="access_point_1")
    placed = await place(client, cm)
    admin = await auth.headers("cas_admin")
    r = await client.put(
        f"{placed.url}/score",
        json={"score": 12, "reason": "VI-SPDAT at intake"},
        headers={**admin, **ANY_VERSION},
    )
    assert r.status_code == 200, r.text
    exited = await client.post(
        f"/api/v1/enrollments/{placed.enrollment_id}/exit",
        json={"exit_date": today().isoformat(), "destination": 410, "exit_reason": "left_coc_area"},
        headers={**cm, **ANY_VERSION},
    )
    assert exited.status_code == 201, exited.text

    body = example("placed")
    del body["client"]
    body["client_id"] = placed.client_id
    again = await client.post(INTAKES, json=body, headers=cm)
    assert again.status_code == 201, again.text
    new_entry = again.json()["queue_entry"]
    assert new_entry["id"] != placed.entry_id
    state = await client.get(f"/api/v1/queue-entries/{new_entry['id']}/score", headers=admin)
    assert state.json()["score"] == 12
    assert state.json()["latest"]["reason"] == CARRIED_SCORE_REASON
    assert state.json()["latest"]["previous_score"] is None
    history = await client.get(f"/api/v1/queue-entries/{new_entry['id']}/scores", headers=admin)
    assert [s["score"] for s in history.json()["items"]] == [12]
    created = await db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "queue_entry.create",
            AuditEvent.entity_id == uuid.UUID(new_entry["id"]),
        )
    )
    assert created is not None and created.changes is not None
    assert created.changes["score_carried_from"] == placed.entry_id
    # A first placement has no score to carry.
    fresh = await place(client, cm, last_name="Okafor")
    first = await client.get(f"{fresh.url}/score", headers=admin)
    assert first.json()["score"] is None and first.json()["latest"] is None
