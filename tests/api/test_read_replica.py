"""The queue and caseload exports read on a read replica (``CAS_DATABASE_REPLICA_URL``): the
same file as on the primary, the rows read through the replica's engine in one read-only,
repeatable-read transaction, every audit row written on the primary; a replica that does not
answer is a 503 with nothing written; a replica URL that is not one is refused at start.

The "replica" is the same committed database (a database of its own: the replica's connections
see only committed rows) reached through the replica's engine, which is read-only."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import create_replica, create_sessionmaker
from app.main import create_app
from app.models import AuditEvent
from app.models.scoping import scope_to_coc
from app.reference.caseloads import Caseload
from app.routers import caseloads as caseloads_router
from app.routers import queue_exports
from app.schemas.pagination import PageParams
from app.services.identity.auth import memberships_by_email
from app.services.queue import caseloads as svc
from app.services.queue import entries
from app.services.queue.listing import QueueFilter, QueueOrder
from tests.conftest import PASSWORD, assert_problem
from tests.support.committed import committed_database
from tests.support.queue_flow import place

EXPORTS = "/api/v1/queue-exports"
CASELOADS = "/api/v1/caseloads"
CSV = {"format": "csv"}
SETTINGS = Settings(
    environment="test",
    run_jobs_in_server=False,
    maintenance_interval_seconds=0,
    auth_rate_limit=100_000,
    export_rate_limit=100_000,
)


@dataclass
class Setup:
    client: httpx.AsyncClient
    app: Any
    engine: AsyncEngine  # the primary's
    url: str


@pytest.fixture(scope="module")
async def setup() -> AsyncIterator[Setup]:
    async with committed_database("replica") as db:
        app = create_app(SETTINGS)
        app.state.engine = db.engine
        app.state.sessionmaker = create_sessionmaker(db.engine)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            s = Setup(client=client, app=app, engine=db.engine, url=db.url)
            cm = await _login(client, "case_manager")
            for name in ("Nguyen", "Okafor", "Zeller"):
                await place(client, cm, last_name=name)
            yield s


async def _login(client: httpx.AsyncClient, user: str) -> dict[str, str]:
    r = await client.post(
        "/api/v1/auth/login", json={"email": f"{user}@demo.example", "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _replica(url: str) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    made = create_replica(SETTINGS.model_copy(update={"database_replica_url": url}))
    assert made is not None
    return made


class Statements:
    """The statements an engine runs, and the transactions it begins."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.seen: list[str] = []
        self.begun = 0

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.seen.append(" ".join(statement.split()))

    def _begin(self, conn: Any) -> None:
        self.begun += 1

    def __enter__(self) -> Statements:
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._statement)
        event.listen(self.engine.sync_engine, "begin", self._begin)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine.sync_engine, "before_cursor_execute", self._statement)
        event.remove(self.engine.sync_engine, "begin", self._begin)

    def selects_of_client_names(self) -> list[str]:
        return [s for s in self.seen if s.upper().startswith("SELECT") and "first_name" in s]

    def audit_inserts(self) -> list[str]:
        return [s for s in self.seen if s.upper().startswith("INSERT INTO AUDIT_EVENTS")]


async def _reads(engine: AsyncEngine, response: httpx.Response) -> list[list[uuid.UUID]]:
    """The clients of each ``pii.read`` event of the response, committed on the primary."""
    async with create_sessionmaker(engine)() as session:
        events = (
            await session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.request_id == response.headers["x-request-id"],
                    AuditEvent.action == "pii.read",
                )
                .order_by(AuditEvent.occurred_at)
            )
        ).all()
    return [list(e.subject_ids or []) for e in events]


async def _export(s: Setup, method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
    r = await s.client.request(method, path, headers=headers, **kw)
    assert r.status_code == 200, r.text
    return r


EXPORT_CASES = [
    ("queue", "cas_admin", "GET", EXPORTS, {"params": {"format": "csv", "sort": "-score"}}),
    ("queue search", "cas_admin", "POST", EXPORTS, {"json": {"format": "csv", "name": "o"}}),
    ("my caseload", "case_manager", "GET", f"{CASELOADS}/mine/export", {"params": CSV}),
    (
        "organization's caseload",
        "case_manager",
        "GET",
        f"{CASELOADS}/organization/export",
        {"params": CSV},
    ),
]


@pytest.mark.parametrize(("label", "user", "method", "path", "kw"), EXPORT_CASES)
async def test_an_export_read_on_the_replica_is_the_same_file_audited_on_the_primary(
    setup: Setup,
    monkeypatch: pytest.MonkeyPatch,
    label: str,
    user: str,
    method: str,
    path: str,
    kw: dict[str, Any],
) -> None:
    # Two rows a page: three households take two pages (the later one read as it is sent).
    monkeypatch.setattr(queue_exports, "EXPORT_PAGE", 2)
    monkeypatch.setattr(caseloads_router, "EXPORT_PAGE", 2)
    headers = await _login(setup.client, user)
    setup.app.state.replica_sessionmaker = None
    on_primary = await _export(setup, method, path, headers, **kw)
    primary_reads = await _reads(setup.engine, on_primary)
    assert primary_reads and all(primary_reads), primary_reads

    replica_engine, replica_sessions = _replica(setup.url)
    setup.app.state.replica_sessionmaker = replica_sessions
    try:
        with Statements(setup.engine) as primary, Statements(replica_engine) as replica:
            on_replica = await _export(setup, method, path, headers, **kw)
    finally:
        setup.app.state.replica_sessionmaker = None
        await replica_engine.dispose()

    assert on_replica.content == on_primary.content, label
    assert on_replica.headers["content-disposition"] == on_primary.headers["content-disposition"]
    # The clients' rows came from the replica, in one transaction for every page ...
    assert len(replica.selects_of_client_names()) >= len(primary_reads), replica.seen
    assert replica.begun == 1
    assert not replica.audit_inserts()
    # ... and none from the primary, where each page's audit was written and committed.
    assert not primary.selects_of_client_names(), primary.selects_of_client_names()
    assert await _reads(setup.engine, on_replica) == primary_reads


async def test_the_replica_engine_is_read_only_and_repeatable_read(setup: Setup) -> None:
    engine, sessions = _replica(setup.url)
    try:
        async with sessions() as session:
            isolation = await session.scalar(text("SHOW transaction_isolation"))
            read_only = await session.scalar(text("SHOW transaction_read_only"))
            assert (isolation, read_only) == ("repeatable read", "on")
            with pytest.raises(DBAPIError) as refused:
                await session.execute(text("UPDATE cocs SET name = name"))
            assert "read-only transaction" in str(refused.value)
        # Even a transaction begun without the engine's options is read-only by default.
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            assert await driver.fetchval("SHOW default_transaction_read_only") == "on"
    finally:
        await engine.dispose()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_replica_that_does_not_answer_is_a_503_and_nothing_is_written(
    setup: Setup,
) -> None:
    headers = await _login(setup.client, "cas_admin")
    engine, sessions = _replica(f"postgresql://postgres@127.0.0.1:{_closed_port()}/cas")
    setup.app.state.replica_sessionmaker = sessions
    try:
        async with create_sessionmaker(setup.engine)() as session:
            before = await session.scalar(select(func.count()).select_from(AuditEvent))
        for path, fmt in ((EXPORTS, "csv"), (f"{CASELOADS}/organization/export", "xlsx")):
            r = await setup.client.get(path, params={"format": fmt}, headers=headers)
            assert_problem(r, 503, "database-unavailable")
            assert r.headers["retry-after"]
            assert await _reads(setup.engine, r) == []
        async with create_sessionmaker(setup.engine)() as session:
            after = await session.scalar(select(func.count()).select_from(AuditEvent))
        assert after == before
    finally:
        setup.app.state.replica_sessionmaker = None
        await engine.dispose()


async def test_the_app_makes_the_replica_engine_from_the_setting_and_disposes_of_it(
    setup: Setup,
) -> None:
    settings = SETTINGS.model_copy(
        update={"database_url": setup.url, "database_replica_url": setup.url}
    )
    app = create_app(settings)
    state: Any = app.state
    assert state.replica_sessionmaker is None  # until the app starts
    async with app.router.lifespan_context(app):
        engine: AsyncEngine = app.state.replica_engine
        assert engine.url.drivername == "postgresql+asyncpg"
        assert engine.pool.size() == settings.db_pool_size  # type: ignore[attr-defined]
        sessions: async_sessionmaker[AsyncSession] = app.state.replica_sessionmaker
        async with sessions() as session:
            assert await session.scalar(text("SHOW transaction_read_only")) == "on"
    assert app.state.replica_engine is None and app.state.replica_sessionmaker is None
    # Without the setting there is no replica: every read on the primary.
    assert create_replica(SETTINGS) is None


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "mysql://db.internal/cas",
        "postgresql://replica.internal",  # no database
        "postgresql:///cas",  # no host
    ],
)
def test_a_replica_url_that_is_not_one_is_refused_at_start(url: str) -> None:
    with pytest.raises(ValidationError, match="CAS_DATABASE_REPLICA_URL"):
        Settings(environment="test", database_replica_url=url)


def test_a_replica_url_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAS_DATABASE_REPLICA_URL", "postgresql://cas@replica.internal:5432/cas")
    assert Settings(environment="test").database_replica_url == (
        "postgresql://cas@replica.internal:5432/cas"
    )
    monkeypatch.setenv("CAS_DATABASE_REPLICA_URL", "")
    assert Settings(environment="test").database_replica_url is None


async def test_a_caseload_read_on_the_replica_shows_only_clients_the_primary_still_shows(
    setup: Setup,
) -> None:
    """The replica's snapshot still has an access the primary no longer has (ended in a
    transaction the replica has not seen; here, not committed yet): the client is left out of
    the page and of its audit event."""
    primary_sessions = create_sessionmaker(setup.engine)
    async with primary_sessions() as session:
        [actor] = [
            a for a in await memberships_by_email(session, "agency_admin@demo.example", "XX-501")
        ]
    order, filters = svc.CaseloadOrder(), svc.CaseloadFilters()
    async with primary_sessions() as session:
        scope_to_coc(session, actor.coc_id)
        shown = await svc.list_caseload(
            session, actor, Caseload.ORGANIZATION, filters, PageParams(limit=10), order
        )
        await session.rollback()
    everyone = [r.client_id for r in shown.items]
    assert len(everyone) == 3, everyone
    ended = everyone[0]
    engine, replica_sessions = _replica(setup.url)
    try:
        async with primary_sessions() as primary, replica_sessions() as replica:
            scope_to_coc(primary, actor.coc_id)
            scope_to_coc(replica, actor.coc_id)
            await primary.execute(
                text("DELETE FROM client_access WHERE client_id = :c AND organization_id = :o"),
                {"c": ended, "o": actor.organization_id},
            )
            page = await svc.list_caseload(
                replica,
                actor,
                Caseload.ORGANIZATION,
                filters,
                PageParams(limit=10),
                order,
                primary=primary,
            )
            [audited] = [e for e in primary.new if isinstance(e, AuditEvent)]
            await primary.rollback()
    finally:
        await engine.dispose()
    assert [r.client_id for r in page.items] == everyone[1:]
    assert audited.subject_ids == everyone[1:]


async def test_my_caseload_read_on_the_replica_leaves_out_a_case_assignment_ended_since(
    setup: Setup,
) -> None:
    """The replica's snapshot still has the caller's case assignment, which has ended on the
    primary (not committed yet) while the caller's organization keeps its access to the client:
    "mine" leaves the client out of the page and of its audit event; the organization's
    caseload (other case managers of the organization may hold the case) is checked on access
    only, as before."""
    primary_sessions = create_sessionmaker(setup.engine)
    async with primary_sessions() as session:
        [actor] = [
            a
            for a in await memberships_by_email(session, "case_manager@demo.example", "XX-501")
            if a.organization_id != (await _cas_org(session))
        ]
    order, filters = svc.CaseloadOrder(), svc.CaseloadFilters()
    async with primary_sessions() as session:
        scope_to_coc(session, actor.coc_id)
        shown = await svc.list_caseload(
            session, actor, Caseload.MINE, filters, PageParams(limit=10), order
        )
        await session.rollback()
    everyone = [r.client_id for r in shown.items]
    assert len(everyone) == 3, everyone
    ended = shown.items[0].enrollment_id
    engine, replica_sessions = _replica(setup.url)
    try:
        async with primary_sessions() as primary, replica_sessions() as replica:
            scope_to_coc(primary, actor.coc_id)
            scope_to_coc(replica, actor.coc_id)
            await primary.execute(
                text(
                    "UPDATE case_assignments SET status = 'inactive', end_date = start_date "
                    "WHERE enrollment_id = :e AND user_id = :u"
                ),
                {"e": ended, "u": actor.user_id},
            )
            pages, audited = {}, []
            for caseload in (Caseload.MINE, Caseload.ORGANIZATION):
                pages[caseload] = await svc.list_caseload(
                    replica, actor, caseload, filters, PageParams(limit=10), order, primary=primary
                )
                audited += [e.subject_ids for e in primary.new if isinstance(e, AuditEvent)]
                await primary.flush()
            await primary.rollback()
    finally:
        await engine.dispose()
    assert [r.client_id for r in pages[Caseload.MINE].items] == everyone[1:]
    assert sorted(r.client_id for r in pages[Caseload.ORGANIZATION].items) == sorted(everyone)
    assert audited == [everyone[1:], [r.client_id for r in pages[Caseload.ORGANIZATION].items]]


async def _cas_org(session: AsyncSession) -> uuid.UUID:
    org = await session.scalar(text("SELECT id FROM organizations WHERE kind = 'cas'"))
    assert isinstance(org, uuid.UUID)
    return org


async def test_a_queue_page_read_on_the_replica_shows_only_entries_the_primary_still_has_open(
    setup: Setup,
) -> None:
    """The replica's snapshot still has an entry open that the primary has closed since (an
    intake voided, a household housed; here in a transaction not committed yet): the queue
    export's page leaves it out, and its audit event does not name its client."""
    primary_sessions = create_sessionmaker(setup.engine)
    async with primary_sessions() as session:
        [actor] = list(await memberships_by_email(session, "cas_admin@demo.example", "XX-501"))
    order = QueueOrder.parse("-score")
    async with primary_sessions() as session:
        scope_to_coc(session, actor.coc_id)
        shown = await entries.list_entries(session, actor, QueueFilter(), order, 50, None)
        await session.rollback()
    everyone = [(r["id"], r["client"]["id"]) for r in shown.items]
    assert len(everyone) >= 3, everyone
    closed_id, closed_client = everyone[0]
    engine, replica_sessions = _replica(setup.url)
    try:
        async with primary_sessions() as primary, replica_sessions() as replica:
            scope_to_coc(primary, actor.coc_id)
            scope_to_coc(replica, actor.coc_id)
            await primary.execute(
                text(
                    "UPDATE queue_entries SET closed_at = now(), closed_reason = 'voided' "
                    "WHERE id = :e"
                ),
                {"e": closed_id},
            )
            page = await entries.list_entries(
                replica, actor, QueueFilter(), order, 50, None, primary=primary
            )
            audited = (
                await primary.scalars(
                    select(AuditEvent.subject_ids)
                    .where(
                        AuditEvent.action == "pii.read", AuditEvent.actor_user_id == actor.user_id
                    )
                    .order_by(AuditEvent.occurred_at.desc())
                    .limit(1)
                )
            ).one()
            await primary.rollback()
    finally:
        await engine.dispose()
    assert [r["id"] for r in page.items] == [e for e, _ in everyone[1:]]
    assert closed_client not in (audited or [])
    assert sorted(audited or []) == sorted(c for _, c in everyone[1:])
