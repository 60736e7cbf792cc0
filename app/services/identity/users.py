"""Users and memberships: invitations, role changes, deactivation.

Scope: a system admin manages users of every organization in the acting CoC; an agency admin
manages the users of its own organization, and may grant only agency-level roles. An account
whose last membership was removed stays with the admins it answered to (system admins of the
CoC, admins of the organizations it left): they see it, and can give it a role again (by adding
a membership or by inviting its address again). Former memberships are kept in
``membership_history``.

Inviting an address already in use: an account of the actor's CoC (it has or had a membership
there) is a plain 409; an account of other CoCs only is a 409 that does not say why, so an
invitation cannot be used to learn which addresses have accounts elsewhere (and accounts are
not shared between CoCs by invitation: their own CoC manages them).

Agency admins change their agency's staff, never an account that holds a system or CAS admin
role: one rule, ``identity.policy.can_change_account``, for every change of an account
(profile, invitation, adding or removing a membership).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import Select, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.context import Actor
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.models import AuthSession, Membership, Organization, User
from app.models.membership_history import MembershipHistory
from app.models.scoping import ALL_COCS
from app.permissions import Role
from app.schemas.pagination import PageParams
from app.schemas.users import FormerMembershipRead, MembershipRead, UserRead, UserUpdate
from app.security import utcnow
from app.services.identity.auth import issue_one_time_token
from app.services.identity.organizations import apply_changes, get_organization
from app.services.identity.policy import (
    can_change_account,
    can_change_account_itself,
    can_change_activation,
    can_grant,
    can_manage_users_of,
    manages_all_users,
)
from app.services.platform import audit, email
from app.services.platform.pagination import PageOf, paginate


def visible_users_stmt(actor: Actor) -> Select[User]:
    """Members of the organizations the actor manages, and accounts without any membership
    that were last members there (an account that still belongs somewhere is managed there)."""
    orgs = (
        select(Organization.id).where(Organization.coc_id == actor.coc_id)
        if manages_all_users(actor)
        else select(Organization.id).where(Organization.id == actor.organization_id)
    )
    members = select(Membership.user_id).where(Membership.organization_id.in_(orgs))
    former = select(MembershipHistory.user_id).where(
        MembershipHistory.organization_id.in_(orgs),
        ~exists().where(Membership.user_id == MembershipHistory.user_id),
    )
    # Accounts span CoCs: "without any membership" means in any CoC, and an account's
    # memberships load in full (the statement names this CoC's organizations itself).
    return (
        select(User)
        .where(or_(User.id.in_(members), User.id.in_(former)))
        .execution_options(**ALL_COCS)
    )


async def get_user(session: AsyncSession, actor: Actor, user_id: uuid.UUID) -> User:
    user = await session.scalar(visible_users_stmt(actor).where(User.id == user_id))
    if user is None:
        raise NotFound("No such user.")
    return user


def visible_memberships(actor: Actor, user: User) -> list[Membership]:
    return [m for m in user.memberships if m.organization.coc_id == actor.coc_id]


async def former_memberships(
    session: AsyncSession, actor: Actor, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[MembershipHistory]]:
    """Removed memberships of these users in the actor's CoC, oldest removal first."""
    ids = list(user_ids)
    out: dict[uuid.UUID, list[MembershipHistory]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = await session.scalars(
        select(MembershipHistory)
        .join(Organization, Organization.id == MembershipHistory.organization_id)
        .where(MembershipHistory.user_id.in_(ids), Organization.coc_id == actor.coc_id)
        .order_by(MembershipHistory.removed_at, MembershipHistory.id)
    )
    for row in rows:
        out[row.user_id].append(row)
    return out


def user_read(actor: Actor, user: User, former: list[MembershipHistory]) -> UserRead:
    """The account as ``actor`` may see it: its memberships in the actor's CoC."""
    return UserRead(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        is_active=user.is_active,
        invitation_pending=user.password_hash is None,
        memberships=[
            MembershipRead(
                id=m.id,
                organization_id=m.organization_id,
                organization_name=m.organization.name,
                role=m.role,
                created_at=m.created_at,
            )
            for m in visible_memberships(actor, user)
        ],
        former_memberships=[
            FormerMembershipRead(
                organization_id=f.organization_id,
                organization_name=f.organization.name,
                role=f.role,
                member_since=f.member_since,
                removed_at=f.removed_at,
            )
            for f in former
        ],
        version=user.version,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


async def read_user(session: AsyncSession, actor: Actor, user: User) -> UserRead:
    former = await former_memberships(session, actor, [user.id])
    return user_read(actor, user, former[user.id])


async def list_users(session: AsyncSession, actor: Actor, page: PageParams) -> PageOf[UserRead]:
    """The accounts ``actor`` manages (``visible_users_stmt``), by email; the cursor holds the
    last user's id, never an email address (it travels in URLs)."""
    rows = await paginate(
        session, visible_users_stmt(actor), page, [User.email, User.id], id_cursor=True
    )
    former = await former_memberships(session, actor, [u.id for u in rows.items])
    return rows.map(lambda u: user_read(actor, u, former[u.id]))


async def _check_grant(
    session: AsyncSession, actor: Actor, organization_id: uuid.UUID, role: Role
) -> Organization:
    org = await get_organization(session, actor, organization_id)
    if not can_manage_users_of(actor, org.id):
        raise Forbidden("Agency admins manage the users of their own organization only.")
    if not can_grant(actor, role):
        raise Forbidden(f"Agency admins may not grant the {role.value} role.")
    return org


def _check_active(org: Organization) -> None:
    """Nobody joins a deactivated organization: its users cannot act for it (409 naming
    ``organization_id``; a system admin can reactivate it first)."""
    if not org.is_active:
        msg = (
            f"The organization {org.name!r} is deactivated: nobody is invited into it or given "
            "a membership there (a system admin can reactivate it)."
        )
        raise Conflict(
            msg,
            errors=[{"loc": ["body", "organization_id"], "msg": msg, "type": "deactivated"}],
        )


async def _send_invitation(
    session: AsyncSession, settings: Settings, user: User, coc_id: uuid.UUID
) -> None:
    token = await issue_one_time_token(
        session, user, "invitation", timedelta(hours=settings.invitation_ttl_hours)
    )
    email.enqueue(
        session,
        coc_id=coc_id,
        to=user.email,
        subject="You are invited to the Coordinated Access System",
        template="invitation",
        body=(
            f"Hello {user.full_name},\n\nAn account was created for you. Set your password with "
            f"this single-use code within {settings.invitation_ttl_hours} hours:\n\n{token}\n\n"
            f"or open {settings.public_base_url}/accept-invitation?token={token}\n"
        ),
    )


async def invite_user(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    *,
    email_address: str,
    full_name: str,
    organization_id: uuid.UUID,
    role: Role,
) -> User:
    _check_active(await _check_grant(session, actor, organization_id, role))
    address = email_address.lower()
    existing = await session.scalar(
        select(User).where(User.email == address).execution_options(**ALL_COCS)
    )
    if existing is not None:
        if await _may_reinvite(session, actor, existing):
            return await _reinvite(session, settings, actor, existing, organization_id, role)
        if not await _known_in_coc(session, actor, existing):
            # An account of other CoCs only: not shared by invitation (its own CoCs manage it),
            # and the answer does not confirm that it exists.
            raise Conflict(
                "This email address cannot be used for a new account in this Continuum of "
                "Care. Ask the person for another address, or ask a system administrator.",
                errors=[{"loc": ["body", "email"], "msg": "not available", "type": "unavailable"}],
            )
        raise Conflict(
            "A user with this email already exists; add a membership to that user instead.",
            errors=[{"loc": ["body", "email"], "msg": "already exists", "type": "unique"}],
        )
    user = User(email=address, full_name=full_name, password_hash=None)
    session.add(user)
    await session.flush()
    # The organization is one of the acting CoC's (checked above).
    session.add(
        Membership(
            coc_id=actor.coc_id, user_id=user.id, organization_id=organization_id, role=role.value
        )
    )
    await _send_invitation(session, settings, user, actor.coc_id)
    audit.record(
        session,
        actor,
        "user.invite",
        "user",
        user.id,
        {"email": address, "organization_id": organization_id, "role": role.value},
    )
    await session.flush()
    await session.refresh(user, ["memberships"])
    return user


async def _known_in_coc(session: AsyncSession, actor: Actor, user: User) -> bool:
    """The account has, or had, a membership in an organization of the actor's CoC."""
    in_coc = select(Organization.id).where(Organization.coc_id == actor.coc_id)
    found = await session.scalar(
        select(
            exists().where(Membership.user_id == user.id, Membership.organization_id.in_(in_coc))
            | exists().where(
                MembershipHistory.user_id == user.id,
                MembershipHistory.organization_id.in_(in_coc),
            )
        )
    )
    return bool(found)


async def _may_reinvite(session: AsyncSession, actor: Actor, user: User) -> bool:
    """An account without memberships that the actor may see (it left one of the actor's
    organizations) is invited again rather than refused as a duplicate."""
    if user.memberships:
        return False
    return await session.scalar(visible_users_stmt(actor).where(User.id == user.id)) is not None


async def _reinvite(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    user: User,
    organization_id: uuid.UUID,
    role: Role,
) -> User:
    """Give a former member a membership again. The account keeps its name, password and
    active flag; an invitation is sent only if no password was ever set."""
    _check_may_change(actor, user)
    session.add(
        Membership(
            coc_id=actor.coc_id, user_id=user.id, organization_id=organization_id, role=role.value
        )
    )
    if user.password_hash is None:
        await _send_invitation(session, settings, user, actor.coc_id)
    audit.record(
        session,
        actor,
        "user.reinvite",
        "user",
        user.id,
        {"organization_id": organization_id, "role": role.value},
    )
    await session.flush()
    await session.refresh(user, ["memberships"])
    return user


async def resend_invitation(
    session: AsyncSession, settings: Settings, actor: Actor, user: User
) -> None:
    _check_may_change(actor, user)
    if user.password_hash is not None:
        raise Conflict("This user has already set a password; use the password reset instead.")
    await _send_invitation(session, settings, user, actor.coc_id)
    audit.record(session, actor, "user.invitation_resent", "user", user.id)


def _check_may_change(actor: Actor, user: User) -> None:
    """The one check behind every change of an account (``can_change_account``)."""
    if not can_change_account(actor, [m.role for m in user.memberships]):
        raise Forbidden(
            "Agency admins may not change the accounts of system or CAS administrators "
            "(profile, invitation or memberships)."
        )


async def _end_sessions(
    session: AsyncSession, user_id: uuid.UUID, reason: str, organization_id: uuid.UUID | None = None
) -> None:
    stmt = update(AuthSession).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
    )
    if organization_id is not None:
        stmt = stmt.where(AuthSession.organization_id == organization_id)
    await session.execute(stmt.values(revoked_at=utcnow(), revoke_reason=reason))


async def update_user(session: AsyncSession, actor: Actor, user: User, data: UserUpdate) -> User:
    changes = data.model_dump(exclude_unset=True)
    if "is_active" in changes and not can_change_activation(actor):
        raise Forbidden("Only system admins may activate or deactivate accounts.")
    _check_may_change(actor, user)
    if changes and not can_change_account_itself(
        actor, [m.organization.coc_id for m in user.memberships]
    ):
        raise Forbidden(
            "This account also belongs to another Continuum of Care: its name and activation "
            "are not changed by one CoC alone. Remove or change its memberships here instead."
        )
    if changes.get("is_active") is False and user.id == actor.user_id:
        raise ValidationFailed("You cannot deactivate your own account.", field="is_active")
    diff = apply_changes(user, changes)
    if diff.get("is_active", {}).get("new") is False:
        # Reactivating later must not bring old sessions back to life.
        await _end_sessions(session, user.id, "deactivated")
    await session.flush()
    audit.record(session, actor, "user.update", "user", user.id, diff)
    return user


async def add_membership(
    session: AsyncSession, actor: Actor, user: User, organization_id: uuid.UUID, role: Role
) -> Membership:
    org = await _check_grant(session, actor, organization_id, role)
    _check_may_change(actor, user)
    _check_active(org)
    if any(m.organization_id == organization_id for m in user.memberships):
        raise Conflict(
            "The user already has a role in this organization; change or remove it.",
            errors=[
                {"loc": ["body", "organization_id"], "msg": "already a member", "type": "unique"}
            ],
        )
    membership = Membership(
        coc_id=actor.coc_id, user_id=user.id, organization_id=organization_id, role=role.value
    )
    session.add(membership)
    await session.flush()
    audit.record(
        session,
        actor,
        "membership.create",
        "membership",
        membership.id,
        {"user_id": user.id, "organization_id": organization_id, "role": role.value},
    )
    await session.refresh(user, ["memberships"])
    return membership


async def remove_membership(
    session: AsyncSession, actor: Actor, user: User, membership_id: uuid.UUID
) -> None:
    membership = next((m for m in visible_memberships(actor, user) if m.id == membership_id), None)
    if membership is None:
        raise NotFound("No such membership.")
    await _check_grant(session, actor, membership.organization_id, Role(membership.role))
    _check_may_change(actor, user)
    if membership.user_id == actor.user_id and membership.organization_id == actor.organization_id:
        raise ValidationFailed(
            "You cannot remove your own membership in the acting organization.",
            field="membership_id",
        )
    await session.delete(membership)
    # Kept as a record: the account stays visible to this organization's admins if it was
    # its last membership (see ``visible_users_stmt``).
    session.add(
        MembershipHistory(
            id=membership.id,
            user_id=user.id,
            organization_id=membership.organization_id,
            role=membership.role,
            member_since=membership.created_at,
            removed_by_user_id=actor.user_id,
        )
    )
    # Sessions acting for that organization end now (re-adding the role later does not revive
    # them).
    await _end_sessions(session, user.id, "membership_removed", membership.organization_id)
    audit.record(
        session,
        actor,
        "membership.delete",
        "membership",
        membership.id,
        {
            "user_id": user.id,
            "organization_id": membership.organization_id,
            "role": membership.role,
        },
    )
    await session.flush()
    await session.refresh(user, ["memberships"])
