"""Every route with a path id, called by someone who must not reach that resource.

Callers: a system admin of another CoC (must get 404/403 for everything), and, for routes with a
private parameter (clients, enrollments, documents, ...), a case manager of another agency in the
same CoC. Ids come from ``tests/api/probes``; a route whose parameter has no id fails this test.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.api.probes import ProbeContext, example_from_schema, probe_modules
from tests.conftest import Auth, World

OK_STATUSES = {403, 404}


def _body_for(operation: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        return {"json": example_from_schema(content["application/json"]["schema"], components)}
    if "multipart/form-data" in content:
        schema = content["multipart/form-data"]["schema"]
        if "$ref" in schema:
            schema = components[schema["$ref"].rsplit("/", 1)[-1]]
        data: dict[str, Any] = {}
        files: dict[str, Any] = {}
        for name in schema.get("required", []):
            prop = schema["properties"][name]
            if prop.get("format") == "binary" or prop.get("contentMediaType"):
                files[name] = ("probe.pdf", b"%PDF-1.4\n%probe\n", "application/pdf")
            else:
                value = example_from_schema(prop, components)
                data[name] = str(value).lower() if isinstance(value, bool) else str(value)
        return {
            "data": data,
            "files": files or {"file": ("probe.pdf", b"%PDF-1.4\n", "application/pdf")},
        }
    return {}


async def test_other_organizations_cannot_reach_any_resource(
    client: httpx.AsyncClient, auth: Auth, world: World, db: Any, app: Any
) -> None:
    ctx = ProbeContext(client=client, db=db, world=world, auth=auth)
    ids: dict[str, Any] = {}
    private: set[str] = set()
    shared: set[str] = set()
    for module in probe_modules():
        ids.update(await module.arrange(ctx))
        private |= set(module.PRIVATE)
        shared |= set(getattr(module, "SHARED", ()))

    schema = app.openapi()
    components = schema.get("components", {}).get("schemas", {})
    callers = {
        "other CoC system admin": await auth.headers("system_admin", coc="other"),
        "same-CoC other agency case manager": await auth.headers("case_manager2"),
    }
    failures: list[str] = []
    probed = 0
    for path, operations in schema["paths"].items():
        params = re.findall(r"{(\w+)}", path)
        if not params:
            continue
        missing = [p for p in params if p not in ids]
        if missing:
            failures.append(f"{path}: no probe id for {missing} (add one in tests/api/probes)")
            continue
        if set(params) <= shared:
            continue  # the same for every CoC (HUD's code lists): nothing to reach
        url = path.format(**{p: ids[p] for p in params})
        for method, operation in operations.items():
            kwargs = _body_for(operation, components)
            for label, headers in callers.items():
                if label.startswith("same-CoC") and not set(params) & private:
                    continue
                probed += 1
                r = await client.request(method.upper(), url, headers=headers, **kwargs)
                if r.status_code not in OK_STATUSES:
                    failures.append(
                        f"{method.upper()} {path} as {label}: {r.status_code} {r.text[:200]}"
                    )
                    continue
                body = r.json()
                leaked = set(body) - {"type", "title", "status", "detail", "instance", "errors"}
                if leaked or not r.headers["content-type"].startswith("application/problem+json"):
                    failures.append(f"{method.upper()} {path} as {label}: leaked {leaked}")
                if str(r.status_code) not in operation["responses"]:
                    failures.append(
                        f"{method.upper()} {path} as {label}: {r.status_code} is not among the "
                        "operation's documented responses"
                    )
    assert probed > 0
    assert not failures, "\n".join(failures)
