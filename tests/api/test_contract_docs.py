"""What every operation of the OpenAPI document must say (docs/ARCHITECTURE.md, "document a
route"): routes added later are held to it as soon as they exist."""

from __future__ import annotations

import importlib.metadata
import json
import re
from typing import Any

import jsonschema
import pytest

from app.errors import PROBLEM_BASE, DomainError
from app.http.contract import TAG_GROUPS, TAGS
from app.openapi import api_routes

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def document(app: Any) -> dict[str, Any]:
    return json.loads(json.dumps(app.openapi()))


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    ]


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        kind, name = node["$ref"].split("/")[-2:]
        node = document["components"][kind][name]
    return node


def test_every_operation_has_a_human_summary_and_a_full_description(
    app: Any, document: dict[str, Any]
) -> None:
    routes = {r.name: r for r in api_routes(app.routes) if r.include_in_schema}
    failures = []
    for path, method, op in _operations(document):
        name = op["operationId"]
        route = routes[name]
        where = f"{method.upper()} {path} ({name})"
        if not route.summary:
            failures.append(f"{where}: no summary= on the route")
        if not (route.description or "").strip():
            failures.append(f"{where}: no docstring")
        description = op.get("description", "")
        for part in ("**Permission:**", "**Visibility:**"):
            if part not in description:
                failures.append(f"{where}: the description lacks {part} (documented(...))")
    assert not failures, "\n".join(failures)


def test_every_body_and_every_json_answer_has_an_example(document: dict[str, Any]) -> None:
    failures = []
    for path, method, op in _operations(document):
        where = f"{method.upper()} {path}"
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            if "example" not in media and "examples" not in media:
                failures.append(
                    f"{where}: no request example for {media_type} "
                    "(add it to app/openapi/examples.py)"
                )
        for code, response in op["responses"].items():
            response = _resolve(document, response)
            for media_type, media in response.get("content", {}).items():
                if media_type.endswith("json") and not ("example" in media or "examples" in media):
                    failures.append(f"{where}: no {code} example for {media_type}")
    assert not failures, "\n".join(failures)


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Validator:
    root = {**schema, "components": document["components"]}
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())


def test_examples_match_their_schemas(document: dict[str, Any]) -> None:
    failures = []
    for path, method, op in _operations(document):
        where = f"{method.upper()} {path}"
        bodies = [("request", op.get("requestBody", {}))]
        bodies += [(code, _resolve(document, r)) for code, r in op["responses"].items()]
        for label, holder in bodies:
            for media_type, media in holder.get("content", {}).items():
                schema = media.get("schema")
                if not schema or not media_type.endswith(("json", "form-data")):
                    continue
                examples = [media["example"]] if "example" in media else []
                examples += [e["value"] for e in media.get("examples", {}).values()]
                for example in examples:
                    for error in _validator(document, schema).iter_errors(example):
                        failures.append(f"{where} {label} example: {error.message}")
    assert not failures, "\n".join(failures[:50])


def test_tags_are_described_and_grouped(document: dict[str, Any]) -> None:
    described = {t["name"] for t in document["tags"]}
    grouped = [t for g in document["x-tagGroups"] for t in g["tags"]]
    assert described == set(TAGS) == set(grouped)
    assert len(grouped) == len(set(grouped)), "a tag is in two groups"
    assert set(TAG_GROUPS) == {g["name"] for g in document["x-tagGroups"]}
    for path, method, op in _operations(document):
        assert len(op["tags"]) == 1 and op["tags"][0] in described, f"{method} {path}"
    counts: dict[str, int] = {}
    for _, _, op in _operations(document):
        counts[op["tags"][0]] = counts.get(op["tags"][0], 0) + 1
    assert max(counts.values()) <= 15, counts  # no bag of 30 operations


# Operations without path ids that answer 404 all the same (tests/api/test_role_probe.py sends
# every role to them): the queue, which does not exist outside the CAS organization and the
# admins; creates naming an organization the caller cannot see.
NOT_FOUND_WITHOUT_IDS = {
    "queue_list",
    "queue_search",
    "queue_settings_get",
    "queue_export",
    "queue_export_search",
    "projects_create",
    "users_invite",
}


def test_errors_are_problems_declared_per_operation(document: dict[str, Any]) -> None:
    failures = []
    for path, method, op in _operations(document):
        where = f"{method.upper()} {path}"
        responses = op["responses"]
        for code, response in responses.items():
            if int(code) < 400 or path.startswith("/health"):
                continue
            if not response.get("$ref", "").startswith("#/components/responses/"):
                failures.append(f"{where} {code}: not a declared problem response")
                continue
            assert PROBLEM in _resolve(document, response)["content"]
        if method == "get" and "413" in responses:
            failures.append(f"{where}: a GET cannot be too large (413)")
        if "requestBody" in op and "400" not in responses:
            failures.append(f"{where}: a body may be malformed (400)")
        public = op.get("security") == []
        login = op["operationId"] in {"auth_login", "auth_refresh"}
        if public and not login and "401" in responses:
            failures.append(f"{where}: public, yet 401")
        if "{" in path and "404" not in responses:
            failures.append(f"{where}: has path ids, no 404")
        if (
            "{" not in path
            and "404" in responses
            and op["operationId"] not in NOT_FOUND_WITHOUT_IDS
        ):
            failures.append(f"{where}: no path ids, yet 404")
        if path.startswith("/api/") and not public and "401" not in responses:
            failures.append(f"{where}: authenticated, no 401")
    assert not failures, "\n".join(failures)
    assert document["paths"]["/api/v1/auth/login"]["post"]["security"] == []
    assert "404" not in document["paths"]["/api/v1/auth/login"]["post"]["responses"]


def test_problem_types_are_published(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    types = set(schemas["ProblemType"]["enum"])

    def slugs(cls: type[DomainError]) -> set[str]:
        own = {cls.slug} if cls.__module__.startswith("app.") else set()
        return own.union(*(slugs(sub) for sub in cls.__subclasses__()))

    assert {PROBLEM_BASE + s for s in slugs(DomainError)} <= types
    assert {"/problems/transition-not-allowed", "/problems/precondition-required"} <= types
    problem = schemas["Problem"]["properties"]
    for extra in ("current_etag", "enrollment_id", "current", "allowed", "errors", "constraint"):
        assert problem[extra]["description"], extra
    assert "current_etag" in schemas["PreconditionFailedProblem"]["required"]
    assert "errors" in schemas["ValidationProblem"]["required"]


def test_response_headers_are_declared(document: dict[str, Any]) -> None:
    failures = []
    for path, method, op in _operations(document):
        where = f"{method.upper()} {path}"
        for code, response in op["responses"].items():
            headers = _resolve(document, response).get("headers", {})
            if "X-Request-ID" not in headers:
                failures.append(f"{where} {code}: X-Request-ID")
            if code in ("429", "503") and "Retry-After" not in headers:
                failures.append(f"{where} {code}: Retry-After")
        success = {c: r for c, r in op["responses"].items() if c.startswith("2")}
        if any(p["name"] == "Idempotency-Key" for p in op.get("parameters", [])):
            for code, response in success.items():
                if "Idempotent-Replayed" not in response.get("headers", {}):
                    failures.append(f"{where} {code}: Idempotent-Replayed")
    assert not failures, "\n".join(failures)
    paths = document["paths"]
    created = paths["/api/v1/clients"]["post"]["responses"]["201"]["headers"]
    assert {"ETag", "Location", "Idempotent-Replayed"} <= set(created)
    read = paths["/api/v1/clients/{client_id}"]["get"]["responses"]["200"]["headers"]
    assert {"ETag", "X-Merged-Into", "Content-Location"} <= set(read)
    download = paths["/api/v1/document-checks/{document_check_id}/file"]["get"]["responses"]
    assert "Content-Disposition" in download["200"]["headers"]
    assert "application/octet-stream" in download["200"]["content"]


def test_if_match_is_required_on_records_several_people_edit(document: dict[str, Any]) -> None:
    paths = document["paths"]

    def if_match(path: str, method: str) -> dict[str, Any]:
        op = paths[path][method]
        [param] = [p for p in op["parameters"] if p["name"] == "If-Match"]
        assert "412" in op["responses"]
        return param

    for path, method in [
        ("/api/v1/clients/{client_id}", "patch"),
        ("/api/v1/enrollments/{enrollment_id}", "patch"),
        ("/api/v1/enrollments/{enrollment_id}/exit", "post"),
        ("/api/v1/enrollments/{enrollment_id}/assessments", "post"),
        ("/api/v1/households/{household_id}/members", "post"),
        ("/api/v1/households/{household_id}/members/{client_id}", "patch"),
        ("/api/v1/households/{household_id}/members/{client_id}", "delete"),
        ("/api/v1/enrollments/{enrollment_id}/void", "post"),
        ("/api/v1/enrollments/{enrollment_id}/unvoid", "post"),
    ]:
        assert if_match(path, method)["required"] is True, (method, path)
        assert "428" in paths[path][method]["responses"]
        assert "`If-Match` is required" in paths[path][method]["description"]
    for path, method in [
        ("/api/v1/organizations/{organization_id}", "patch"),
        ("/api/v1/users/{user_id}", "patch"),
        ("/api/v1/document-checks/{document_check_id}", "delete"),
        ("/api/v1/organizations/{organization_id}/access-point", "put"),
    ]:
        assert if_match(path, method)["required"] is False, (method, path)
        assert "428" not in paths[path][method]["responses"]


def test_lists_have_the_list_shape(document: dict[str, Any]) -> None:
    failures = []
    for path, method, op in _operations(document):
        for code, response in op["responses"].items():
            media = _resolve(document, response).get("content", {}).get("application/json")
            if media is None:
                continue
            schema = _resolve(document, media["schema"])
            if schema.get("type") == "array":
                failures.append(f"{method.upper()} {path} {code}: a bare array")
    assert not failures, "\n".join(failures)
    paths = document["paths"]
    for path, method, code in [
        ("/api/v1/enrollments/{enrollment_id}/household", "get", "200"),
        ("/api/v1/clients/search", "post", "200"),
        ("/api/v1/enrollments/{enrollment_id}/disabilities", "post", "201"),
        ("/api/v1/clients/{client_id}/area-ties", "post", "201"),
        ("/api/v1/reference/code-lists", "get", "200"),
        ("/api/v1/enrollments/{enrollment_id}/income-benefits", "get", "200"),
        ("/api/v1/enrollments/{enrollment_id}/domestic-violence", "get", "200"),
        ("/api/v1/clients/duplicates", "get", "200"),
        ("/api/v1/clients/duplicate-refusals", "get", "200"),
        ("/api/v1/data-quality/issues", "get", "200"),
    ]:
        media = paths[path][method]["responses"][code]["content"]["application/json"]
        assert set(_resolve(document, media["schema"])["required"]) == {"items", "next_cursor"}


def test_hud_codes_are_named_lists_shared_by_reads_and_writes(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    lists = {name for name, s in schemas.items() if "x-hud-list" in s}
    assert {"LivingSituation", "YesNoReasons", "RelationshipToHoH", "Sex"} <= lists
    for name in lists:
        s = schemas[name]
        assert len(s["enum"]) == len(s["x-enum-descriptions"]) == len(s["x-enum-varnames"])
        assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", v) for v in s["x-enum-varnames"]), name

    def refs(prop: dict[str, Any]) -> set[str]:
        found = {prop["$ref"].rsplit("/", 1)[-1]} if "$ref" in prop else set()
        for option in prop.get("anyOf", []):
            found |= refs(option)
        if "items" in prop:
            found |= refs(prop["items"])
        return found

    # Every property name is typed the same way wherever it appears.
    typed: dict[str, set[str]] = {}
    failures = []
    for model, schema in schemas.items():
        for prop, sub in schema.get("properties", {}).items():
            named = refs(sub) & lists
            inline = [o for o in [sub, *sub.get("anyOf", [])] if o.get("type") == "integer"]
            if any("enum" in o for o in inline):
                failures.append(f"{model}.{prop}: an inline integer enum (publish a named list)")
            if named:
                typed.setdefault(prop, set()).update(named)
                if inline:
                    failures.append(f"{model}.{prop}: a plain integer elsewhere named {named}")
    failures += [f"{prop}: {names}" for prop, names in typed.items() if len(names) > 1]
    assert not failures, "\n".join(failures)
    # And read models name the lists write models do.
    for read, write, field in [
        ("ClientRead", "ClientUpdate", "veteran_status"),
        ("EnrollmentRead", "PriorLivingSituationIn", "living_situation"),
        ("CurrentLivingSituationRead", "CurrentLivingSituationIn", "current_living_situation"),
        ("DisabilityRead", "BarrierIn", "disability_response"),
        ("HousingNeedsRead", "HousingNeedsIn", "hud_vash_eligible"),
        ("IncomeBenefitsRead", "IncomeBenefitsIn", "income_from_any_source"),
        ("IncomeBenefitsRead", "IncomeBenefitsIn", "earned"),
        ("IncomeBenefitsRead", "IncomeBenefitsIn", "no_medicaid_reason"),
        ("IncomeBenefitsRead", "IncomeBenefitsCreate", "data_collection_stage"),
        ("DomesticViolenceRead", "DomesticViolenceIn", "when_occurred"),
        ("DomesticViolenceRead", "DomesticViolenceIn", "currently_fleeing"),
    ]:
        assert refs(schemas[read]["properties"][field]) == refs(
            schemas[write]["properties"][field]
        ), (read, write, field)


def test_a_code_named_in_one_model_is_named_in_every_model(document: dict[str, Any]) -> None:
    """A property typed with a HUD list somewhere is not a bare integer elsewhere: a generated
    client would give the same code an enum in one model and a number in another."""
    schemas = document["components"]["schemas"]
    lists = {name for name, s in schemas.items() if "x-hud-list" in s}

    def options(prop: dict[str, Any]) -> list[dict[str, Any]]:
        return [prop, *prop.get("anyOf", [])]

    named: dict[str, set[str]] = {}
    for schema in schemas.values():
        for prop, sub in schema.get("properties", {}).items():
            for o in options(sub):
                if "$ref" in o and o["$ref"].rsplit("/", 1)[-1] in lists:
                    named.setdefault(prop, set()).add(o["$ref"].rsplit("/", 1)[-1])
    failures = [
        f"{model}.{prop}: a bare integer, elsewhere {sorted(named[prop])}"
        for model, schema in schemas.items()
        for prop, sub in schema.get("properties", {}).items()
        if prop in named and any(o.get("type") == "integer" for o in options(sub))
    ]
    assert not failures, "\n".join(failures)


def test_every_field_of_a_response_is_required(document: dict[str, Any]) -> None:
    """Responses send every field (null when empty): a schema only responses use marks each
    property required, so a generated client types none of them as possibly absent."""
    schemas = document["components"]["schemas"]

    def refs(node: Any, found: set[str]) -> set[str]:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[-1]
                if name not in found:
                    found.add(name)
                    refs(schemas[name], found)
            for value in node.values():
                refs(value, found)
        elif isinstance(node, list):
            for value in node:
                refs(value, found)
        return found

    sent: set[str] = set()
    received: set[str] = set()
    for _, _, op in _operations(document):
        refs(op.get("responses", {}), sent)
        refs(op.get("requestBody", {}), received)
    optional = {
        name: set(schemas[name].get("properties", {})) - set(schemas[name].get("required", []))
        for name in sent - received
    }
    failures = [f"{name}: {sorted(props)}" for name, props in sorted(optional.items()) if props]
    assert not failures, "\n".join(failures)


def test_numbers_are_numbers_in_requests_and_responses(document: dict[str, Any]) -> None:
    """A decimal (an amount, a requirement's bound) is a JSON number in the contract, never a
    union of number and string that generators turn into a wrapper type or a string."""
    failures = []
    for model, schema in document["components"]["schemas"].items():
        for prop, sub in schema.get("properties", {}).items():
            kinds: set[str] = set()
            for option in [sub, *sub.get("anyOf", [])]:
                kind = option.get("type", [])
                kinds |= set(kind) if isinstance(kind, list) else {kind}
            if "string" in kinds and ("number" in kinds or "integer" in kinds):
                failures.append(f"{model}.{prop}: number or string")
            elif "string" in kinds and prop.endswith(("_amount", "_income", "_value")):
                failures.append(f"{model}.{prop}: a string")
    assert not failures, "\n".join(failures)


def test_file_parts_are_binary_and_forms_are_named(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    uploads = []
    for _, _, op in _operations(document):
        content = op.get("requestBody", {}).get("content", {})
        if "multipart/form-data" in content:
            ref = content["multipart/form-data"]["schema"]["$ref"]
            uploads.append(ref.rsplit("/", 1)[-1])
    assert sorted(uploads) == ["ClientFileUpload", "DocumentCheckUpload", "HmisImportUpload"]
    for name in uploads:
        part = schemas[name]["properties"]["file"]
        assert part["type"] == "string" and part["format"] == "binary"
    assert "file" in schemas["ClientFileUpload"]["required"]
    assert not any(name.startswith("Body_") for name in schemas)


def test_info_servers_and_security(document: dict[str, Any]) -> None:
    info = document["info"]
    assert info["version"] == importlib.metadata.version("cas-api")
    assert info["license"]["identifier"] == "Apache-2.0"
    assert info["contact"]["name"]
    assert document["servers"][0]["variables"]["base_url"]["default"]
    assert document["security"] == [{"HTTPBearer": []}]
    public = {op["operationId"] for _, _, op in _operations(document) if op.get("security") == []}
    assert public == {
        "auth_login",
        "auth_refresh",
        "auth_password_reset_request",
        "auth_password_reset_confirm",
        "auth_invitation_accept",
        "health_live",
        "health_ready",
    }


def test_string_code_lists_are_named_components(document: dict[str, Any]) -> None:
    """A list of codes (an ``enum``) in a model's property or a query parameter is a named
    component: an inline ``enum`` makes each generator invent a type per place (the same kinds
    would be one type in the read model and another in the list's filter)."""

    def inline(schema: dict[str, Any]) -> bool:
        options = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
        options += [o["items"] for o in options if isinstance(o.get("items"), dict)]
        return any("enum" in o for o in options)

    failures = [
        f"{model}.{prop}"
        for model, schema in document["components"]["schemas"].items()
        for prop, sub in schema.get("properties", {}).items()
        if inline(sub)
    ]
    failures += [
        f"{method.upper()} {path} ?{p['name']}"
        for path, method, op in _operations(document)
        for p in op.get("parameters", [])
        if inline(p.get("schema", {}))
    ]
    assert not failures, "\n".join(failures)
