"""FastAPI dependencies: the session, the authenticated actor, named permission checks."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.context import Actor, RequestMeta
from app.errors import Forbidden, Unauthorized, VSPForbidden
from app.http.etag import RequiredIfMatch
from app.http.ratelimit import export_hit
from app.http.uow import get_session
from app.permissions import Permission
from app.security import decode_access_token
from app.services.identity import auth as auth_service
from app.services.platform.crypto import FieldCipher
from app.storage import FileStore, file_store_from_settings

Session = Annotated[AsyncSession, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="Access token from /api/v1/auth/login")


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def request_meta(request: Request) -> RequestMeta:
    return RequestMeta(
        request_id=getattr(request.state, "request_id", None), ip_address=client_ip(request)
    )


Meta = Annotated[RequestMeta, Depends(request_meta)]


async def current_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """Verify the token, then re-check the user, session and membership on every request."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("A bearer access token is required.")
    # The settings and the request's session are taken directly, not as dependencies of their
    # own: every authenticated request would pay for resolving them (the session is the same
    # one the route's ``Session`` dependency gets).
    settings: Settings = request.app.state.settings
    claims = decode_access_token(settings, credentials.credentials)
    actor = await auth_service.load_actor(
        await get_session(request),
        claims,
        request_id=getattr(request.state, "request_id", None),
        ip_address=client_ip(request),
    )
    request.state.actor = actor
    request.state.token_expires_at = claims.expires_at
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def require(*permissions: Permission) -> Callable[..., Coroutine[Any, Any, Actor]]:
    """A named dependency: the acting role must hold every listed permission (else 403)."""

    async def dependency(actor: CurrentActor) -> Actor:
        _check_permissions(actor, permissions)
        return actor

    dependency.__name__ = "require_" + "_".join(p.name.lower() for p in permissions)
    dependency.required_permissions = frozenset(permissions)  # type: ignore[attr-defined]
    return dependency


def _check_permissions(actor: Actor, permissions: tuple[Permission, ...]) -> None:
    missing = [p for p in permissions if not actor.can(p)]
    if missing:
        raise Forbidden(
            f"Your role ({actor.role.value}) in the acting organization does not allow this "
            f"(needs {', '.join(p.value for p in missing)})."
        )


async def identifiable_client_access(actor: CurrentActor) -> Actor:
    """Victim service providers may not hold identifiable client data in HMIS (federal law)."""
    if actor.organization.victim_service_provider:
        raise VSPForbidden(
            "Victim service provider organizations may not access identifiable client data. "
            "Use a HUD-approved comparable database."
        )
    return actor


IdentifiableClientActor = Annotated[Actor, Depends(identifiable_client_access)]


async def if_match_header(
    if_match: Annotated[
        str | None,
        Header(alias="If-Match", description="ETag from a previous read; 412 when stale."),
    ] = None,
) -> str | None:
    return if_match


IfMatch = Annotated[str | None, Depends(if_match_header)]


async def if_match_required_header(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='Required: the ETag from your last read (the version in quotes, `"3"`); '
            "412 when stale, 428 when missing.",
        ),
    ] = None,
) -> RequiredIfMatch:
    return RequiredIfMatch(if_match or "")


# For records several people edit (clients, enrollments, households, ...): ``check_if_match``
# answers 428 when the header is missing; the OpenAPI document marks it required.
IfMatchRequired = Annotated[RequiredIfMatch, Depends(if_match_required_header)]


def require_for_clients(*permissions: Permission) -> Callable[..., Coroutine[Any, Any, Actor]]:
    """For identifiable-client endpoints: victim service providers are refused first (403
    ``victim-service-provider``), then the role must hold every listed permission (403)."""

    async def dependency(actor: IdentifiableClientActor) -> Actor:
        _check_permissions(actor, permissions)
        return actor

    dependency.__name__ = "require_client_" + "_".join(p.name.lower() for p in permissions)
    dependency.required_permissions = frozenset(permissions)  # type: ignore[attr-defined]
    return dependency


async def field_cipher(request: Request) -> FieldCipher:
    """The app's field cipher (built from the settings by ``create_app``)."""
    cipher: FieldCipher = request.app.state.cipher
    return cipher


Cipher = Annotated[FieldCipher, Depends(field_cipher)]


async def get_file_store(request: Request) -> FileStore:
    """The app's file store (made from the settings on first use; tests set their own)."""
    store: FileStore | None = getattr(request.app.state, "file_store", None)
    if store is None:
        store = file_store_from_settings(request.app.state.settings)
        request.app.state.file_store = store
    return store


Store = Annotated[FileStore, Depends(get_file_store)]


async def export_rate_limit(request: Request, actor: CurrentActor) -> None:
    """Exports per user, shared by every instance (``app.http.ratelimit``): 429 beyond."""
    await export_hit(request, actor)


ExportRateLimited = Depends(export_rate_limit)
