"""The API contract: the committed OpenAPI document, operation ids, and a schemathesis run.

The schemathesis run drives the whole API, authenticated, against a live server on its own
database, and fails on any 5xx or any response that does not match the documented schema.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Flaky
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.config import Settings
from app.db import create_engine, upgrade_database
from app.main import create_app
from app.services.demo import seed_coc
from tests.conftest import PASSWORD, ROOT, _admin_exec, _server_url

OPENAPI_FILE = ROOT / "openapi" / "openapi.json"
# Examples per operation; raise it for a deeper local run (CAS_FUZZ_EXAMPLES=200 pytest -k api).
FUZZ_EXAMPLES = int(os.environ.get("CAS_FUZZ_EXAMPLES", "8"))
# Scenarios of the stateful run (chains of linked calls) and its seed; a release runs more
# (CAS_FUZZ_SCENARIOS=500, README "Development").
FUZZ_SCENARIOS = int(os.environ.get("CAS_FUZZ_SCENARIOS", "40"))
FUZZ_STEPS = int(os.environ.get("CAS_FUZZ_STEPS", "10"))
FUZZ_SEED = int(os.environ.get("CAS_FUZZ_SEED", "20260416"))

# Operations that end the caller's own session (the fuzzer's token); they have dedicated tests.
NOT_FUZZED = {"auth_logout", "auth_switch_organization"}
# Public operations (log in, refresh, password reset, invitation): fuzzed one by one (their
# answers to made-up credentials and tokens), not in the linked chains.
NOT_LINKED = NOT_FUZZED | {
    "auth_password_reset_confirm",
    "auth_invitation_accept",
    "auth_login",
    "auth_refresh",
    "auth_password_reset_request",
}
# No server error, and every answer as the contract says: its status among the documented
# ones, its media type, its headers and its body's schema.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_committed_openapi_matches_the_app(app: Any) -> None:
    committed = json.loads(Path(OPENAPI_FILE).read_text())
    assert committed == json.loads(json.dumps(app.openapi())), (
        "openapi/openapi.json is stale: run `cas openapi` and commit it"
    )


def test_operation_ids_are_stable(app: Any) -> None:
    """Declared errors, examples and descriptions: tests/api/test_contract_docs.py."""
    schema = app.openapi()
    seen: set[str] = set()
    for operations in schema["paths"].values():
        for op in operations.values():
            op_id = op["operationId"]
            assert re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", op_id), op_id
            assert op_id not in seen, op_id
            seen.add(op_id)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_server() -> Iterator[tuple[str, str]]:
    server_url = _server_url()
    name = f"cas_contract_{uuid.uuid4().hex[:10]}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    base_settings = Settings(
        environment="test",
        run_jobs_in_server=False,
        auth_rate_limit=100_000,
        database_url=url,
        # The fuzzer reads the whole live stream: it ends soon.
        sse_max_seconds=0.5,
        sse_heartbeat_seconds=0.2,
    )

    async def seed() -> None:
        engine = create_engine(url, base_settings, pool=False)
        async with async_sessionmaker(engine)() as session:
            await seed_coc(
                session,
                code="XX-501",
                name="Home CoC",
                email_domain="demo.example",
                password=PASSWORD,
            )
            await seed_coc(
                session,
                code="YY-502",
                name="Other CoC",
                email_domain="other.example",
                password=PASSWORD,
            )
            await session.commit()
        await engine.dispose()

    def prepare() -> None:
        asyncio.run(_admin_exec(server_url, f'CREATE DATABASE "{name}"'))
        upgrade_database(url)
        asyncio.run(seed())

    worker = threading.Thread(target=prepare)
    worker.start()
    worker.join()

    port = _free_port()
    config = uvicorn.Config(
        create_app(base_settings),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    token = httpx.post(
        f"{base}/api/v1/auth/login",
        json={"email": "system_admin@demo.example", "password": PASSWORD},
        timeout=30,
    ).json()["access_token"]
    yield base, token
    server.should_exit = True
    thread.join(timeout=10)
    cleanup = threading.Thread(
        target=lambda: asyncio.run(
            _admin_exec(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        )
    )
    cleanup.start()
    cleanup.join()


def test_api_never_errors_and_matches_its_schema(live_server: tuple[str, str]) -> None:
    base, token = live_server
    # The first build of the document takes seconds on a busy machine.
    api = schemathesis.openapi.from_url(f"{base}/openapi.json", timeout=120)
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    operations = 0
    for result in api.get_all_operations():
        operation = result.ok()
        if operation.definition.raw.get("operationId") in NOT_FUZZED:
            continue
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.verbose_name}: {str(exc)[:1500]}")
    assert operations > 10
    assert not failures, "\n\n".join(failures)


def test_linked_calls_never_error_and_match_their_schema(live_server: tuple[str, str]) -> None:
    """Stateful: chains of calls where a response's ids feed the next call (create a client,
    then read and change it; an intake, then its enrollment's records; a unit, then a match on
    it, then accept it; a subscription, then its deliveries ...), from the links schemathesis
    infers from the contract's response schemas and path parameters."""
    base, token = live_server
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json", timeout=120).exclude(
        operation_id=sorted(NOT_LINKED)
    )
    machine = schema.as_state_machine()
    headers = {"Authorization": f"Bearer {token}"}
    calls: Counter[str] = Counter()
    failures: list[str] = []
    scenarios = 0

    class Linked(machine):  # type: ignore[misc, valid-type]
        def before_call(self, case: Any) -> None:
            # The caller's token, whatever header the generator drew.
            case.headers = {**(case.headers or {}), **headers}

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers, "timeout": 30}

        def call(self, case: Any, **kwargs: Any) -> Any:
            try:
                return super().call(case, **kwargs)
            except Exception as exc:  # no answer in time, a dropped connection: a failure
                failures.append(f"{case.operation.verbose_name}: {type(exc).__name__}: {exc}")
                raise

        def after_call(self, response: Any, case: Any) -> None:
            operation = case.operation
            calls[f"{operation.method.upper()} {operation.path} {response.status_code}"] += 1

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except Exception as exc:
                failures.append(f"{case.operation.verbose_name}: {str(exc)[:1500]}")
                raise

        def teardown(self) -> None:
            nonlocal scenarios
            scenarios += 1
            super().teardown()

    # The scenarios share one live database, so a chain replayed by Hypothesis may meet a
    # server whose state a later scenario changed (an id deleted, a conflict now) and draw
    # differently: Hypothesis then stops with ``Flaky``. That is not an answer of the API
    # (schemathesis's own runner counts it as none): the run goes on with the next seed until
    # it has run its scenarios, while any check that failed, or any call that got no answer,
    # fails the test.
    for attempt in range(max(8, FUZZ_SCENARIOS // 5)):
        seed(FUZZ_SEED + attempt)(Linked)
        try:
            Linked.run(
                settings=settings(
                    max_examples=FUZZ_SCENARIOS - scenarios,
                    stateful_step_count=FUZZ_STEPS,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                    database=None,
                )
            )
        except Flaky:
            assert not failures, "\n\n".join(failures)
        assert not failures, "\n\n".join(failures)
        if scenarios >= FUZZ_SCENARIOS:
            break
    assert scenarios >= FUZZ_SCENARIOS, (scenarios, calls)
    assert sum(calls.values()) > FUZZ_SCENARIOS, calls
    # Ids from responses reached other operations: linked reads and changes succeeded.
    linked = [k for k in calls if "{" in k and k.rsplit(" ", 1)[1] in {"200", "201", "204"}]
    assert linked, calls


PII_PARAMETER = re.compile(
    r"(^|_)(name|first_name|last_name|ssn|ssn_last4|dob|birth|email|phone|address)($|_)"
)


def test_no_pii_in_urls(app: Any) -> None:
    """Names, SSNs, birth dates and contact details never travel in paths or query strings
    (they would land in proxy and server logs): searching by them is a POST."""
    offending = [
        f"{method.upper()} {path} ?{param['name']}"
        for path, operations in app.openapi()["paths"].items()
        for method, op in operations.items()
        for param in op.get("parameters", [])
        if param["in"] in {"query", "path"} and PII_PARAMETER.search(param["name"])
    ]
    assert not offending, offending
