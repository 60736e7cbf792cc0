"""Login, token rotation, organization switching, invitations and password resets."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.context import ActingOrganization, Actor, RequestMeta
from app.errors import Forbidden, Unauthorized, ValidationFailed
from app.models import (
    AuthSession,
    Coc,
    EmailMessage,
    Membership,
    OneTimeToken,
    Organization,
    RefreshToken,
    User,
)
from app.models.scoping import ALL_COCS, scope_to_coc
from app.permissions import Role, permissions_for
from app.security import (
    AccessClaims,
    check_password_rules,
    create_access_token,
    hash_password,
    hash_token,
    new_opaque_token,
    password_matches,
    successor_refresh_token,
    utcnow,
)
from app.services.platform import audit, email

INVALID_CREDENTIALS = "Invalid email or password."


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    organization_id: uuid.UUID


# Every request runs this, so it is built once and reads plain columns (no ORM objects: loading
# a ``User`` would also load all of their memberships).
def acting_organization(org: Organization) -> ActingOrganization:
    """The acting organization of an ``Organization`` row (its CoC loaded): for callers that build
    an actor without a request (the demo seed)."""
    return ActingOrganization(
        id=org.id,
        coc_id=org.coc_id,
        name=org.name,
        kind=org.kind,
        victim_service_provider=org.victim_service_provider,
        access_point=org.access_point,
        housing_provider=org.housing_provider,
        veteran_services=org.veteran_services,
        time_zone=org.coc.time_zone,
    )


_ACTOR_STMT = (
    select(
        User.email,
        User.full_name,
        User.is_active,
        AuthSession.revoked_at,
        AuthSession.expires_at,
        AuthSession.organization_id.label("session_organization_id"),
        Membership.role,
        Organization.is_active.label("organization_is_active"),
        Organization.coc_id,
        Organization.name,
        Organization.kind,
        Organization.victim_service_provider,
        Organization.access_point,
        Organization.housing_provider,
        Organization.veteran_services,
        Coc.time_zone,
    )
    .join(Membership, Membership.user_id == User.id)
    .join(AuthSession, AuthSession.user_id == User.id)
    .join(Organization, Organization.id == Membership.organization_id)
    .join(Coc, Coc.id == Organization.coc_id)
    .where(
        User.id == bindparam("user_id"),
        Membership.organization_id == bindparam("organization_id"),
        AuthSession.id == bindparam("session_id"),
    )
)
# With the token's CoC: every distributed table the query reads names it.
_ACTOR_IN_COC_STMT = _ACTOR_STMT.where(
    AuthSession.coc_id == bindparam("coc_id"),
    Membership.coc_id == bindparam("coc_id"),
    Organization.coc_id == bindparam("coc_id"),
)


async def load_actor(
    session: AsyncSession,
    claims: AccessClaims,
    *,
    request_id: str | None = None,
    ip_address: str | None = None,
) -> Actor:
    """One query: the user, their live session and their current membership in the token's org.
    The session's ORM reads are confined to that organization's CoC from then on."""
    params = {
        "user_id": claims.user_id,
        "organization_id": claims.organization_id,
        "session_id": claims.session_id,
    }
    statement = _ACTOR_STMT
    if claims.coc_id is not None:
        params["coc_id"] = claims.coc_id
        statement = _ACTOR_IN_COC_STMT
    # On the session's connection (its transaction), below the ORM: the row is plain columns,
    # nothing is pending to flush at the start of a request, and the CoC scope is not set yet;
    # the ORM's execution path would add only its own cost to every request.
    connection = await session.connection()
    row = (await connection.execute(statement, params)).first()
    if row is None:
        raise Unauthorized("Your session or your access to this organization is no longer valid.")
    now = utcnow()
    if not row.is_active:
        raise Unauthorized("This account is deactivated.")
    if row.revoked_at is not None or row.expires_at <= now:
        raise Unauthorized("This session has ended; log in again.")
    if row.session_organization_id != claims.organization_id:
        raise Unauthorized("This session acts for another organization.")
    if not row.organization_is_active:
        raise Unauthorized("The acting organization is deactivated.")
    role = Role(row.role)
    # From here on the session reads only the acting organization's CoC (app.models.scoping).
    scope_to_coc(session, row.coc_id)
    return Actor(
        user_id=claims.user_id,
        email=row.email,
        full_name=row.full_name,
        organization=ActingOrganization(
            id=claims.organization_id,
            coc_id=row.coc_id,
            name=row.name,
            kind=row.kind,
            victim_service_provider=row.victim_service_provider,
            access_point=row.access_point,
            housing_provider=row.housing_provider,
            veteran_services=row.veteran_services,
            time_zone=row.time_zone,
        ),
        role=role,
        permissions=permissions_for(role),
        session_id=claims.session_id,
        request_id=request_id,
        ip_address=ip_address,
    )


async def actor_still_valid(session: AsyncSession, actor: Actor) -> bool:
    """Whether ``actor``'s session, account and membership still stand (a long-lived stream
    checks again from time to time)."""
    params = {
        "user_id": actor.user_id,
        "organization_id": actor.organization_id,
        "session_id": actor.session_id,
    }
    row = (await session.execute(_ACTOR_STMT, params)).first()
    return bool(
        row is not None
        and row.is_active
        and row.revoked_at is None
        and row.expires_at > utcnow()
        and row.session_organization_id == actor.organization_id
        and row.organization_is_active
    )


# A background job or the CLI acts without a login session: its actor's session id.
NO_SESSION = uuid.UUID(int=0)

_MEMBERSHIP_STMT = (
    select(
        User.id.label("user_id"),
        User.email,
        User.full_name,
        User.is_active,
        Membership.role,
        Membership.organization_id,
        Organization.is_active.label("organization_is_active"),
        Organization.coc_id,
        Organization.name,
        Organization.kind,
        Organization.victim_service_provider,
        Organization.access_point,
        Organization.housing_provider,
        Organization.veteran_services,
        Coc.time_zone,
    )
    .join(Membership, Membership.user_id == User.id)
    .join(Organization, Organization.id == Membership.organization_id)
    .join(Coc, Coc.id == Organization.coc_id)
)


def _membership_actor(row: Any, request_id: str | None) -> Actor:
    role = Role(row.role)
    return Actor(
        user_id=row.user_id,
        email=row.email,
        full_name=row.full_name,
        organization=ActingOrganization(
            id=row.organization_id,
            coc_id=row.coc_id,
            name=row.name,
            kind=row.kind,
            victim_service_provider=row.victim_service_provider,
            access_point=row.access_point,
            housing_provider=row.housing_provider,
            veteran_services=row.veteran_services,
            time_zone=row.time_zone,
        ),
        role=role,
        permissions=permissions_for(role),
        session_id=NO_SESSION,
        request_id=request_id,
    )


async def membership_actor(
    session: AsyncSession,
    user_id: uuid.UUID,
    organization_id: uuid.UUID,
    *,
    request_id: str | None = None,
) -> Actor:
    """The actor a background job runs as: the user's current membership in the organization,
    checked again when the job runs (403 when the account, the membership or the organization
    is gone or deactivated)."""
    row = (
        await session.execute(
            _MEMBERSHIP_STMT.where(
                User.id == user_id, Membership.organization_id == organization_id
            )
        )
    ).first()
    if row is None or not row.is_active or not row.organization_is_active:
        raise Forbidden("The user no longer acts for this organization.")
    return _membership_actor(row, request_id)


async def memberships_by_email(
    session: AsyncSession, email_address: str, coc_code: str
) -> list[Actor]:
    """The actors an account may be in a CoC (the CLI's ``--user``), active memberships only."""
    rows = (
        await session.execute(
            _MEMBERSHIP_STMT.where(
                User.email == email_address.lower(),
                Coc.code == coc_code,
                User.is_active.is_(True),
                Organization.is_active.is_(True),
            ).order_by(Membership.created_at)
        )
    ).all()
    return [_membership_actor(row, None) for row in rows]


def _pair(
    settings: Settings, auth_session: AuthSession, token: RefreshToken, refresh: str
) -> TokenPair:
    """The pair of a refresh token row: its access token is signed from the row's id and time,
    so asking again gives the very same pair."""
    access = create_access_token(
        settings,
        user_id=auth_session.user_id,
        organization_id=auth_session.organization_id,
        session_id=auth_session.id,
        issued_at=token.created_at,
        jti=token.id.hex,
        coc_id=auth_session.coc_id,
    )
    return TokenPair(
        access, refresh, settings.access_token_ttl_seconds, auth_session.organization_id
    )


async def _issue(
    session: AsyncSession,
    settings: Settings,
    user: User,
    membership: Membership,
    auth_session: AuthSession | None = None,
    *,
    rotated: str | None = None,
) -> TokenPair:
    """A new pair: for a new session acting for ``membership``'s organization, or the
    successor of the ``rotated`` refresh token."""
    now = utcnow()
    organization_id = membership.organization_id
    if auth_session is None:
        auth_session = AuthSession(
            id=uuid.uuid4(),
            coc_id=membership.coc_id,
            user_id=user.id,
            organization_id=organization_id,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.refresh_absolute_ttl_seconds),
        )
        session.add(auth_session)
    refresh = successor_refresh_token(settings, rotated) if rotated else new_opaque_token()
    token = RefreshToken(
        id=uuid.uuid4(),
        coc_id=auth_session.coc_id,
        session_id=auth_session.id,
        token_hash=hash_token(refresh),
        created_at=now,
        idle_expires_at=min(
            now + timedelta(seconds=settings.refresh_idle_ttl_seconds),
            auth_session.expires_at,
        ),
    )
    session.add(token)
    await session.flush()
    return _pair(settings, auth_session, token, refresh)


def _coc_of(user: User) -> uuid.UUID | None:
    """The CoC an account-level event (failed login, reset) is filed under, so the CoC's
    system admins see it in their audit trail."""
    active = [m for m in user.memberships if m.organization.is_active] or list(user.memberships)
    return active[0].organization.coc_id if active else None


def _membership_for(user: User, organization_id: uuid.UUID | None) -> Membership | None:
    active = [m for m in user.memberships if m.organization.is_active]
    if organization_id is None:
        return active[0] if active else None
    return next((m for m in active if m.organization_id == organization_id), None)


async def login(
    session: AsyncSession,
    settings: Settings,
    *,
    email_address: str,
    password: str,
    organization_id: uuid.UUID | None,
    meta: RequestMeta,
) -> TokenPair:
    # The row is locked for the attempt: concurrent guesses are counted one after another, so
    # parallel requests cannot slip past the lockout (nor lose each other's counts).
    user = await session.scalar(
        select(User).where(User.email == email_address.lower()).with_for_update()
    )
    now = utcnow()
    if user is None:
        await password_matches(password, None)  # same work as a real check: no timing oracle
        raise Unauthorized(INVALID_CREDENTIALS)
    if user.locked_until is not None and user.locked_until > now:
        # Same answer (and the same work) as a wrong password: the lock tells nothing.
        await password_matches(password, None)
        audit.record(
            session,
            meta,
            "auth.login_refused_locked",
            "user",
            user.id,
            actor_user_id=user.id,
            coc_id=_coc_of(user),
        )
        raise Unauthorized(INVALID_CREDENTIALS, commit=True)
    if not await password_matches(password, user.password_hash) or not user.is_active:
        user.failed_login_count += 1
        changes: dict[str, object] = {"failed_login_count": user.failed_login_count}
        if user.failed_login_count >= settings.lockout_threshold:
            user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
            user.failed_login_count = 0
            changes["locked_until"] = user.locked_until
        audit.record(
            session,
            meta,
            "auth.login_failed",
            "user",
            user.id,
            changes,
            actor_user_id=user.id,
            coc_id=_coc_of(user),
        )
        raise Unauthorized(INVALID_CREDENTIALS, commit=True)
    membership = _membership_for(user, organization_id)
    if membership is None:
        raise Forbidden(
            "You are not a member of that organization."
            if organization_id
            else "Your account has no active organization membership."
        )
    user.failed_login_count = 0
    user.locked_until = None
    user.last_login_at = now
    pair = await _issue(session, settings, user, membership)
    audit.record(
        session,
        meta,
        "auth.login",
        "user",
        user.id,
        {"organization_id": str(membership.organization_id)},
        actor_user_id=user.id,
        coc_id=membership.organization.coc_id,
    )
    return pair


async def refresh(
    session: AsyncSession, settings: Settings, *, refresh_token: str, meta: RequestMeta
) -> TokenPair:
    now = utcnow()
    # Locked: of two concurrent refreshes with one token, the second waits, then sees the token
    # used and is answered from the grace window (or as reuse) instead of rotating it again.
    token = await session.scalar(
        select(RefreshToken)
        .where(RefreshToken.token_hash == hash_token(refresh_token))
        .with_for_update()
    )
    if token is None:
        raise Unauthorized("The refresh token is invalid.")
    auth_session = await session.get(AuthSession, token.session_id, with_for_update=True)
    assert auth_session is not None
    rotated_into: tuple[RefreshToken, str] | None = None
    if token.used_at is not None:
        rotated_into = await _within_grace(session, settings, token, auth_session, refresh_token)
        if rotated_into is None:
            await _end_reused_session(session, auth_session, meta)
    if auth_session.revoked_at is not None:
        raise Unauthorized("This session has ended; log in again.")
    if token.idle_expires_at <= now or auth_session.expires_at <= now:
        raise Unauthorized("The refresh token has expired; log in again.")
    user = await session.get(User, auth_session.user_id)
    assert user is not None
    membership = _membership_for(user, auth_session.organization_id)
    if not user.is_active or membership is None:
        auth_session.revoked_at = now
        auth_session.revoke_reason = "access_removed"
        raise Unauthorized("Your access to this organization was removed.", commit=True)
    if rotated_into is not None:
        # Another tab refreshed with this token a moment ago: the same new pair for this one.
        return _pair(settings, auth_session, *rotated_into)
    token.used_at = now
    return await _issue(session, settings, user, membership, auth_session, rotated=refresh_token)


async def _within_grace(
    session: AsyncSession,
    settings: Settings,
    token: RefreshToken,
    auth_session: AuthSession,
    presented: str,
) -> tuple[RefreshToken, str] | None:
    """For a spent token presented again within the grace window after its rotation: the token
    it was rotated into, with its value, if that one is still unused. Otherwise None (reuse)."""
    assert token.used_at is not None
    grace = timedelta(seconds=settings.refresh_reuse_grace_seconds)
    if utcnow() - token.used_at > grace:
        return None
    successor = successor_refresh_token(settings, presented)
    following = await session.scalar(
        select(RefreshToken).where(
            RefreshToken.token_hash == hash_token(successor),
            RefreshToken.session_id == auth_session.id,
        )
    )
    if following is None or following.used_at is not None:
        return None
    return following, successor


async def _end_reused_session(
    session: AsyncSession, auth_session: AuthSession, meta: RequestMeta
) -> NoReturn:
    """Reuse of a rotated token: someone else may hold the chain. End the whole session."""
    if auth_session.revoked_at is None:
        auth_session.revoked_at = utcnow()
        auth_session.revoke_reason = "refresh_reuse"
        audit.record(
            session,
            meta,
            "auth.refresh_reuse_detected",
            "auth_session",
            auth_session.id,
            actor_user_id=auth_session.user_id,
            coc_id=await session.scalar(
                select(Organization.coc_id).where(Organization.id == auth_session.organization_id)
            ),
        )
    raise Unauthorized(
        "The refresh token was already used; the session has been revoked.", commit=True
    )


async def logout(session: AsyncSession, actor: Actor) -> None:
    auth_session = await session.get(AuthSession, actor.session_id)
    if auth_session is not None and auth_session.revoked_at is None:
        auth_session.revoked_at = utcnow()
        auth_session.revoke_reason = "logout"
    audit.record(session, actor, "auth.logout", "auth_session", actor.session_id)


async def switch_organization(
    session: AsyncSession, settings: Settings, actor: Actor, organization_id: uuid.UUID
) -> TokenPair:
    # The user's memberships in every CoC: they may switch to another CoC's organization.
    user = await session.get(User, actor.user_id, execution_options=ALL_COCS)
    assert user is not None
    membership = _membership_for(user, organization_id)
    if membership is None:
        raise Forbidden("You are not a member of that organization.")
    old = await session.get(AuthSession, actor.session_id)
    if old is not None and old.revoked_at is None:
        old.revoked_at = utcnow()
        old.revoke_reason = "switched_organization"
    pair = await _issue(session, settings, user, membership)
    audit.record(
        session,
        actor,
        "auth.switch_organization",
        "user",
        user.id,
        {"organization_id": {"old": str(actor.organization_id), "new": str(organization_id)}},
    )
    return pair


async def memberships_of(session: AsyncSession, user_id: uuid.UUID) -> list[Membership]:
    return list(
        (
            await session.scalars(
                select(Membership)
                .where(Membership.user_id == user_id)
                .order_by(Membership.created_at, Membership.id)
                .execution_options(**ALL_COCS)  # the user's memberships in every CoC
            )
        ).all()
    )


async def remove_ended_sessions(session: AsyncSession, now: datetime) -> int:
    """Housekeeping: ended sessions are kept a day for investigations, then removed with their
    tokens."""
    removed = await session.execute(
        delete(AuthSession).where(AuthSession.expires_at < now - timedelta(days=1))
    )
    return int(getattr(removed, "rowcount", 0) or 0)


# --- one-time tokens: invitations and password resets -------------------------------------------


async def issue_one_time_token(
    session: AsyncSession, user: User, purpose: str, ttl: timedelta
) -> str:
    now = utcnow()
    # A new token supersedes older unused ones of the same purpose.
    await session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user.id,
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = new_opaque_token()
    session.add(
        OneTimeToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return token


async def _consume(session: AsyncSession, token: str, purpose: str) -> User:
    row = await session.scalar(
        select(OneTimeToken)
        .where(OneTimeToken.token_hash == hash_token(token), OneTimeToken.purpose == purpose)
        .with_for_update()
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise ValidationFailed("The token is invalid, expired or already used.", field="token")
    row.used_at = utcnow()
    user = await session.get(User, row.user_id)
    assert user is not None
    return user


# A request for a reset email (``email.REQUEST_SUFFIX``): resolved by
# ``process_password_reset_requests`` before delivery.
RESET_REQUEST_TEMPLATE = f"password_reset{email.REQUEST_SUFFIX}"


async def request_password_reset(
    session: AsyncSession, settings: Settings, *, email_address: str, meta: RequestMeta
) -> None:
    """Always succeeds from the caller's view: whether the account exists is not revealed.

    Not even by timing: the request only queues the address in the email outbox, the same single
    write for every address. The delivery worker (``process_password_reset_requests``) looks the
    account up later and turns the row into the reset email, or drops it.
    """
    email.enqueue(
        session,
        to=email_address.lower(),
        subject="Password reset request",
        template=RESET_REQUEST_TEMPLATE,
        body=json.dumps({"request_id": meta.request_id, "ip_address": meta.ip_address}),
    )
    await session.flush()


async def process_password_reset_requests(
    session: AsyncSession, settings: Settings, *, batch: int = 50
) -> int:
    """Resolve queued reset requests (outside any request), a batch at once; how many."""
    rows = (
        await session.scalars(
            select(EmailMessage)
            .where(EmailMessage.template == RESET_REQUEST_TEMPLATE, EmailMessage.sent_at.is_(None))
            .order_by(EmailMessage.created_at, EmailMessage.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for row in rows:
        await resolve_password_reset_request(session, settings, row)
    await session.flush()
    return len(rows)


async def resolve_password_reset_request(
    session: AsyncSession, settings: Settings, row: EmailMessage
) -> bool:
    """One queued reset request (the email delivery job, before sending): for an active
    account, issue the token and make the row its reset email (True); for any other address,
    delete the row (False)."""
    meta = RequestMeta(**json.loads(row.body))
    user = await session.scalar(select(User).where(User.email == row.to_address))
    if user is None or not user.is_active:
        await session.delete(row)
        await session.flush()
        return False
    token = await issue_one_time_token(
        session, user, "password_reset", timedelta(minutes=settings.password_reset_ttl_minutes)
    )
    row.template = "password_reset"
    row.subject = "Reset Password Instructions"
    row.body = (
        f"Hello {user.full_name},\n\nSomeone asked to reset the password of your CAS account. "
        f"Use this single-use code within {settings.password_reset_ttl_minutes} minutes:\n\n"
        f"{token}\n\nor open {settings.public_base_url}/reset-password?token={token}\n\n"
        "If you did not ask for this, ignore this message.\n"
    )
    audit.record(
        session,
        meta,
        "auth.password_reset_requested",
        "user",
        user.id,
        actor_user_id=user.id,
        coc_id=_coc_of(user),
    )
    await session.flush()
    return True


async def _set_password(session: AsyncSession, user: User, new_password: str) -> None:
    check_password_rules(new_password, user.email, field="new_password")
    user.password_hash = await hash_password(new_password)
    user.password_changed_at = utcnow()
    user.failed_login_count = 0
    user.locked_until = None
    # A new password ends every existing session...
    await session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoke_reason="password_changed")
    )
    # ...and every other outstanding invitation or reset token.
    await session.execute(
        update(OneTimeToken)
        .where(OneTimeToken.user_id == user.id, OneTimeToken.used_at.is_(None))
        .values(used_at=utcnow())
    )


async def confirm_password_reset(
    session: AsyncSession, *, token: str, new_password: str, meta: RequestMeta
) -> None:
    user = await _consume(session, token, "password_reset")
    await _set_password(session, user, new_password)
    audit.record(
        session,
        meta,
        "auth.password_reset",
        "user",
        user.id,
        actor_user_id=user.id,
        coc_id=_coc_of(user),
    )


async def accept_invitation(
    session: AsyncSession, *, token: str, password: str, meta: RequestMeta
) -> User:
    user = await _consume(session, token, "invitation")
    check_password_rules(password, user.email, field="password")
    await _set_password(session, user, password)
    audit.record(
        session,
        meta,
        "auth.invitation_accepted",
        "user",
        user.id,
        actor_user_id=user.id,
        coc_id=_coc_of(user),
    )
    return user
