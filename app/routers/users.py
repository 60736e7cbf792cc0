from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Response, status

from app.context import Actor
from app.deps import IfMatch, Session, SettingsDep, current_actor
from app.errors import Forbidden
from app.http.contract import ETAG, Visibility, documented
from app.http.etag import check_if_match, set_etag
from app.http.pagination import Pages
from app.routers import api_router
from app.schemas.common import problems
from app.schemas.pagination import Page
from app.schemas.users import (
    MembershipCreate,
    UserInvite,
    UserRead,
    UserUpdate,
)
from app.services.identity import users as svc
from app.services.identity.policy import can_manage_users

router = api_router("/users", "users")


async def user_manager(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
    if not can_manage_users(actor):
        raise Forbidden("Only system admins and agency admins manage users.")
    return actor


Manager = Annotated[Actor, Depends(user_manager)]
MANAGERS = (
    "`users:manage` (system admins) or `users:manage_own_org` (agency admins, for their own "
    "organization's agency-level roles)."
)


async def managed_user(user_id: uuid.UUID, actor: Manager, session: Session) -> svc.User:
    """A user the caller manages (else 404)."""
    return await svc.get_user(session, actor, user_id)


ManagedUser = Annotated[svc.User, Depends(managed_user)]


@router.post(
    "",
    name="users_invite",
    summary="Invite a user",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    openapi_extra=documented(Visibility.USERS, sends=(ETAG,), permission=MANAGERS, idempotent=True),
    responses=problems(403, 404, 409),  # 404: an organization you cannot see
)
async def invite_user(
    body: UserInvite, actor: Manager, session: Session, settings: SettingsDep, response: Response
) -> UserRead:
    """Create a user with one membership and email them a single-use invitation token.

    An address whose account has no membership left, and that you may see (it left one of your
    organizations), gets this membership back instead of a 409: the account keeps its name and
    password, and is sent a new invitation only if it never set a password. An address of an
    account of this CoC is a 409 (add a membership to that user instead); an address in use by
    an account of other CoCs only is a 409 that does not say so (accounts are not shared
    between CoCs by invitation)."""
    user = await svc.invite_user(
        session,
        settings,
        actor,
        email_address=body.email,
        full_name=body.full_name,
        organization_id=body.organization_id,
        role=body.role,
    )
    set_etag(response, user.version)
    return await svc.read_user(session, actor, user)


@router.get(
    "",
    name="users_list",
    summary="List users",
    response_model=Page[UserRead],
    responses=problems(403),
    openapi_extra=documented(Visibility.USERS, permission=MANAGERS),
)
async def list_users(actor: Manager, session: Session, page: Pages) -> dict[str, object]:
    """The accounts you manage, with their memberships."""
    return (await svc.list_users(session, actor, page)).body()


@router.get(
    "/{user_id}",
    name="users_get",
    summary="Read a user",
    response_model=UserRead,
    responses=problems(403),
    openapi_extra=documented(Visibility.USERS, sends=(ETAG,), permission=MANAGERS),
)
async def get_user(
    user_id: uuid.UUID, actor: Manager, session: Session, response: Response
) -> UserRead:
    """The account, its memberships and former memberships."""
    user = await svc.get_user(session, actor, user_id)
    set_etag(response, user.version)
    return await svc.read_user(session, actor, user)


@router.patch(
    "/{user_id}",
    name="users_update",
    summary="Update a user",
    response_model=UserRead,
    responses=problems(403, 409),
    openapi_extra=documented(Visibility.USERS, sends=(ETAG,), permission=MANAGERS),
)
async def update_user(
    user_id: uuid.UUID,
    body: UserUpdate,
    actor: Manager,
    session: Session,
    if_match: IfMatch,
    response: Response,
) -> UserRead:
    """Rename the user or (de)activate the account (deactivating ends its sessions)."""
    user = await svc.get_user(session, actor, user_id)
    check_if_match(if_match, user.version)
    user = await svc.update_user(session, actor, user, body)
    set_etag(response, user.version)
    return await svc.read_user(session, actor, user)


@router.post(
    "/{user_id}/invitation",
    name="users_resend_invitation",
    summary="Send a new invitation",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(403, 409),
    openapi_extra=documented(Visibility.USERS, permission=MANAGERS),
)
async def resend_invitation(
    user_id: uuid.UUID, actor: Manager, session: Session, settings: SettingsDep
) -> Response:
    """Send a fresh invitation token (older ones stop working)."""
    user = await svc.get_user(session, actor, user_id)
    await svc.resend_invitation(session, settings, actor, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{user_id}/memberships",
    name="users_memberships_create",
    summary="Give a user a role in an organization",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    openapi_extra=documented(Visibility.USERS, permission=MANAGERS, idempotent=True),
    responses=problems(403, 409),
)
async def add_membership(
    user: ManagedUser, body: MembershipCreate, actor: Manager, session: Session
) -> UserRead:
    """Give the user a role in another organization."""
    await svc.add_membership(session, actor, user, body.organization_id, body.role)
    return await svc.read_user(session, actor, user)


@router.delete(
    "/{user_id}/memberships/{membership_id}",
    name="users_memberships_delete",
    summary="Remove a user's role",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(403),
    openapi_extra=documented(Visibility.USERS, permission=MANAGERS),
)
async def remove_membership(
    user_id: uuid.UUID, membership_id: uuid.UUID, actor: Manager, session: Session
) -> Response:
    """Remove a role; it stops working on the user's very next request. The membership is kept
    in the user's `former_memberships`, so an account without memberships stays visible to you.
    Agency admins may not remove a membership from an account that holds a system or CAS admin
    role (403, like any other change of that account)."""
    user = await svc.get_user(session, actor, user_id)
    await svc.remove_membership(session, actor, user, membership_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
