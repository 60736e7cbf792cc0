"""The OpenAPI document: FastAPI's, completed from what each route declares.

``build_openapi(app)`` (``create_app`` installs it as ``app.openapi``) adds, per operation:

* the description: the docstring, then **Permission** (the route's ``require`` /
  ``require_for_clients`` permissions and the roles holding them, or ``documented(permission=)``),
  **Visibility** (``documented(visibility)``), **Concurrency** (``If-Match``) and
  **Idempotency**;
* the error responses it can give, read from the route (authentication, permissions, path
  parameters, a body, ``If-Match``, ``Idempotency-Key``, rate limits) plus its explicit
  ``problems(...)``: references to ``#/components/responses/*`` whose body is a ``Problem``
  with a ``type`` from the ``ProblemType`` enum;
* response headers: ``X-Request-ID`` on every response, ``Idempotent-Replayed`` on idempotent
  ones, and what ``documented(sends=...)`` names;
* ``security: []`` on public operations, a request example for every body (from
  ``app.openapi.examples``) and a response example for every JSON answer (the model's own, or
  one made from the schema).

And to the document: ``info`` (version = the package's, license, contact), ``servers``, tags with
descriptions and ``x-tagGroups``, and the multipart upload schemas.
"""

from __future__ import annotations

import copy
import importlib.metadata
import inspect
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.config import Settings
from app.deps import (
    export_rate_limit,
    identifiable_client_access,
    if_match_header,
    if_match_required_header,
)
from app.errors import PROBLEM_BASE, PROBLEM_CONTENT_TYPE, DomainError
from app.http.contract import (
    COMPONENTS_EXTRA,
    CONTENT_DISPOSITION,
    CONTENT_LOCATION,
    ETAG,
    HEADERS_EXTRA,
    LOCATION,
    MERGED_INTO,
    PERMISSION_EXTRA,
    TAG_GROUPS,
    TAGS,
    VISIBILITY_EXTRA,
)
from app.http.problems import STATUS_SLUGS
from app.http.ratelimit import auth_rate_limit
from app.http.uow import IDEMPOTENT_EXTRA, MAX_KEY_LENGTH
from app.openapi.examples import REQUEST_EXAMPLES, RESPONSE_EXAMPLES
from app.permissions import ROLE_PERMISSIONS, Permission, Role

SECURITY_SCHEME = "HTTPBearer"
REF = "#/components/"

API_DESCRIPTION = """
The open Coordinated Access System (CAS) API for HUD Continuums of Care: Coordinated Entry
intake, diversion, assessments, document verification, the prioritization queue and referrals.

* Authentication: `POST /api/v1/auth/login` gives a bearer access token; every request acts for
  one organization, the one in the token (`POST /api/v1/auth/switch-organization` changes it).
* Errors are RFC 9457 `application/problem+json`; `type` is one of `ProblemType`.
* Lists use keyset pagination: `limit` (max 200) and an opaque `cursor`; responses are
  `{items, next_cursor}` (pass `next_cursor` back as `cursor`; `null` on the last page).
* Mutable resources carry `version`; the `ETag` is that version in quotes (`version: 3` is
  `ETag: "3"`). Send it back as `If-Match` on updates: 412 when stale; records several people
  edit (clients, enrollments, households) require it (428 without).
* Creating POSTs accept `Idempotency-Key`: a retry replays the first response
  (`Idempotent-Replayed: true`).
* HUD codes are integers from the FY2026 lists, each published once as a schema with its labels
  (`x-enum-descriptions`) and served by `GET /api/v1/reference/code-lists`.
* Every response carries `X-Request-ID`; quote it when reporting a problem.
"""


# --- headers and problem responses -----------------------------------------------------------

HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id (yours when you sent a safe one); quote it when "
        "reporting a problem.",
        "schema": {"type": "string", "maxLength": 128},
    },
    ETAG: {
        "description": 'The resource\'s version in quotes (`version: 3` is `"3"`); send it back '
        "as `If-Match`.",
        "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
    },
    LOCATION: {
        "description": "Where the created resource is read.",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored response of an earlier request with the "
        "same `Idempotency-Key` (nothing was done again).",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 0},
    },
    MERGED_INTO: {
        "description": "Sent when the id in the path is a merged client: the survivor's id, whose "
        "record is the answer.",
        "schema": {"type": "string", "format": "uuid"},
    },
    CONTENT_LOCATION: {
        "description": "With `X-Merged-Into`: the survivor's own path.",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    CONTENT_DISPOSITION: {
        "description": "`attachment` with a sanitised `filename` and an RFC 6266 `filename*`.",
        "schema": {"type": "string"},
    },
    "WWW-Authenticate": {
        "description": "`Bearer`.",
        "schema": {"type": "string"},
    },
}


def _header_ref(name: str) -> dict[str, str]:
    return {"$ref": f"{REF}headers/{name}"}


# status -> (component name, description, schema name, extra headers)
PROBLEM_RESPONSES: dict[int, tuple[str, str, str, tuple[str, ...]]] = {
    400: ("BadRequest", "Malformed request: invalid JSON or multipart body.", "Problem", ()),
    401: (
        "Unauthorized",
        "Missing, invalid or expired credentials (for login: wrong email or password, or a "
        "locked account).",
        "Problem",
        ("WWW-Authenticate",),
    ),
    403: (
        "Forbidden",
        "Not permitted for the role or organization you act for (`forbidden`, "
        "`victim-service-provider`, `enrollment-not-writable`, `household-not-writable`, "
        "`access-point-not-approved`).",
        "Problem",
        (),
    ),
    404: ("NotFound", "Not found, or not visible to you.", "Problem", ()),
    409: (
        "Conflict",
        "Conflicts with the current state: `conflict` (with `constraint`, `enrollment_id` for an "
        "open Coordinated Entry enrollment, ...), `transition-not-allowed` (`current`, "
        "`allowed`), `possibly-enrolled-elsewhere` (`reference`), or a request with the same "
        "`Idempotency-Key` still in progress (`Retry-After`).",
        "Problem",
        ("Retry-After",),
    ),
    412: (
        "PreconditionFailed",
        "`If-Match` does not name the current version: reload, then apply the change again "
        "(`current_etag`).",
        "PreconditionFailedProblem",
        (),
    ),
    413: ("PayloadTooLarge", "The request body is over the limit.", "Problem", ()),
    415: (
        "UnsupportedMediaType",
        "Not `multipart/form-data`, a file part sent as text, or a file whose bytes are not an "
        "accepted type.",
        "Problem",
        (),
    ),
    422: (
        "ValidationFailed",
        "Invalid or missing fields; `errors` says where and why (submitted values are never "
        "echoed).",
        "ValidationProblem",
        (),
    ),
    428: (
        "PreconditionRequired",
        "`If-Match` is required on this record (several people edit it): send the ETag of your "
        "last read (`current_etag`).",
        "PreconditionFailedProblem",
        (),
    ),
    429: (
        "TooManyRequests",
        "Too many requests; wait `Retry-After` seconds.",
        "Problem",
        ("Retry-After",),
    ),
    503: (
        "ServiceUnavailable",
        "The database or file store is unavailable; nothing was written. Retry after "
        "`Retry-After` seconds.",
        "Problem",
        ("Retry-After",),
    ),
}


def problem_types() -> dict[str, str]:
    """Every ``type`` a problem response may carry (slug -> title): the ``DomainError``
    subclasses of the app (wherever in ``app`` they are defined: the routers have imported them
    all by now), the HTTP-level ones."""
    found: dict[str, str] = {}

    def walk(cls: type[DomainError]) -> None:
        if cls.__module__.split(".")[0] == "app":  # not a test's own subclass
            found.setdefault(cls.slug, cls.title)
        for sub in cls.__subclasses__():
            walk(sub)

    walk(DomainError)
    for slug, title in STATUS_SLUGS.values():
        found.setdefault(slug, title)
    found.setdefault("malformed-json", "Malformed JSON")
    found.setdefault("internal-error", "Internal server error")
    found.setdefault("error", "Error")  # an HTTP status without a slug of its own
    return dict(sorted(found.items()))


# Members a problem may carry besides the RFC 9457 ones, and when.
PROBLEM_EXTRAS: dict[str, dict[str, Any]] = {
    "current_etag": {
        "type": "string",
        "description": "412 `precondition-failed` and 428 `precondition-required`: the "
        "resource's current ETag.",
    },
    "current": {
        "type": ["string", "null"],
        "description": "409 `transition-not-allowed`: the status now.",
    },
    "allowed": {
        "type": "array",
        "items": {"type": "string"},
        "description": "409 `transition-not-allowed`: where the status may move from `current`.",
    },
    "enrollment_id": {
        "type": "string",
        "format": "uuid",
        "description": "409 `conflict` on an intake or enrollment: the client's open Coordinated "
        "Entry enrollment (record an update assessment on it instead).",
    },
    "constraint": {
        "type": "string",
        "description": "409 `conflict`: the database rule the change would break.",
    },
    "survivor_enrollment_id": {
        "type": "string",
        "format": "uuid",
        "description": "409 on a merge: the survivor's open Coordinated Entry enrollment.",
    },
    "duplicate_enrollment_id": {
        "type": "string",
        "format": "uuid",
        "description": "409 on a merge: the duplicate's open Coordinated Entry enrollment.",
    },
    "assessment_id": {
        "type": "string",
        "format": "uuid",
        "description": "409 on an update assessment: the assessment already recording it.",
    },
    "queue_entry_id": {
        "type": "string",
        "format": "uuid",
        "description": "409 when placing a household, or undoing a void, while the household has "
        "an open queue entry: that entry.",
    },
    "record_id": {
        "type": "string",
        "format": "uuid",
        "description": "409 on an income and benefits or domestic violence record: the "
        "enrollment's record of that stage (entry or exit) already there.",
    },
    "reference": {
        "type": "string",
        "examples": ["D-7KQ2M9XA"],
        "description": "409 `possibly-enrolled-elsewhere` on an intake: the reference to quote "
        "to the CAS team (nothing else about the other client is said).",
    },
}


def _problem_components() -> dict[str, Any]:
    types = problem_types()
    slugs = list(types)
    problem: dict[str, Any] = {
        "type": "object",
        "title": "Problem",
        "description": "RFC 9457 problem details (`application/problem+json`). Besides the "
        "standard members, a problem may carry the extension members listed here; more may be "
        "added (ignore the ones you don't know).",
        "properties": {
            "type": {"$ref": f"{REF}schemas/ProblemType"},
            "title": {"type": "string", "examples": ["Not found"]},
            "status": {"type": "integer", "examples": [404]},
            "detail": {"type": "string", "examples": ["No such client."]},
            "instance": {
                "type": "string",
                "description": "The path of the request.",
                "examples": ["/api/v1/clients/7f1e4a52-0c5e-4a8e-9d6c-3f2b1a0e9c11"],
            },
            "errors": {
                "type": "array",
                "items": {"$ref": f"{REF}schemas/ProblemError"},
                "description": "422 `validation-error` (and some 403/409): what is wrong, where.",
            },
            **PROBLEM_EXTRAS,
        },
        "required": ["type", "title", "status", "detail", "instance"],
        "additionalProperties": True,
    }
    precondition = copy.deepcopy(problem)
    precondition["title"] = "PreconditionFailedProblem"
    precondition["description"] = "412 / 428: the problem names the current ETag."
    precondition["required"] = [*problem["required"], "current_etag"]
    validation = copy.deepcopy(problem)
    validation["title"] = "ValidationProblem"
    validation["description"] = "422: `errors` lists each invalid field."
    validation["required"] = [*problem["required"], "errors"]
    return {
        "ProblemType": {
            "type": "string",
            "title": "ProblemType",
            "description": "The kinds of problem, as `type` URIs relative to the API.",
            "enum": [PROBLEM_BASE + s for s in slugs],
            "x-enum-varnames": [s.upper().replace("-", "_") for s in slugs],
            "x-enum-descriptions": list(types.values()),
        },
        "ProblemError": {
            "type": "object",
            "title": "ProblemError",
            "properties": {
                "loc": {
                    "type": "array",
                    "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    "description": 'Where: `["body", "client", "dob"]`, `["query", "limit"]`.',
                },
                "msg": {"type": "string"},
                "type": {"type": "string", "examples": ["value_error"]},
            },
            "required": ["loc", "msg", "type"],
        },
        "Problem": problem,
        "PreconditionFailedProblem": precondition,
        "ValidationProblem": validation,
    }


def _problem_response_components() -> dict[str, Any]:
    responses: dict[str, Any] = {}
    titles = problem_types()
    for status, (name, description, schema, headers) in PROBLEM_RESPONSES.items():
        slug = {
            412: "precondition-failed",
            428: "precondition-required",
            503: "database-unavailable",
        }.get(status) or STATUS_SLUGS[status][0]
        example = {
            "type": PROBLEM_BASE + slug,
            "title": titles[slug],
            "status": status,
            "detail": description,
            "instance": "/api/v1/clients",
        }
        if schema == "PreconditionFailedProblem":
            example["current_etag"] = '"4"'
        if schema == "ValidationProblem":
            example["errors"] = [
                {
                    "loc": ["body", "dob"],
                    "msg": "must be on or after 1900-01-01",
                    "type": "value_error",
                }
            ]
        responses[name] = {
            "description": description,
            "headers": {h: _header_ref(h) for h in ("X-Request-ID", *headers)},
            "content": {
                PROBLEM_CONTENT_TYPE: {
                    "schema": {"$ref": f"{REF}schemas/{schema}"},
                    "example": example,
                }
            },
        }
    return responses


# --- the routes' facts ---------------------------------------------------------------------------


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        yield from _calls(sub)
        if sub.call is not None:
            yield sub.call


class RouteFacts:
    """What the OpenAPI document says about a route, read from its dependencies and extras."""

    def __init__(self, route: APIRoute) -> None:
        calls = list(_calls(route.dependant))
        self.permissions: set[Permission] = set()
        for call in calls:
            self.permissions |= set(getattr(call, "required_permissions", ()))
        self.refuses_vsp = identifiable_client_access in calls
        self.if_match_required = if_match_required_header in calls
        self.if_match = self.if_match_required or if_match_header in calls
        self.rate_limited = auth_rate_limit in calls or export_rate_limit in calls
        extra = route.openapi_extra or {}
        self.idempotent = bool(extra.get(IDEMPOTENT_EXTRA))
        self.visibility: str | None = extra.get(VISIBILITY_EXTRA)
        self.permission_text: str | None = extra.get(PERMISSION_EXTRA)
        self.headers: list[str] = list(extra.get(HEADERS_EXTRA, ()))
        self.path_params = bool(route.dependant.path_params) or "{" in route.path
        self.api = route.path.startswith("/api/")
        self.explicit = {
            int(code)
            for code, value in (route.responses or {}).items()
            if str(code).isdigit() and int(code) >= 400 and _is_problem(value)
        }


def _is_problem(response: dict[str, Any]) -> bool:
    return PROBLEM_CONTENT_TYPE in (response.get("content") or {})


def _roles_holding(permissions: set[Permission]) -> list[str]:
    return [role.value for role in Role if permissions <= ROLE_PERMISSIONS[role]]


def _permission_text(facts: RouteFacts, authenticated: bool) -> str:
    if facts.permission_text:
        text = facts.permission_text
    elif facts.permissions:
        names = ", ".join(f"`{p.value}`" for p in sorted(facts.permissions))
        roles = ", ".join(_roles_holding(facts.permissions))
        text = f"{names} (held by {roles})."
    elif authenticated:
        text = "Any authenticated user (every role)."
    else:
        text = "None: a public operation (no token)."
    if facts.refuses_vsp:
        text += (
            " Users acting for a victim service provider are refused "
            "(403 `victim-service-provider`)."
        )
    return text


def _description(op: dict[str, Any], facts: RouteFacts, authenticated: bool) -> str:
    parts = [inspect.cleandoc(op.get("description") or "")]
    parts.append("**Permission:** " + _permission_text(facts, authenticated))
    if facts.visibility:
        parts.append("**Visibility:** " + facts.visibility)
    if facts.if_match_required:
        parts.append(
            "**Concurrency:** `If-Match` is required (several people edit this record): send "
            'the `ETag` of your last read, the `version` in quotes (`"3"`); 412 when someone '
            "changed it meanwhile, 428 without the header."
        )
    elif facts.if_match:
        parts.append(
            "**Concurrency:** `If-Match` is optional: with the `ETag` of your last read (the "
            "`version` in quotes), a stale version is refused with 412."
        )
    if facts.idempotent:
        parts.append(
            "**Idempotency:** send `Idempotency-Key` to make a retry safe: the same key and body "
            "replay the first response (`Idempotent-Replayed: true`)."
        )
    return "\n\n".join(p for p in parts if p)


def _error_statuses(facts: RouteFacts, op: dict[str, Any], authenticated: bool) -> set[int]:
    statuses = set(facts.explicit)
    body = op.get("requestBody")
    if facts.api:
        statuses |= {422, 503}
    if authenticated:
        statuses.add(401)
    if facts.permissions or facts.refuses_vsp:
        statuses.add(403)
    if facts.path_params:
        statuses.add(404)
    if body is not None:
        statuses |= {400, 413}
        if "multipart/form-data" in body.get("content", {}):
            statuses.add(415)
    if facts.if_match:
        statuses.add(412)
    if facts.if_match_required:
        statuses.add(428)
    if facts.idempotent:
        statuses.add(409)
    if facts.rate_limited:
        statuses.add(429)
    return statuses


# --- examples --------------------------------------------------------------------------------

_DEMO_UUID_NAMESPACE = uuid.UUID("6c0f3f7e-5f53-4a0e-8f3c-2a9b5c7d1e00")
_STRING_EXAMPLES = {
    "first_name": "Jordan",
    "last_name": "Rivera",
    "middle_name": "Lee",
    "full_name": "Morgan Case",
    "name": "Bridge Access Point",
    "organization_name": "Bridge Access Point",
    "email": "case_manager@demo.example",
    "phone": "214-555-0101",
    "city": "Dallas",
    "state": "TX",
    "postal_code": "75201",
    "address_line1": "1201 Elm St",
    "ssn": "***-**-7812",
    "code": "XX-501",
    "enrollment_coc": "XX-501",
    "time_zone": "America/Chicago",
    "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIuLi4ifQ.sig",
    "refresh_token": "Xb3k9...",
    "next_cursor": None,
    "content_type": "application/pdf",
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "action": "client.updated",
    "entity_type": "client",
    "detail": "If an account exists for this email, reset instructions were sent.",
    "label": "Third-party verification letter",
}


def _example(schema: Any, components: dict[str, Any], name: str = "", depth: int = 0) -> Any:
    """A plausible value for ``schema``: its own example, else one made from its type."""
    if not isinstance(schema, dict) or depth > 12:
        return None
    if "$ref" in schema:
        target = components[schema["$ref"].rsplit("/", 1)[-1]]
        return _example(target, components, name, depth + 1)
    for key in ("examples", "example"):
        if key in schema:
            value = schema[key]
            return copy.deepcopy(
                value[0] if key == "examples" and isinstance(value, list) else value
            )
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            return _example(options[0], components, name, depth + 1) if options else None
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = _example(part, components, name, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in schema:
        return {
            prop: _example(sub, components, prop, depth + 1)
            for prop, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        item = _example(schema.get("items", {}), components, name, depth + 1)
        return [] if item is None else [item]
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "uuid":
            return str(uuid.uuid5(_DEMO_UUID_NAMESPACE, name or "id"))
        if fmt == "date":
            return "2026-11-02"
        if fmt == "date-time":
            return "2026-11-02T15:04:05Z"
        if fmt == "email":
            return "case_manager@demo.example"
        if fmt == "binary":
            return None
        if name in _STRING_EXAMPLES:
            return _STRING_EXAMPLES[name]
        if "default" in schema:
            return schema["default"]
        return name.replace("_", " ").capitalize() if name else "text"
    if kind == "integer":
        if name == "version":
            return 3
        return schema.get("default", schema.get("minimum", 1))
    if kind == "number":
        return schema.get("default", schema.get("minimum", 1.0))
    if kind == "boolean":
        return schema.get("default", False)
    return None


def _media_has_example(media: dict[str, Any]) -> bool:
    return "example" in media or "examples" in media


def _schema_name(media: dict[str, Any]) -> str | None:
    ref = (media.get("schema") or {}).get("$ref", "")
    return ref.rsplit("/", 1)[-1] or None


# --- the document --------------------------------------------------------------------------------


def _package_version() -> str:
    try:
        return importlib.metadata.version("cas-api")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "0.0.0"


def api_routes(routes: Iterable[Any]) -> list[APIRoute]:
    """The app's operations, looking inside included routers."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += api_routes(route.original_router.routes)
        elif hasattr(route, "routes"):
            found += api_routes(route.routes)
    return found


def _routes(app: FastAPI) -> dict[str, APIRoute]:
    return {route.name: route for route in api_routes(app.routes) if route.include_in_schema}


def build_openapi(app: FastAPI, settings: Settings) -> dict[str, Any]:
    # A copy: FastAPI's document shares objects with the routes' openapi_extra and responses,
    # which the steps below must not change (another app built later would see the changes).
    schema = copy.deepcopy(
        get_openapi(
            title=app.title,
            version=_package_version(),
            description=API_DESCRIPTION,
            routes=app.routes,
            tags=[{"name": name, "description": text} for name, text in TAGS.items()],
            servers=[
                {
                    "url": "{base_url}",
                    "description": "This deployment.",
                    "variables": {
                        "base_url": {
                            "default": str(settings.public_base_url).rstrip("/"),
                            "description": "Where it is served (`CAS_PUBLIC_BASE_URL`).",
                        }
                    },
                }
            ],
            contact={"name": "The HMIS Lead Agency operating this deployment"},
            license_info={"name": "Apache-2.0", "identifier": "Apache-2.0"},
        )
    )
    schema["x-tagGroups"] = [{"name": name, "tags": tags} for name, tags in TAG_GROUPS.items()]
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(_problem_components())
    components["headers"] = HEADERS
    components["responses"] = _problem_response_components()
    schema["security"] = [{SECURITY_SCHEME: []}]
    routes = _routes(app)

    for path_item in schema["paths"].values():
        for op in path_item.values():
            route = routes[op["operationId"]]
            facts = RouteFacts(route)
            schemas.update(op.pop(COMPONENTS_EXTRA, {}))
            for key in (VISIBILITY_EXTRA, PERMISSION_EXTRA, HEADERS_EXTRA, IDEMPOTENT_EXTRA):
                op.pop(key, None)
            authenticated = "security" in op
            if not authenticated:
                op["security"] = []
            else:
                del op["security"]  # the document's default
            op["description"] = _description(op, facts, authenticated)
            _declare_responses(op, facts, authenticated)
            _declare_parameters(op, facts)
            _request_example(op, schemas)
    _response_examples(schema, schemas)
    return schema


def _declare_parameters(op: dict[str, Any], facts: RouteFacts) -> None:
    for param in op.get("parameters", []):
        if param.get("in") == "header" and param["name"] == "If-Match":
            param["required"] = facts.if_match_required
            param["schema"] = {"type": "string", "examples": ['"3"']}
        if param.get("in") == "header" and param["name"] == "Idempotency-Key":
            param["schema"] = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH}
            param.setdefault("example", "9b2f6c1e-4d3a-4f7e-8a5b-2c1d0e9f8a7b")


def _declare_responses(op: dict[str, Any], facts: RouteFacts, authenticated: bool) -> None:
    responses: dict[str, Any] = op["responses"]
    for code in list(responses):
        if (code.isdigit() and int(code) >= 400 and _is_problem(responses[code])) or code == "422":
            del responses[code]
    for status in sorted(_error_statuses(facts, op, authenticated)):
        responses[str(status)] = {"$ref": f"{REF}responses/{PROBLEM_RESPONSES[status][0]}"}
    for code, response in responses.items():
        if "$ref" in response:
            continue
        headers = response.setdefault("headers", {})
        headers["X-Request-ID"] = _header_ref("X-Request-ID")
        if code.startswith("2"):
            for name in facts.headers:
                headers[name] = _header_ref(name)
            if facts.idempotent:
                headers["Idempotent-Replayed"] = _header_ref("Idempotent-Replayed")
        elif code in ("429", "503"):
            headers["Retry-After"] = _header_ref("Retry-After")
    op["responses"] = dict(sorted(responses.items()))


def _request_example(op: dict[str, Any], schemas: dict[str, Any]) -> None:
    body = op.get("requestBody")
    if not body:
        return
    for media in body.get("content", {}).values():
        if _media_has_example(media):
            continue
        name = _schema_name(media)
        if name in REQUEST_EXAMPLES.get(op["operationId"], {}):
            media["example"] = REQUEST_EXAMPLES[op["operationId"]][name]
        elif name in REQUEST_EXAMPLES.get("*", {}):
            media["example"] = copy.deepcopy(REQUEST_EXAMPLES["*"][name])


def _response_examples(schema: dict[str, Any], schemas: dict[str, Any]) -> None:
    for path_item in schema["paths"].values():
        for op in path_item.values():
            for response in op["responses"].values():
                for media_type, media in response.get("content", {}).items():
                    if _media_has_example(media) or not media_type.endswith("json"):
                        continue
                    name = _schema_name(media)
                    if name in RESPONSE_EXAMPLES:
                        media["example"] = copy.deepcopy(RESPONSE_EXAMPLES[name])
                    elif media.get("schema"):
                        media["example"] = _example(media["schema"], schemas)
