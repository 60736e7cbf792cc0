from __future__ import annotations

from fastapi import Depends, Request, Response, status

from app.deps import CurrentActor, Meta, Session, SettingsDep
from app.http.contract import Visibility, documented
from app.http.ratelimit import (
    account_login_budget,
    auth_rate_limit,
    reset_request_within_budget,
)
from app.routers import api_router
from app.schemas.auth import (
    Accepted,
    InvitationAccept,
    LoginRequest,
    MembershipBrief,
    MeResponse,
    MeUser,
    OrganizationBrief,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    SwitchOrganizationRequest,
    TokenResponse,
)
from app.schemas.common import problems
from app.services.identity import auth as auth_service

router = api_router("/auth", "auth")


def _tokens(pair: auth_service.TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        organization_id=pair.organization_id,
    )


@router.post(
    "/login",
    name="auth_login",
    summary="Log in",
    response_model=TokenResponse,
    dependencies=[Depends(auth_rate_limit)],
    responses=problems(401),
    openapi_extra=documented(Visibility.PUBLIC),
)
async def login(
    body: LoginRequest, request: Request, session: Session, settings: SettingsDep, meta: Meta
) -> TokenResponse:
    """Exchange email and password for an access token and a rotating refresh token.

    Five failed attempts lock the account for 15 minutes; the answer is the same for an unknown
    email, a wrong password and a locked account. Too many failures for one email (from any
    address, 10 an hour by default) or from one address get 429 with `Retry-After`.
    """
    async with account_login_budget(request, body.email):
        pair = await auth_service.login(
            session,
            settings,
            email_address=body.email,
            password=body.password,
            organization_id=body.organization_id,
            meta=meta,
        )
    return _tokens(pair)


@router.post(
    "/refresh",
    name="auth_refresh",
    summary="Refresh the tokens",
    response_model=TokenResponse,
    dependencies=[Depends(auth_rate_limit)],
    responses=problems(401),
    openapi_extra=documented(Visibility.PUBLIC),
)
async def refresh(
    body: RefreshRequest, session: Session, settings: SettingsDep, meta: Meta
) -> TokenResponse:
    """Rotate the refresh token.

    Presenting the previous token again within 20 seconds of its rotation (several tabs
    refreshing at once) returns the same new pair; later, it revokes the whole session.
    """
    return _tokens(
        await auth_service.refresh(session, settings, refresh_token=body.refresh_token, meta=meta)
    )


@router.post(
    "/logout",
    name="auth_logout",
    summary="Log out",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    openapi_extra=documented(Visibility.SELF),
)
async def logout(actor: CurrentActor, session: Session) -> Response:
    """Revoke the session: its refresh token and access token stop working at once."""
    await auth_service.logout(session, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/switch-organization",
    name="auth_switch_organization",
    summary="Act for another of your organizations",
    response_model=TokenResponse,
    responses=problems(403),
    openapi_extra=documented(Visibility.SELF),
)
async def switch_organization(
    body: SwitchOrganizationRequest, actor: CurrentActor, session: Session, settings: SettingsDep
) -> TokenResponse:
    """Act for another organization you belong to: new tokens; the old session ends."""
    return _tokens(
        await auth_service.switch_organization(session, settings, actor, body.organization_id)
    )


@router.get(
    "/me",
    name="auth_me",
    summary="Who you are",
    response_model=MeResponse,
    openapi_extra=documented(Visibility.SELF),
)
async def me(actor: CurrentActor, session: Session) -> MeResponse:
    """Who you are, the organization you act for, your role and permissions."""
    memberships = await auth_service.memberships_of(session, actor.user_id)
    org = actor.organization
    return MeResponse(
        user=MeUser(id=actor.user_id, email=actor.email, full_name=actor.full_name),
        organization=OrganizationBrief(
            id=org.id,
            name=org.name,
            kind=org.kind,
            coc_id=org.coc_id,
            victim_service_provider=org.victim_service_provider,
            access_point=org.access_point,
            housing_provider=org.housing_provider,
            veteran_services=org.veteran_services,
        ),
        role=actor.role.value,
        permissions=sorted(p.value for p in actor.permissions),
        memberships=[
            MembershipBrief(
                id=m.id,
                organization_id=m.organization_id,
                organization_name=m.organization.name,
                role=m.role,
            )
            for m in memberships
            if m.organization_id != actor.organization_id and m.organization.is_active
        ],
    )


@router.post(
    "/password-reset/request",
    name="auth_password_reset_request",
    summary="Ask for a password reset",
    openapi_extra=documented(Visibility.PUBLIC),
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    dependencies=[Depends(auth_rate_limit)],
)
async def password_reset_request(
    body: PasswordResetRequest,
    request: Request,
    session: Session,
    settings: SettingsDep,
    meta: Meta,
) -> Accepted:
    """Always 202 with the same body, whether or not the email belongs to an account. Beyond
    3 requests an hour (by default) for one email address, from any client, the request is
    dropped: the same 202, no email."""
    if await reset_request_within_budget(request, body.email):
        await auth_service.request_password_reset(
            session, settings, email_address=body.email, meta=meta
        )
    return Accepted(detail="If an account exists for this email, reset instructions were sent.")


@router.post(
    "/password-reset/confirm",
    name="auth_password_reset_confirm",
    summary="Set a new password with a reset token",
    openapi_extra=documented(Visibility.PUBLIC),
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    dependencies=[Depends(auth_rate_limit)],
)
async def password_reset_confirm(
    body: PasswordResetConfirm, session: Session, meta: Meta
) -> Response:
    """Set a new password with a single-use reset token (valid one hour)."""
    await auth_service.confirm_password_reset(
        session, token=body.token, new_password=body.new_password, meta=meta
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/invitations/accept",
    name="auth_invitation_accept",
    summary="Accept an invitation (set your first password)",
    openapi_extra=documented(Visibility.PUBLIC),
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    dependencies=[Depends(auth_rate_limit)],
)
async def invitation_accept(body: InvitationAccept, session: Session, meta: Meta) -> Response:
    """Set your first password with the single-use invitation token from your email."""
    await auth_service.accept_invitation(
        session, token=body.token, password=body.password, meta=meta
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


__all__ = ["router"]
