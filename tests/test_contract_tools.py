"""The contract as front-end teams and integrators use it, with their own tools (issue 10):

* Redocly (`recommended`: no errors) and Spectral (`spectral:oas`: no warnings) lint it;
* openapi-typescript generates types that a small openapi-fetch front end (`contract/
  journey.ts`) type-checks against: log in, list with the cursor, prefill an update from a
  read, upload a Blob;
* openapi-python-client (pinned in the dev dependencies) generates a client, without a single
  warning, that runs a whole journey against the service seeded with the demo: login, a client
  created with Idempotency-Key, search, the contract's intake example, a Document Check file
  uploaded and downloaded byte for byte, an update with If-Match and the typed 412 problem of a
  stale one, a list paged with its cursor, refresh and logout.

The Node tools are pinned in `contract/package-lock.json` and installed with `npm ci` into
`contract/node_modules` (kept between runs; reinstalled when the lock file changes). Node.js and
npm are required: without them these tests fail, they are never skipped.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import importlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker

from app import jobs as app_jobs
from app.config import Settings
from app.db import create_engine, upgrade_database
from app.main import create_app
from app.services.demo import DEMO_COC_CODE, DEMO_PDF, DEMO_TIME_ZONE, demo_uuid, seed_demo
from app.services.hmis.check import check_zip
from app.services.platform.crypto import FieldCipher
from app.storage import FileStore, LocalStorage
from app.unit_of_work import unit_of_work
from tests.conftest import ROOT, _admin_exec, _server_url
from tests.support import journey as J
from tests.support.hmis import read_zip
from tests.support.notifications import receiver

CONTRACT = ROOT / "contract"
BIN = CONTRACT / "node_modules" / ".bin"
DEMO_PASSWORD = "demo-password-2026"
NODE_ENV = {
    **os.environ,
    "REDOCLY_TELEMETRY": "off",
    "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    "NO_COLOR": "1",
}


def _run(args: list[str], *, cwd: Path = CONTRACT, timeout: int = 300) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=NODE_ENV, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(args)} failed ({done.returncode}):\n{output}"
    return output


@pytest.fixture(scope="module")
def node_tools() -> Path:
    """The pinned Node tools in contract/node_modules (``npm ci`` when the lock changed)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail(
            "The contract checks need Node.js (20 or later) and npm on the PATH: install them "
            "(e.g. apt-get install nodejs npm) and run the tests again."
        )
    lock = hashlib.sha256((CONTRACT / "package-lock.json").read_bytes()).hexdigest()
    stamp = CONTRACT / "node_modules" / ".installed-lock"
    if not stamp.exists() or stamp.read_text() != lock:
        _run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], timeout=900)
        stamp.write_text(lock)
    return BIN


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's OpenAPI document as a file (the committed copy is checked equal elsewhere)."""
    path = tmp_path_factory.mktemp("contract") / "openapi.json"
    path.write_text(json.dumps(create_app(Settings()).openapi(), indent=2))
    return path


def test_redocly_recommended_finds_no_errors(node_tools: Path, document: Path) -> None:
    # Exits non-zero on any error; the summary lists each rule that found something.
    output = _run([str(node_tools / "redocly"), "lint", str(document), "--format=summary"])
    assert not re.search(r"^\s*error\s", output, re.M), output


def test_spectral_oas_finds_no_warnings(node_tools: Path, document: Path) -> None:
    _run(
        [
            str(node_tools / "spectral"),
            "lint",
            str(document),
            "--ruleset",
            ".spectral.yaml",
            "--fail-severity=warn",
            "--format=text",
        ]
    )


def test_typescript_front_end_type_checks(node_tools: Path, document: Path) -> None:
    _run(["node", "generate-types.mjs", str(document), "generated/cas-api.ts"])
    _run([str(node_tools / "tsc"), "--noEmit", "-p", "."])


# --- the Python client ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def python_client(document: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The client openapi-python-client generates, importable as ``cas_api_client``."""
    out = tmp_path_factory.mktemp("python-client")
    tool = Path(sys.executable).parent / "openapi-python-client"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [
            str(tool),
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(out / "cas_api_client"),
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("cas_api_client")
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m.split(".")[0] == "cas_api_client"]:
            del sys.modules[name]


@dataclass
class DemoServer:
    url: str
    database_url: str
    settings: Settings


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """The service on a loopback port, its own database seeded with the demo (clients too)."""
    server_url = _server_url()
    name = f"cas_journey_{uuid.uuid4().hex[:10]}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    files = tmp_path_factory.mktemp("files")
    settings = Settings(
        environment="test",
        run_jobs_in_server=False,
        maintenance_interval_seconds=0,
        auth_rate_limit=100_000,
        database_url=url,
        storage_dir=files,
        demo_password=DEMO_PASSWORD,
        # The journey's webhook receiver listens on 127.0.0.1.
        webhook_allowed_networks=["127.0.0.1/32"],
    )

    async def seed() -> None:
        engine = create_engine(url, settings, pool=False)
        store = FileStore(LocalStorage(files), settings.field_encryption_key)
        async with unit_of_work(async_sessionmaker(engine)) as session:
            await seed_demo(
                session,
                DEMO_PASSWORD,
                FieldCipher(settings.field_encryption_key),
                store,
                settings,
            )
        await engine.dispose()

    def prepare() -> None:
        asyncio.run(_admin_exec(server_url, f'CREATE DATABASE "{name}"'))
        upgrade_database(url)
        asyncio.run(seed())

    worker = threading.Thread(target=prepare)
    worker.start()
    worker.join()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield DemoServer(f"http://127.0.0.1:{port}", url, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        cleanup = threading.Thread(
            target=lambda: asyncio.run(
                _admin_exec(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            )
        )
        cleanup.start()
        cleanup.join()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_generated_python_client_runs_the_journey(
    python_client: Any, demo_server: DemoServer, document: Path
) -> None:
    base_url = demo_server.url
    cas = python_client
    models = importlib.import_module("cas_api_client.models")
    types = importlib.import_module("cas_api_client.types")

    def op(tag: str, operation_id: str) -> Any:
        return importlib.import_module(f"cas_api_client.api.{tag}.{operation_id}")

    anonymous = cas.Client(base_url=base_url, timeout=30)

    # Log in, then act for the CAS organization (one of the demo case manager's memberships).
    contract = json.loads(document.read_text())

    def example(path: str, method: str = "post") -> Any:
        media = contract["paths"][path][method]["requestBody"]["content"]["application/json"]
        return media["example"] if "example" in media else media["examples"]

    login = op("auth", "auth_login").sync_detailed(
        client=anonymous, body=models.LoginRequest.from_dict(example("/api/v1/auth/login"))
    )
    assert login.status_code == 200, login.content
    tokens = login.parsed
    assert isinstance(tokens, models.TokenResponse)
    user = cas.AuthenticatedClient(base_url=base_url, token=tokens.access_token, timeout=30)
    me = op("auth", "auth_me").sync(client=user)
    assert isinstance(me, models.MeResponse)
    [cas_membership] = [
        m for m in me.memberships if m.organization_name == "Coordinated Access System"
    ]
    switched = op("auth", "auth_switch_organization").sync(
        client=user,
        body=models.SwitchOrganizationRequest(organization_id=cas_membership.organization_id),
    )
    assert isinstance(switched, models.TokenResponse)
    user = cas.AuthenticatedClient(base_url=base_url, token=switched.access_token, timeout=30)

    # Create a client, safely retried with the same Idempotency-Key.
    new = models.ClientCreate(
        first_name="Journey",
        last_name="Tester",
        dob=datetime.date(1980, 2, 29),
        sex=models.Sex.MALE,
        veteran_status=models.YesNoReasons.NO,
    )
    key = f"journey-{uuid.uuid4()}"
    first = op("clients", "clients_create").sync_detailed(
        client=user, body=new, idempotency_key=key
    )
    assert first.status_code == 201, first.content
    again = op("clients", "clients_create").sync_detailed(
        client=user, body=new, idempotency_key=key
    )
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    created = first.parsed
    assert isinstance(created, models.ClientCreated)
    assert again.parsed.id == created.id
    assert created.sex is models.Sex.MALE

    # Find client: the list shape, a typed hit.
    found = op("clients", "clients_search").sync(
        client=user, body=models.ClientSearch(name="Jon Smyth", dob=datetime.date(1975, 6, 1))
    )
    assert found is not None and found.next_cursor is None
    assert [h.client.last_name for h in found.items][:1] == ["Smith"]

    # The contract's own intake example, as published.
    placed = example("/api/v1/cas/intakes")["placed"]["value"]
    intake = op("intake", "intakes_create").sync_detailed(
        client=user,
        body=models.IntakeCreate.from_dict(placed),
        idempotency_key=f"intake-{uuid.uuid4()}",
    )
    assert intake.status_code == 201, intake.content
    assert intake.parsed.outcome is models.Outcome.PLACED
    intake_client = intake.parsed.client.id

    # Upload a Document Check file and download it byte for byte.
    letter = DEMO_PDF + b"%" + os.urandom(64).hex().encode() + b"\n"
    upload = op("document_check", "document_checks_create").sync_detailed(
        intake_client,
        client=user,
        body=models.DocumentCheckUpload(
            category=models.DocumentCategory.HOMELESS,
            item=models.DocumentItem.HOMELESS,
            document_type="third_party_letter",
            comments="Journey - shelter letter - 2026",
            file=types.File(
                payload=BytesIO(letter), file_name="letter.pdf", mime_type="application/pdf"
            ),
        ),
        idempotency_key=f"upload-{uuid.uuid4()}",
    )
    assert upload.status_code == 201, upload.content
    check = upload.parsed
    assert check.file.size_bytes == len(letter)
    assert check.file.sha256 == hashlib.sha256(letter).hexdigest()
    download = op("document_check", "document_checks_download").sync_detailed(check.id, client=user)
    assert download.status_code == 200
    assert download.parsed.payload.read() == letter
    # A file part without a file name is refused, nothing stored.
    nameless = op("document_check", "document_checks_create").sync_detailed(
        intake_client,
        client=user,
        body=models.DocumentCheckUpload(
            category=models.DocumentCategory.HOMELESS,
            item=models.DocumentItem.HOMELESS,
            document_type="third_party_letter",
            file=types.File(payload=BytesIO(letter)),
        ),
    )
    assert nameless.status_code == 422
    assert isinstance(nameless.parsed, models.ValidationProblem)

    # Update with If-Match (prefilled from the read: same types); a stale ETag is a typed 412.
    read = op("clients", "clients_get").sync_detailed(intake_client, client=user)
    etag = read.headers["etag"]
    current = read.parsed
    update = models.ClientUpdate(
        phone="214-555-0142",
        veteran_status=current.veteran_status,
        sex=current.sex,
        name_data_quality=current.name_data_quality,
    )
    changed = op("clients", "clients_update").sync_detailed(
        intake_client, client=user, body=update, if_match=etag
    )
    assert changed.status_code == 200, changed.content
    assert changed.parsed.phone == "214-555-0142"
    stale = op("clients", "clients_update").sync_detailed(
        intake_client, client=user, body=update, if_match=etag
    )
    assert stale.status_code == 412
    assert isinstance(stale.parsed, models.PreconditionFailedProblem)
    assert stale.parsed.type_ is models.ProblemType.PRECONDITION_FAILED
    assert stale.parsed.current_etag == changed.headers["etag"]

    # Page through the clients with the cursor.
    seen: list[Any] = []
    cursor: str | None = None
    while True:
        page = op("clients", "clients_list").sync(
            client=user, limit=100, cursor=cursor if cursor else types.UNSET
        )
        assert page is not None
        seen += [c.id for c in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) > 30
    assert created.id in seen

    # Refresh, then log out: the session's tokens stop working.
    refreshed = op("auth", "auth_refresh").sync(
        client=anonymous, body=models.RefreshRequest(refresh_token=switched.refresh_token)
    )
    assert isinstance(refreshed, models.TokenResponse)
    user = cas.AuthenticatedClient(base_url=base_url, token=refreshed.access_token, timeout=30)
    assert op("auth", "auth_logout").sync_detailed(client=user).status_code == 204
    after = op("auth", "auth_me").sync_detailed(client=user)
    assert after.status_code == 401
    assert isinstance(after.parsed, models.Problem)


# --- the whole journey with the generated client (the HTTP journey's steps and data) ----------


def _in_thread(work: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine on an event loop of its own (a thread: the test's loop may be busy)."""
    result: dict[str, Any] = {}

    def target() -> None:
        result["value"] = asyncio.run(work())

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    return result.get("value")


def _sql(server: DemoServer, statement: str, **params: Any) -> list[Any]:
    """A statement on the demo server's database: reading the invitation emails, moving the
    calendar the way the HTTP journey moves it."""

    async def work() -> list[Any]:
        engine = create_engine(server.database_url, server.settings, pool=False)
        try:
            async with engine.begin() as conn:
                result = await conn.execute(text(statement), params)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    rows: list[Any] = _in_thread(work)
    return rows


def _run_worker(server: DemoServer) -> int:
    """What ``cas worker`` does until nothing is due: notifications' fan-out, webhooks, emails."""

    async def work() -> int:
        engine = create_engine(server.database_url, server.settings, pool=False)
        try:
            runner = app_jobs.runner(
                async_sessionmaker(engine, expire_on_commit=False), server.settings, scheduled=False
            )
            return await runner.run_until_idle(None)
        finally:
            await engine.dispose()

    done: int = _in_thread(work)
    return done


def test_generated_python_client_runs_the_whole_journey(
    python_client: Any, demo_server: DemoServer
) -> None:
    """tests/api/test_journey.py's journey, step by step, through the generated client against
    the service on a loopback port (its calendar and its worker moved the same way)."""
    cas = python_client
    models = importlib.import_module("cas_api_client.models")
    types = importlib.import_module("cas_api_client.types")
    day = datetime.datetime.now(ZoneInfo(DEMO_TIME_ZONE)).date()
    any_version = "*"

    def op(tag: str, operation_id: str) -> Any:
        return importlib.import_module(f"cas_api_client.api.{tag}.{operation_id}")

    def ok(response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.content
        return response.parsed

    anonymous = cas.Client(base_url=demo_server.url, timeout=60)

    def login(email: str, password: str) -> Any:
        tokens = ok(
            op("auth", "auth_login").sync_detailed(
                client=anonymous, body=models.LoginRequest(email=email, password=password)
            )
        )
        return cas.AuthenticatedClient(
            base_url=demo_server.url, token=tokens.access_token, timeout=60
        )

    def org(key: str) -> uuid.UUID:
        return demo_uuid(DEMO_COC_CODE, "organization", key)

    def switch(user: Any, key: str) -> Any:
        tokens = ok(
            op("auth", "auth_switch_organization").sync_detailed(
                client=user, body=models.SwitchOrganizationRequest(organization_id=org(key))
            )
        )
        return cas.AuthenticatedClient(
            base_url=demo_server.url, token=tokens.access_token, timeout=60
        )

    # --- Invitations, accepted; everyone logs in.
    system_admin = login("system_admin@demo.example", DEMO_PASSWORD)
    agency_admin = login("agency_admin@demo.example", DEMO_PASSWORD)

    def invite(inviter: Any, who: tuple[str, str, str, str]) -> tuple[Any, Any]:
        email, name, org_key, role = who
        user = ok(
            op("users", "users_invite").sync_detailed(
                client=inviter,
                body=models.UserInvite.from_dict(
                    {
                        "email": email,
                        "full_name": name,
                        "organization_id": str(org(org_key)),
                        "role": role,
                    }
                ),
                idempotency_key=f"invite-{email}",
            ),
            201,
        )
        assert user.invitation_pending is True
        [(body,)] = _sql(
            demo_server,
            "SELECT body FROM email_outbox WHERE template = 'invitation' AND to_address = :a",
            a=email,
        )
        token = next(
            line for line in body.splitlines() if line and " " not in line and len(line) > 30
        )
        accepted = op("auth", "auth_invitation_accept").sync_detailed(
            client=anonymous, body=models.InvitationAccept(token=token, password=J.PASSWORD)
        )
        assert accepted.status_code == 204, accepted.content
        return login(email, J.PASSWORD), user.id

    cas_admin, _ = invite(system_admin, J.CAS_ADMIN)
    provider, _ = invite(system_admin, J.PROVIDER)
    manager, manager_id = invite(agency_admin, J.CASE_MANAGER)
    ok(
        op("users", "users_memberships_create").sync_detailed(
            manager_id,
            client=system_admin,
            body=models.MembershipCreate.from_dict(
                {"organization_id": str(org("cas")), "role": "case_manager"}
            ),
        ),
        201,
    )

    with receiver() as rx:
        subscription = ok(
            op("webhooks", "webhook_subscriptions_create").sync_detailed(
                client=agency_admin,
                body=models.WebhookSubscriptionCreate.from_dict(
                    {"url": rx.url, "event_types": J.WEBHOOK_EVENTS}
                ),
            ),
            201,
        )

        # --- Intake, placed on the queue.
        intake = ok(
            op("intake", "intakes_create").sync_detailed(
                client=manager, body=models.IntakeCreate.from_dict(J.intake())
            ),
            201,
        )
        assert intake.outcome is models.Outcome.PLACED
        client_id, entry_id = intake.client.id, intake.queue_entry.id
        ce_enrollment_id = intake.enrollment.id
        entry = ok(op("queue", "queue_get").sync_detailed(entry_id, client=cas_admin))
        assert entry.intake_status.value == "pending"

        # --- Documents.
        def upload(user: Any, body: dict[str, Any], name: str, data: bytes, kind: str) -> Any:
            def with_file(model: Any) -> Any:
                # The shared data's fields, then the file part with its name and type.
                form = model.from_dict({**body, "file": data})
                form.file = types.File(payload=BytesIO(data), file_name=name, mime_type=kind)
                return form

            if "file_type" in body:
                return ok(
                    op("client_files", "client_files_create").sync_detailed(
                        client_id,
                        client=user,
                        body=with_file(models.ClientFileUpload),
                    ),
                    201,
                )
            return ok(
                op("document_check", "document_checks_create").sync_detailed(
                    client_id,
                    client=user,
                    body=with_file(models.DocumentCheckUpload),
                ),
                201,
            )

        id_file = upload(manager, J.CLIENT_FILE, "id.png", J.ID_PNG, "image/png")
        assert id_file.file.sha256 == hashlib.sha256(J.ID_PNG).hexdigest()
        in_cas = switch(manager, "cas")
        upload(in_cas, J.HOMELESS_CHECK, "letter.pdf", J.LETTER_PDF, "application/pdf")

        # --- The queue's review.
        def move(user: Any, body: dict[str, Any]) -> Any:
            return ok(
                op("queue_review", "queue_entries_transition").sync_detailed(
                    entry_id,
                    client=user,
                    body=models.QueueTransitionCreate.from_dict(body),
                    if_match=any_version,
                )
            )

        ok(
            op("queue_review", "queue_entries_score_update").sync_detailed(
                entry_id,
                client=cas_admin,
                body=models.QueueScoreUpdate.from_dict(J.SCORE),
                if_match=any_version,
            )
        )
        assert move(cas_admin, J.INCOMPLETE).intake_status.value == "incomplete_documentation"
        review = ok(
            op("queue_review", "queue_entries_review").sync_detailed(entry_id, client=in_cas)
        )
        assert [r.code.value for r in review.incomplete_reasons] == ["disability_verification"]
        upload(in_cas, J.DISABILITY_CHECK, "disability.pdf", J.DISABILITY_PDF, "application/pdf")
        assert move(in_cas, J.SECOND_REVIEW).intake_status.value == "pending_second_review"
        assert move(cas_admin, J.APPROVED).intake_status.value == "approved"

        # --- A unit, candidates, the match.
        psh = demo_uuid(DEMO_COC_CODE, "project", "h1_psh")
        unit = ok(
            op("inventory", "units_create").sync_detailed(
                psh, client=provider, body=models.UnitCreate.from_dict(J.UNIT)
            ),
            201,
        )

        def candidates() -> list[Any]:
            page = ok(
                op("candidates", "units_candidates").sync_detailed(
                    unit.id, client=cas_admin, limit=200
                )
            )
            return [c.queue_entry_id for c in page.items]

        assert entry_id in candidates()

        def match() -> Any:
            return ok(
                op("matches", "matches_create").sync_detailed(
                    client=cas_admin,
                    body=models.MatchCreate.from_dict(
                        {
                            "unit_id": str(unit.id),
                            "queue_entry_id": str(entry_id),
                            "note": J.MATCH_NOTE,
                        }
                    ),
                ),
                201,
            )

        first = match()
        assert first.status.value == "sent" and first.stall.value == "on_time"

        # --- About to stall (the calendar moved), then parked.
        _sql(
            demo_server,
            "UPDATE matches SET clock_started_at = now() - interval '9 days' WHERE id = :i",
            i=first.id,
        )
        got = ok(op("matches", "matches_get").sync_detailed(first.id, client=cas_admin))
        assert got.stall.value == "about_to_stall"
        about = ok(
            op("matches", "matches_list").sync_detailed(client=cas_admin, about_to_stall=True)
        )
        assert first.id in [m.id for m in about.items]
        parked = ok(
            op("matches", "matches_park").sync_detailed(
                first.id,
                client=provider,
                body=models.MatchPark.from_dict(J.PARK),
                if_match=any_version,
            )
        )
        assert parked.status.value == "parked"
        assert parked.parked_until == day + datetime.timedelta(days=30)
        assert entry_id not in candidates()

        # --- The park's date comes; back among the candidates; a new match, accepted,
        # enrolled.
        _sql(demo_server, "UPDATE matches SET parked_until = :d WHERE id = :i", d=day, i=first.id)
        _sql(
            demo_server,
            "UPDATE queue_entries SET parked_until = :d WHERE id = :i",
            d=day,
            i=entry_id,
        )
        assert entry_id in candidates()
        second = match()
        accepted = ok(
            op("matches", "matches_accept").sync_detailed(
                second.id,
                client=provider,
                body=models.MatchAccept.from_dict(J.accept(day)),
                if_match=any_version,
            )
        )
        assert accepted.status.value == "accepted" and accepted.program_enrollment_id
        enrolled = ok(
            op("matches", "matches_outcome").sync_detailed(
                second.id,
                client=provider,
                body=models.MatchOutcome.from_dict(J.OUTCOME),
                if_match=any_version,
            )
        )
        assert enrolled.status.value == "enrolled" and enrolled.ce_exit_destination == 435
        occupied = ok(op("inventory", "units_get").sync_detailed(unit.id, client=cas_admin))
        assert occupied.status.value == "occupied" and occupied.occupant_client_id == client_id

        # --- CE exit, at the access point again (switching ended the other session).
        manager = switch(in_cas, "access_point_1")
        ok(
            op("enrollments", "enrollments_exit").sync_detailed(
                ce_enrollment_id,
                client=manager,
                body=models.ExitCreate.from_dict(J.exit_body(day)),
                if_match=any_version,
            ),
            201,
        )
        ce = ok(
            op("enrollments", "enrollments_get").sync_detailed(ce_enrollment_id, client=manager)
        )
        assert ce.exit_date == day and ce.to_dict()["exit"]["destination"] == 435

        # --- The worker delivers: the inboxes and the partner's receiver.
        _run_worker(demo_server)
        inbox = ok(op("notifications", "notifications_list").sync_detailed(client=cas_admin))
        assert ("document.uploaded", client_id) in {
            (n.kind.value, n.client_id) for n in inbox.items
        }
        types_received = {
            (json.loads(r.body)["type"], json.loads(r.body)["data"].get("client_id"))
            for r in rx.requests
        }
        assert ("document.uploaded", str(client_id)) in types_received
        assert ("enrollment.outcome_changed", str(client_id)) in types_received
        deliveries = ok(
            op("webhooks", "webhook_deliveries_list").sync_detailed(
                subscription.id, client=agency_admin
            )
        )
        assert {d.status.value for d in deliveries.items} == {"succeeded"}

    # --- The HMIS CSV export: the client, both enrollments, the exit; structurally clean.
    export = ok(
        op("hmis_csv", "hmis_exports_create").sync_detailed(
            client=system_admin,
            body=models.ExportCreate.from_dict(
                {
                    "start_date": (day - datetime.timedelta(days=400)).isoformat(),
                    "end_date": day.isoformat(),
                }
            ),
        ),
        202,
    )
    _run_worker(demo_server)  # the export runs on the job runner
    deadline = time.monotonic() + 120
    while True:
        job = ok(op("hmis_csv", "hmis_exports_get").sync_detailed(export.id, client=system_admin))
        if job.status.value in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert job.status.value == "succeeded", job
    archive = ok(
        op("hmis_csv", "hmis_exports_download").sync_detailed(export.id, client=system_admin)
    )
    data = archive.payload.read()
    zipped = Path(tempfile.mkdtemp()) / "export.zip"
    zipped.write_bytes(data)
    assert check_zip(str(zipped)).issues == []
    files = read_zip(data)
    person = client_id.hex
    assert [c["LastName"] for c in files["Client"] if c["PersonalID"] == person] == ["Traveler"]
    assert {e["EnrollmentID"] for e in files["Enrollment"] if e["PersonalID"] == person} == {
        ce_enrollment_id.hex,
        uuid.UUID(str(accepted.program_enrollment_id)).hex,
    }
    [left] = [x for x in files["Exit"] if x["EnrollmentID"] == ce_enrollment_id.hex]
    assert left["Destination"] == "435" and left["ExitDate"] == day.isoformat()
    referrals = [
        e
        for e in files["Event"]
        if e["EnrollmentID"] == ce_enrollment_id.hex and e["Event"] == "14"
    ]
    assert len(referrals) == 2 and {e["ReferralResult"] for e in referrals} >= {"1"}
    held = {
        name: sum(1 for r in files[name] if r["EnrollmentID"] == ce_enrollment_id.hex)
        for name in (
            "Assessment",
            "CurrentLivingSituation",
            "Disabilities",
            "HealthAndDV",
            "IncomeBenefits",
        )
    }
    assert all(held.values()), held
