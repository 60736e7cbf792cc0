"""The queue's review through HTTP: intake-status transitions (every move allowed and refused for
each role), If-Match, the history, the Case Manager Review, notifications, bad input."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.models import AuditEvent
from app.models.platform import NotificationEvent
from app.models.queue import QueueEntry, QueueTransition
from app.reference.queue import IntakeStatus
from tests.conftest import Auth, World, assert_problem
from tests.support.http import ANY_VERSION
from tests.support.intake import today
from tests.support.queue_flow import (
    INCOMPLETE,
    move_body,
    place,
    set_status,
    version_of,
)

PENDING = "pending"
INCOMPLETE_DOC = "incomplete_documentation"
SECOND = "pending_second_review"
APPROVED = "approved"

CAS_REVIEW = {
    (PENDING, INCOMPLETE_DOC),
    (PENDING, APPROVED),
    (SECOND, APPROVED),
    (SECOND, INCOMPLETE_DOC),
    (APPROVED, INCOMPLETE_DOC),
}
CASE_MANAGER_REVIEW = {(INCOMPLETE_DOC, SECOND)}
WRITES = ("INSERT", "UPDATE", "DELETE")


async def _count(db: AsyncSession, model: Any) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def _written(db: AsyncSession) -> tuple[int, int, int]:
    return (
        await _count(db, QueueTransition),
        await _count(db, NotificationEvent),
        await db.scalar(
            select(func.count()).where(AuditEvent.action == "queue_entry.intake_status")
        )
        or 0,
    )


async def test_a_review_round_trip(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    """CAS admin marks the record incomplete with structured reasons; the assigned case manager
    reads the review and sends it back; the admin approves; each move is history, audit and a
    notification event."""
    cm = await auth.headers("case_manager", org="access_point_1")
    placed = await place(client, cm)
    admin = await auth.headers("cas_admin")

    r = await client.post(
        f"{placed.url}/transitions",
        json=INCOMPLETE,
        headers={**admin, "If-Match": f'"{placed.version}"'},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["intake_status"] == INCOMPLETE_DOC
    assert body["version"] == placed.version + 1
    assert r.headers["etag"] == f'"{placed.version + 1}"'
    assert body["allowed"] == []  # a CAS admin does not make the case manager's move
    t = body["transition"]
    assert (t["from_status"], t["to_status"]) == (PENDING, INCOMPLETE_DOC)
    assert t["actor_user_id"] == str(world.user_id("cas_admin"))
    assert t["actor_name"] == "Casey Coordinator"
    assert t["note"] == "Reviewed the file"
    assert [(i["code"], i["text"]) for i in t["incomplete_reasons"]] == [
        ("disability_verification", None),
        ("other", "Birth certificate for the child"),
    ]
    assert t["incomplete_reasons"][0]["document_check_item"] == {
        "category": "disability",
        "item": "disability",
    }
    assert "doctor's letter" in t["incomplete_reasons"][0]["label"]
    assert t["instructions_for_case_manager"].startswith("Upload the SSI")
    assert t["score_change_reason"] == "Scored again after the shelter stay."

    [row] = (
        await db.scalars(
            select(QueueTransition).where(
                QueueTransition.queue_entry_id == uuid.UUID(placed.entry_id),
                QueueTransition.from_status.is_not(None),
            )
        )
    ).all()
    assert row.incomplete_reasons == [
        {"code": "disability_verification", "text": None},
        {"code": "other", "text": "Birth certificate for the child"},
    ]
    assert row.acting_organization_id == world.org_id("cas")
    [event] = (
        await db.scalars(
            select(NotificationEvent).where(
                NotificationEvent.entity_id == uuid.UUID(placed.entry_id)
            )
        )
    ).all()
    assert event.event_type == "queue.intake_status_changed"
    assert event.client_id == uuid.UUID(placed.client_id)
    assert event.data == {
        "queue_entry_id": placed.entry_id,
        "transition_id": t["id"],
        "from": PENDING,
        "to": INCOMPLETE_DOC,
        "household_id": placed.household_id,
        "audience": ["case_managers"],
    }
    [trail] = (
        await db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "queue_entry.intake_status",
                AuditEvent.entity_id == uuid.UUID(placed.entry_id),
            )
        )
    ).all()
    assert trail.changes is not None
    assert trail.changes["intake_status"] == {"old": PENDING, "new": INCOMPLETE_DOC}
    assert trail.changes["note"] == "[redacted]"  # free text stays out of the trail
    assert trail.changes["incomplete_reasons"] == ["disability_verification", "other"]

    # The assigned case manager (acting for their agency) reads the review, read-only.
    review = await client.get(f"{placed.url}/review", headers=cm)
    assert review.status_code == 200, review.text
    rv = review.json()
    assert rv["intake_status"] == INCOMPLETE_DOC and rv["version"] == body["version"]
    assert review.headers["etag"] == f'"{body["version"]}"'
    assert [i["code"] for i in rv["incomplete_reasons"]] == ["disability_verification", "other"]
    assert rv["instructions_for_case_manager"].startswith("Upload the SSI")
    assert [c["reason"] for c in rv["score_changes"]] == ["Scored again after the shelter stay."]
    assert [(m["from_status"], m["to_status"]) for m in rv["reviews"]] == [
        (PENDING, INCOMPLETE_DOC)
    ]
    assert rv["allowed"] == [SECOND]
    assert rv["scale"] == {"tool": "VI-SPDAT", "min": 0, "max": 22}
    assert rv["head_client_id"] == placed.client_id

    back = await client.post(
        f"{placed.url}/transitions",
        json={"to_status": SECOND, "note": "SSI letter uploaded"},
        headers={**cm, "If-Match": review.headers["etag"]},
    )
    assert back.status_code == 200, back.text
    assert back.json()["intake_status"] == SECOND
    assert back.json()["allowed"] == []
    second_event = await db.scalar(
        select(NotificationEvent)
        .where(NotificationEvent.entity_id == uuid.UUID(placed.entry_id))
        .order_by(NotificationEvent.created_at.desc())
        .limit(1)
    )
    assert second_event is not None
    assert second_event.data["audience"] == ["cas_admins"]
    assert (second_event.data["from"], second_event.data["to"]) == (INCOMPLETE_DOC, SECOND)
    assert second_event.actor_user_id == world.user_id("case_manager")

    ok = await client.post(
        f"{placed.url}/transitions",
        json={"to_status": APPROVED},
        headers={**admin, "If-Match": back.headers["etag"]},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["allowed"] == [INCOMPLETE_DOC]

    history = await client.get(f"{placed.url}/transitions", headers=cm)
    assert history.status_code == 200, history.text
    moves = [(h["from_status"], h["to_status"]) for h in history.json()["items"]]
    assert moves == [
        (None, PENDING),
        (PENDING, INCOMPLETE_DOC),
        (INCOMPLETE_DOC, SECOND),
        (SECOND, APPROVED),
    ]
    assert history.json()["items"][2]["note"] == "SSI letter uploaded"
    # Paged: a page of two, then the rest.
    first = await client.get(f"{placed.url}/transitions?limit=2", headers=admin)
    rest = await client.get(
        f"{placed.url}/transitions?limit=2&cursor={first.json()['next_cursor']}", headers=admin
    )
    assert [h["id"] for h in first.json()["items"] + rest.json()["items"]] == [
        h["id"] for h in history.json()["items"]
    ]
    assert rest.json()["next_cursor"] is None
    # The read of the history is recorded as a read of the client.
    read = await db.scalar(
        select(AuditEvent).where(
            AuditEvent.request_id == history.headers["x-request-id"],
            AuditEvent.action == "pii.read",
        )
    )
    assert read is not None and read.entity_id == uuid.UUID(placed.client_id)
    events = (
        await db.scalars(
            select(NotificationEvent.data).where(
                NotificationEvent.entity_id == uuid.UUID(placed.entry_id)
            )
        )
    ).all()
    assert len(events) == 3
    assert all("Nguyen" not in str(e) and "Casey" not in str(e) for e in events)


def _expected(role: str, current: str, target: str) -> int:
    if role == "housing_provider":
        return 403  # no queue:read
    if role in ("agency_admin", "other_agency_case_manager"):
        return 404  # neither admin, nor the CAS organization, nor assigned
    if (current, target) not in CAS_REVIEW | CASE_MANAGER_REVIEW:
        return 409
    if (current, target) in CAS_REVIEW:
        return 200 if role in ("system_admin", "cas_admin") else 403
    # The case manager's move: the assigned case managers and system admins.
    return 200 if role in ("system_admin", "assigned_case_manager") else 403


async def test_every_move_for_each_role(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    """Every (from, to) pair of intake statuses, asked by each role: allowed where DOMAIN 7's
    table and the role allow it, otherwise refused with the reason (nothing written)."""
    placed = await place(client, await auth.headers("case_manager", org="access_point_1"))
    callers = {
        "system_admin": await auth.headers("system_admin"),
        "cas_admin": await auth.headers("cas_admin"),
        "assigned_case_manager": await auth.headers("case_manager", org="access_point_1"),
        "other_agency_case_manager": await auth.headers("case_manager2"),
        "agency_admin": await auth.headers("agency_admin"),
        "housing_provider": await auth.headers("housing_provider"),
    }
    statuses = [s.value for s in IntakeStatus]
    for role, headers in callers.items():
        for current in statuses:
            for target in statuses:
                version = await set_status(db, placed.entry_id, current)
                before = await _written(db)
                r = await client.post(
                    f"{placed.url}/transitions",
                    json=move_body(target),
                    headers={**headers, "If-Match": f'"{version}"'},
                )
                expected = _expected(role, current, target)
                where = f"{role}: {current} -> {target}: {r.text}"
                assert r.status_code == expected, where
                if expected == 200:
                    assert r.json()["intake_status"] == target, where
                    after = await _written(db)
                    assert after == (before[0] + 1, before[1] + 1, before[2] + 1), where
                    continue
                problem = assert_problem(r, expected)
                assert problem["detail"], where
                assert await _written(db) == before, where
                assert await version_of(db, placed.entry_id) == version, where
                if expected == 409:
                    assert problem["type"] == "/problems/transition-not-allowed", where
                    assert problem["current"] == current
                    allowed = sorted(t for c, t in CAS_REVIEW | CASE_MANAGER_REVIEW if c == current)
                    assert problem["allowed"] == allowed, where
                if expected == 403 and role == "assigned_case_manager":
                    assert "queue:review" in problem["detail"], where


async def test_case_managers_are_told_why_pending_cannot_go_to_second_review(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    placed = await place(client, cm)
    r = await client.post(
        f"{placed.url}/transitions",
        json={"to_status": SECOND, "note": "Docs uploaded"},
        headers={**cm, **ANY_VERSION},
    )
    problem = assert_problem(r, 409, "transition-not-allowed")
    assert "must not move pending to pending_second_review" in problem["detail"]
    assert "CAS administrator first approves" in problem["detail"]
    assert problem["allowed"] == [APPROVED, INCOMPLETE_DOC]
    assert problem["errors"][0]["loc"] == ["body", "to_status"]


async def test_only_the_assigned_case_managers_make_the_case_manager_move(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    """A case manager acting for the CAS organization sees every entry, but sends a record back
    only for the clients assigned to them."""
    placed = await place(client, await auth.headers("case_manager2"))  # assigned: case_manager2
    version = await set_status(db, placed.entry_id, INCOMPLETE_DOC)
    cas_cm = await auth.headers("case_manager", org="cas")
    review = await client.get(f"{placed.url}/review", headers=cas_cm)
    assert review.status_code == 200 and review.json()["allowed"] == []
    r = await client.post(
        f"{placed.url}/transitions",
        json={"to_status": SECOND},
        headers={**cas_cm, "If-Match": f'"{version}"'},
    )
    assert "assigned case managers" in assert_problem(r, 403)["detail"]
    # The assigned one, from their own agency.
    mine = await client.get(f"{placed.url}/review", headers=await auth.headers("case_manager2"))
    assert mine.json()["allowed"] == [SECOND]
    # Once the assignment ends, the entry is no longer theirs to see.
    await db.execute(
        text(
            "UPDATE case_assignments SET status = 'inactive', end_date = :d "
            "WHERE enrollment_id = :e"
        ),
        {"e": uuid.UUID(placed.enrollment_id), "d": today()},
    )
    gone = await client.get(f"{placed.url}/review", headers=await auth.headers("case_manager2"))
    assert_problem(gone, 404)


async def test_if_match_is_required_and_checked_after_visibility(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    placed = await place(client, await auth.headers("case_manager", org="access_point_1"))
    admin = await auth.headers("cas_admin")
    url = f"{placed.url}/transitions"
    before = await _written(db)
    missing = await client.post(url, json={"to_status": APPROVED}, headers=admin)
    assert assert_problem(missing, 428, "precondition-required")["current_etag"] == (
        f'"{placed.version}"'
    )
    stale = await client.post(
        url,
        json={"to_status": APPROVED},
        headers={**admin, "If-Match": f'"{placed.version + 5}"'},
    )
    assert assert_problem(stale, 412, "precondition-failed")["current_etag"] == (
        f'"{placed.version}"'
    )
    assert await _written(db) == before
    # A caller who may not see the entry learns nothing from the header: 404 first.
    hidden = await client.post(
        url, json={"to_status": APPROVED}, headers=await auth.headers("case_manager2")
    )
    assert_problem(hidden, 404)
    # Two admins read the same version: the second move is refused (412), not lost.
    first = await client.post(
        url, json={"to_status": APPROVED}, headers={**admin, "If-Match": f'"{placed.version}"'}
    )
    assert first.status_code == 200
    second = await client.post(
        url,
        json=move_body(INCOMPLETE_DOC),
        headers={**await auth.headers("system_admin"), "If-Match": f'"{placed.version}"'},
    )
    assert_problem(second, 412)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to_status": "parked"}, "to_status"),
        ({"to_status": INCOMPLETE_DOC}, "incomplete_reasons"),
        ({"to_status": INCOMPLETE_DOC, "incomplete_reasons": []}, "incomplete_reasons"),
        (
            {"to_status": INCOMPLETE_DOC, "incomplete_reasons": [{"code": "other"}]},
            "incomplete_reasons.0.text",
        ),
        (
            {"to_status": INCOMPLETE_DOC, "incomplete_reasons": [{"code": "lost_keys"}]},
            "incomplete_reasons.0.code",
        ),
        (
            {
                "to_status": INCOMPLETE_DOC,
                "incomplete_reasons": [
                    {"code": "identity_verification"},
                    {"code": "identity_verification"},
                ],
            },
            "incomplete_reasons.1.code",
        ),
        (
            {"to_status": APPROVED, "incomplete_reasons": [{"code": "identity_verification"}]},
            "incomplete_reasons",
        ),
        ({"to_status": APPROVED, "note": ""}, "note"),
        ({"to_status": APPROVED, "score": 3}, "score"),
        ({}, "to_status"),
    ],
)
async def test_bad_input_is_a_problem_and_writes_nothing(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    body: dict[str, Any],
    field: str,
) -> None:
    placed = await place(client, await auth.headers("case_manager", org="access_point_1"))
    before = await _written(db)
    r = await client.post(
        f"{placed.url}/transitions",
        json=body,
        headers={**await auth.headers("cas_admin"), **ANY_VERSION},
    )
    problem = assert_problem(r, 422)
    assert any(".".join(map(str, e["loc"][1:])) == field for e in problem["errors"]), problem
    assert await _written(db) == before
    entry = await db.get(QueueEntry, uuid.UUID(placed.entry_id))
    assert entry is not None
    await db.refresh(entry)
    assert entry.intake_status == PENDING and entry.version == placed.version


async def test_the_case_manager_writes_no_review_fields(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    placed = await place(client, cm)
    version = await set_status(db, placed.entry_id, INCOMPLETE_DOC)
    for extra in (
        {"instructions_for_case_manager": "do it"},
        {"score_change_reason": "higher"},
        {"incomplete_reasons": [{"code": "identity_verification"}]},
    ):
        r = await client.post(
            f"{placed.url}/transitions",
            json={"to_status": SECOND, **extra},
            headers={**cm, "If-Match": f'"{version}"'},
        )
        problem = assert_problem(r, 422)
        assert problem["errors"][0]["loc"] == ["body", next(iter(extra))]
    assert await version_of(db, placed.entry_id) == version


async def test_a_closed_entry_does_not_move(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    placed = await place(client, cm)
    exited = await client.post(
        f"/api/v1/enrollments/{placed.enrollment_id}/exit",
        json={"exit_date": today().isoformat(), "destination": 410, "exit_reason": "left_coc_area"},
        headers={**cm, **ANY_VERSION},
    )
    assert exited.status_code == 201, exited.text
    admin = await auth.headers("cas_admin")
    r = await client.post(
        f"{placed.url}/transitions", json={"to_status": APPROVED}, headers={**admin, **ANY_VERSION}
    )
    problem = assert_problem(r, 409)
    assert "closed (exited)" in problem["detail"] and problem["allowed"] == []
    # Its history stays readable; the review says nothing may move.
    assert (await client.get(f"{placed.url}/transitions", headers=admin)).status_code == 200
    assert (await client.get(f"{placed.url}/review", headers=admin)).json()["allowed"] == []


async def test_other_coc_and_unknown_entries_are_404(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    placed = await place(client, await auth.headers("case_manager", org="access_point_1"))
    other = await auth.headers("cas_admin", coc="other")
    other_sys = await auth.headers("system_admin", coc="other")
    before = await _written(db)
    for headers in (other, other_sys):
        for method, path in (
            ("GET", "transitions"),
            ("GET", "review"),
            ("GET", "score"),
            ("GET", "scores"),
        ):
            assert_problem(
                await client.request(method, f"{placed.url}/{path}", headers=headers), 404
            )
        r = await client.post(
            f"{placed.url}/transitions",
            json={"to_status": APPROVED},
            headers={**headers, **ANY_VERSION},
        )
        assert_problem(r, 404)
    unknown = f"/api/v1/queue-entries/{uuid.uuid4()}/review"
    assert_problem(await client.get(unknown, headers=await auth.headers("cas_admin")), 404)
    assert await _written(db) == before


async def test_visibility_of_the_review(client: httpx.AsyncClient, auth: Auth) -> None:
    placed = await place(client, await auth.headers("case_manager", org="access_point_1"))
    for user, org in (
        ("system_admin", None),
        ("cas_admin", None),
        ("case_manager", "cas"),  # the CAS organization sees the whole queue
        ("case_manager", "access_point_1"),  # assigned
    ):
        r = await client.get(f"{placed.url}/review", headers=await auth.headers(user, org=org))
        assert r.status_code == 200, (user, org, r.text)
    for user in ("agency_admin", "case_manager2"):
        assert_problem(
            await client.get(f"{placed.url}/review", headers=await auth.headers(user)), 404
        )
    assert_problem(
        await client.get(f"{placed.url}/review", headers=await auth.headers("housing_provider")),
        403,
    )
    assert_problem(
        await client.get(f"{placed.url}/review", headers=await auth.headers("vsp_case_manager")),
        403,
        "victim-service-provider",
    )


async def test_a_voided_intakes_entry_is_gone(client: httpx.AsyncClient, auth: Auth) -> None:
    """An intake recorded in error is voided: its queue entry leaves the workflow (404)."""
    placed = await place(client, await auth.headers("case_manager", org="access_point_1"))
    admin = await auth.headers("cas_admin")
    voided = await client.post(
        f"/api/v1/enrollments/{placed.enrollment_id}/void",
        json={"reason": "Recorded for the wrong person"},
        headers={**admin, **ANY_VERSION},
    )
    assert voided.status_code == 200, voided.text
    for path in ("review", "transitions", "score", "scores"):
        assert_problem(await client.get(f"{placed.url}/{path}", headers=admin), 404)
    r = await client.post(
        f"{placed.url}/transitions", json={"to_status": APPROVED}, headers={**admin, **ANY_VERSION}
    )
    assert_problem(r, 404)


async def test_an_admins_move_reads_only_the_caller_and_the_entry(
    client: httpx.AsyncClient, auth: Auth, conn: AsyncConnection, world: World
) -> None:
    """What a move reads before writing: the caller (authentication) and the entry, locked. Not
    the admin's case assignment (nothing an admin may do depends on it), not the history row it
    has just written, not the mover's name (the caller's)."""
    cm = await auth.headers("case_manager", org="access_point_1")
    placed = await place(client, cm)
    admin = await auth.headers("cas_admin")
    statements: list[str] = []

    def seen(_c: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(conn.sync_connection, "before_cursor_execute", seen)
    try:
        r = await client.post(
            f"{placed.url}/transitions",
            json=INCOMPLETE,
            headers={**admin, "If-Match": f'"{placed.version}"'},
        )
    finally:
        event.remove(conn.sync_connection, "before_cursor_execute", seen)
    assert r.status_code == 200, r.text
    assert r.json()["transition"]["actor_name"] == "Casey Coordinator"
    reads = [s for s in statements if s.startswith("SELECT")]
    assert len(reads) == 2, reads
    assert "auth_sessions" in reads[0]
    assert "FROM queue_entries" in reads[1] and reads[1].endswith("FOR UPDATE")
    written = [s.split(" (")[0].split(" SET ")[0] for s in statements if s[:6] in WRITES]
    assert sorted(written) == [
        "INSERT INTO audit_events",
        "INSERT INTO jobs",
        "INSERT INTO notification_events",
        "INSERT INTO queue_transitions",
        "UPDATE queue_entries",
    ]
