"""The contract's request examples work as published: each self-contained one is sent, as is,
to the app seeded like the demo (the same organization, project and user ids), by a caller who
may do the operation. Examples that name a client, household or enrollment you read first are
checked against their schemas only (tests/api/test_contract_docs.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from tests.conftest import Auth, World

# operation id -> (user, acting organization, expected status); path ids come from the world.
RUN = {
    "intakes_create": ("case_manager", "access_point_1", 201),
    "clients_create": ("case_manager", "access_point_1", 201),
    "clients_search": ("case_manager", "access_point_1", 200),
    "households_create": ("case_manager", "access_point_1", 201),
    "auth_switch_organization": ("case_manager", "access_point_1", 200),
    "auth_password_reset_request": (None, None, 202),
    "users_invite": ("system_admin", "hmis_lead", 201),
    "users_memberships_create": ("system_admin", "hmis_lead", 201),
    "users_update": ("system_admin", "hmis_lead", 200),
    "cocs_create": ("system_admin", "hmis_lead", 201),
    "cocs_update": ("system_admin", "hmis_lead", 200),
    "organizations_create": ("system_admin", "hmis_lead", 201),
    "organizations_update": ("system_admin", "hmis_lead", 200),
    "organizations_set_access_point": ("cas_admin", "cas", 200),
    "projects_create": ("system_admin", "hmis_lead", 201),
    "projects_update": ("system_admin", "hmis_lead", 200),
    "area_tie_options_replace": ("cas_admin", "cas", 200),
    "document_checklist_update": ("cas_admin", "cas", 200),
    "organizations_cas_contact_set": ("system_admin", "hmis_lead", 200),
    "projects_cas_contact_set": ("cas_admin", "cas", 200),
    "notifications_preferences_set": ("case_manager", "access_point_1", 200),
    "hmis_exports_create": ("system_admin", "hmis_lead", 202),
}


def _examples(document: dict[str, Any]) -> list[tuple[str, str, str, str, Any]]:
    found = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            if op["operationId"] not in RUN:
                continue
            media = op["requestBody"]["content"]["application/json"]
            named = {k: v["value"] for k, v in media.get("examples", {}).items()}
            for label, body in named.items() or [("example", media["example"])]:
                found.append((op["operationId"], label, method, path, body))
    return found


EXAMPLES = _examples(create_app(Settings(environment="test")).openapi())


def test_every_listed_operation_has_its_example_run() -> None:
    assert {op for op, *_ in EXAMPLES} == set(RUN)


@pytest.mark.parametrize(
    ("operation", "label", "method", "path", "body"),
    EXAMPLES,
    ids=[f"{op}-{label}" for op, label, *_ in EXAMPLES],
)
async def test_request_examples_work_against_the_demo_data(
    operation: str,
    label: str,
    method: str,
    path: str,
    body: Any,
    client: httpx.AsyncClient,
    auth: Auth,
    world: World,
) -> None:
    user, org, expected = RUN[operation]
    headers = await auth.headers(user, org=org) if user else {}
    ids = {
        "coc_id": world.home.coc.id,
        "organization_id": world.org_id("access_point_2"),
        "project_id": world.project_id("ap1_outreach"),
        "user_id": world.user_id("housing_provider"),
    }
    if method == "patch":
        headers = {**headers, "If-Match": "*"}
    r = await client.request(method.upper(), path.format(**ids), json=body, headers=headers)
    assert r.status_code == expected, f"{operation} ({label}): {r.text}"
