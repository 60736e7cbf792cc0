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
import threading
import time
import uuid
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.config import Settings
from app.db import create_engine, upgrade_database
from app.main import create_app
from app.services.demo import DEMO_PDF, seed_demo
from app.services.platform.crypto import FieldCipher
from app.storage import FileStore, LocalStorage
from app.unit_of_work import unit_of_work
from tests.conftest import ROOT, _admin_exec, _server_url

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


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
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
    )

    async def seed() -> None:
        engine = create_engine(url, settings, pool=False)
        store = FileStore(LocalStorage(files), settings.field_encryption_key)
        async with unit_of_work(async_sessionmaker(engine)) as session:
            await seed_demo(
                session, DEMO_PASSWORD, FieldCipher(settings.field_encryption_key), store
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
        yield f"http://127.0.0.1:{port}"
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
    python_client: Any, demo_server: str, document: Path
) -> None:
    cas = python_client
    models = importlib.import_module("cas_api_client.models")
    types = importlib.import_module("cas_api_client.types")

    def op(tag: str, operation_id: str) -> Any:
        return importlib.import_module(f"cas_api_client.api.{tag}.{operation_id}")

    anonymous = cas.Client(base_url=demo_server, timeout=30)

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
    user = cas.AuthenticatedClient(base_url=demo_server, token=tokens.access_token, timeout=30)
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
    user = cas.AuthenticatedClient(base_url=demo_server, token=switched.access_token, timeout=30)

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
            client=user, limit=10, cursor=cursor if cursor else types.UNSET
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
    user = cas.AuthenticatedClient(base_url=demo_server, token=refreshed.access_token, timeout=30)
    assert op("auth", "auth_logout").sync_detailed(client=user).status_code == 204
    after = op("auth", "auth_me").sync_detailed(client=user)
    assert after.status_code == 401
    assert isinstance(after.parsed, models.Problem)
