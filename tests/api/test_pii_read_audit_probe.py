"""Every response that shows a client's name is recorded in the audit trail (who saw which
client, in which request) -- checked over every GET route, future routes included. A read is
recorded per client (``entity_id``) or once per response listing the clients (``subject_ids``);
either way, every client shown must be among those recorded."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import select

from app.models import AuditEvent, Client, HouseholdMember
from app.models.documents import ClientFile, DocumentCheck
from app.models.enrollments import Enrollment
from tests.api.probes import ProbeContext, probe_modules
from tests.conftest import Auth, World

CLIENT_DATA = re.compile(
    r"^/api/v1/(clients|households|enrollments|cas|document-checks|client-files|queue-entries"
    r"|queue-exports|caseloads)(/|$)"
)
READ_ACTIONS = {"pii.read", "document.download"}


async def test_responses_showing_a_client_name_are_audited(
    client: httpx.AsyncClient, auth: Auth, world: World, db: Any, app: Any
) -> None:
    ctx = ProbeContext(client=client, db=db, world=world, auth=auth)
    ids: dict[str, Any] = {}
    for module in probe_modules():
        ids.update(await module.arrange(ctx))
    people = [
        (c.id, c.last_name)
        for c in (await db.scalars(select(Client).where(Client.last_name.is_not(None)))).all()
        if c.last_name and len(c.last_name) >= 4
    ]
    assert people
    admin = await auth.headers("system_admin")
    failures: list[str] = []
    showing = 0
    for path, operations in app.openapi()["paths"].items():
        if "get" not in operations or not CLIENT_DATA.match(path):
            continue
        url = path.format(**{p: ids[p] for p in re.findall(r"{(\w+)}", path)})
        r = await client.get(url, headers=admin)
        if r.status_code != 200:
            continue
        shown = {cid for cid, last in people if last in r.text}
        if not shown:
            continue
        showing += 1
        # A read names its client in ``entity_id``, or lists the clients it showed in
        # ``subject_ids`` (one event for a whole page).
        reads = (
            await db.execute(
                select(AuditEvent.entity_id, AuditEvent.subject_ids).where(
                    AuditEvent.request_id == r.headers["x-request-id"],
                    AuditEvent.action.in_(READ_ACTIONS),
                )
            )
        ).all()
        audited = {entity_id for entity_id, _ in reads} | {
            cid for _, subjects in reads for cid in subjects or []
        }
        if not shown <= audited:
            failures.append(f"GET {path}: shows {len(shown)} client(s), audited {len(audited)}")
    assert showing >= 3
    assert not failures, "\n".join(failures)


# Path parameters naming a client's record; every GET under one of them reads that client's data.
CLIENT_LINKED = (
    "client_id",
    "enrollment_id",
    "household_id",
    "document_check_id",
    "client_file_id",
)


async def test_every_read_of_client_linked_records_is_audited(
    client: httpx.AsyncClient, auth: Auth, world: World, db: Any, app: Any
) -> None:
    """Every GET whose path names a client's record (the client, an enrollment and its records,
    a household, a document), future routes included, records a read naming that client:
    ``pii.read`` (or ``document.download``) with the client as ``entity_id`` or among
    ``subject_ids`` -- whether or not the response shows a name (case notes, disabilities,
    CLS location details and diversion answers carry none)."""
    ctx = ProbeContext(client=client, db=db, world=world, auth=auth)
    ids: dict[str, Any] = {}
    for module in probe_modules():
        ids.update(await module.arrange(ctx))
    owners = {
        "client_id": {ids["client_id"]},
        "enrollment_id": set(
            (
                await db.scalars(
                    select(Enrollment.client_id).where(Enrollment.id == ids["enrollment_id"])
                )
            ).all()
        ),
        "household_id": set(
            (
                await db.scalars(
                    select(HouseholdMember.client_id).where(
                        HouseholdMember.household_id == ids["household_id"]
                    )
                )
            ).all()
        ),
    }
    for name, model in (("document_check_id", DocumentCheck), ("client_file_id", ClientFile)):
        owners[name] = set(
            (await db.scalars(select(model.client_id).where(model.id == ids[name]))).all()
        )
    assert all(owners.values()), owners
    admin = await auth.headers("system_admin")
    failures: list[str] = []
    probed = 0
    for path, operations in app.openapi()["paths"].items():
        params = re.findall(r"{(\w+)}", path)
        linked = [p for p in params if p in CLIENT_LINKED]
        if "get" not in operations or not linked:
            continue
        url = path.format(**{p: ids[p] for p in params})
        r = await client.get(url, headers=admin)
        if r.status_code != 200:
            failures.append(f"GET {path}: {r.status_code} (the probe needs a 200)")
            continue
        probed += 1
        reads = (
            await db.execute(
                select(AuditEvent.entity_id, AuditEvent.subject_ids).where(
                    AuditEvent.request_id == r.headers["x-request-id"],
                    AuditEvent.action.in_(READ_ACTIONS | {"client.ssn_read"}),
                )
            )
        ).all()
        audited = {entity_id for entity_id, _ in reads} | {
            cid for _, subjects in reads for cid in subjects or []
        }
        if not owners[linked[0]] & audited:
            failures.append(f"GET {path}: no read of the client recorded")
    assert probed >= 20
    assert not failures, "\n".join(failures)
