"""Matches (referrals): sending, the provider's and CAS administrators' moves, stall responses,
the EHV route, lists and the timeline (DOMAIN 9)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response, status

from app.context import Actor
from app.deps import IfMatchRequired, Session, require_for_clients
from app.http.contract import ETAG, documented
from app.http.etag import check_if_match, set_etag
from app.http.pagination import Pages
from app.permissions import Permission
from app.reference.matching import MatchStatus, ProviderResult
from app.routers import api_router
from app.schemas.common import problems
from app.schemas.matching import (
    EhvCaseManagerAssign,
    MatchAccept,
    MatchCancel,
    MatchCreate,
    MatchDecline,
    MatchEventRead,
    MatchOutcome,
    MatchPark,
    MatchRead,
    MatchResult,
    RftaSubmitted,
    StallResponseCreate,
    StallResponseRead,
    VoucherIssued,
)
from app.schemas.pagination import Page
from app.services.matching import matches as svc

router = api_router("/matches", "matches")
ehv = api_router("/matches", "ehv-route")

Referrer = Annotated[Actor, Depends(require_for_clients(Permission.REFERRALS_MANAGE))]
Responder = Annotated[Actor, Depends(require_for_clients(Permission.REFERRALS_RESPOND))]
Reader = Annotated[Actor, Depends(require_for_clients())]
# Accepting and the outcome: the provider, or (EHV) the CoC admin; the machine checks which.
Mover = Annotated[Actor, Depends(require_for_clients())]

VISIBLE = (
    "CAS and system admins and the CAS organization; the provider the match was sent to (and an "
    "assigned EHV case-manager agency); the client's assigned case managers (read only). "
    "Others: 404."
)
PROVIDER = (
    "The provider the match was sent to (or its EHV case-manager agency) and system admins; "
    "others who see the match: 403; others: 404."
)
ADMIN = "CAS and system admins."


async def visible_match(match_id: uuid.UUID, actor: Reader, session: Session) -> svc.Match:
    return await svc.get_visible_match(session, actor, match_id)


async def locked_match(match_id: uuid.UUID, actor: Reader, session: Session) -> svc.Match:
    """Locked for the move, so concurrent moves of one match run one after the other."""
    return await svc.get_visible_match(session, actor, match_id, for_update=True)


VisibleMatch = Annotated[svc.Match, Depends(visible_match)]
LockedMatch = Annotated[svc.Match, Depends(locked_match)]


async def _answer(
    session: Session, actor: Actor, match: svc.Match, response: Response
) -> MatchRead:
    await session.flush()
    set_etag(response, match.version)
    [read] = await svc.match_reads(session, actor, [match])
    return read


@router.post(
    "",
    name="matches_create",
    summary="Send a match (referral)",
    status_code=status.HTTP_201_CREATED,
    response_model=MatchRead,
    responses=problems(409),
    openapi_extra=documented(ADMIN, sends=(ETAG,), idempotent=True),
)
async def create_match(
    body: MatchCreate, actor: Referrer, session: Session, response: Response
) -> MatchRead:
    """Refer an approved, eligible queue entry (not parked, in no active match, never declined
    by the project) to a unit. A unit holds one active match: referring to a unit that is not
    available (or already matched) needs `over_referral: true` (counted per project). Records
    the HUD 4.20 referral event on the CE enrollment (13 RRH, 14 PSH, 17 EHV, ...) and lets the
    provider see the household's clients. EHV programs need area ties."""
    match = await svc.create_match(session, actor, body)
    return await _answer(session, actor, match, response)


@router.get(
    "",
    name="matches_list",
    summary="List matches",
    response_model=Page[MatchRead],
    openapi_extra=documented(VISIBLE),
)
async def list_matches(
    actor: Reader,
    session: Session,
    page: Pages,
    project_id: Annotated[uuid.UUID | None, Query()] = None,
    provider_id: Annotated[
        uuid.UUID | None, Query(description="The provider organization.")
    ] = None,
    status_: Annotated[list[MatchStatus] | None, Query(alias="status")] = None,
    stalled: Annotated[bool | None, Query(description="Stalled now (derived).")] = None,
    about_to_stall: Annotated[bool | None, Query(description="About to stall (derived).")] = None,
    client_id: Annotated[uuid.UUID | None, Query(description="Head of household.")] = None,
    unit_id: Annotated[uuid.UUID | None, Query()] = None,
) -> dict[str, object]:
    """Newest first. `stalled` and `about_to_stall` are computed from the match's timestamps
    and the response policy at the time of the request."""
    filters = svc.MatchFilters(
        project_id=project_id,
        organization_id=provider_id,
        status=status_,
        stalled=stalled,
        about_to_stall=about_to_stall,
        client_id=client_id,
        unit_id=unit_id,
    )
    return (await svc.list_matches(session, actor, filters, page)).body()


@router.get(
    "/{match_id}",
    name="matches_get",
    summary="Read a match",
    response_model=MatchRead,
    openapi_extra=documented(VISIBLE, sends=(ETAG,)),
)
async def get_match(
    match: VisibleMatch, actor: Reader, session: Session, response: Response
) -> MatchRead:
    """The match with its stall state (on_time, about_to_stall, stalled, not_waiting)."""
    return await _answer(session, actor, match, response)


@router.get(
    "/{match_id}/timeline",
    name="matches_timeline",
    summary="A match's timeline",
    response_model=Page[MatchEventRead],
    openapi_extra=documented(VISIBLE),
)
async def timeline(
    match: VisibleMatch, actor: Reader, session: Session, page: Pages
) -> dict[str, object]:
    """One row per change, oldest first, with who, the acting organization and the note."""
    return (await svc.timeline(session, actor, match, page)).body()


@router.post(
    "/{match_id}/accept",
    name="matches_accept",
    summary="Accept a match",
    response_model=MatchRead,
    responses=problems(409),
    openapi_extra=documented(
        PROVIDER + " An EHV match is accepted by the CoC admin.",
        sends=(ETAG,),
        permission="referrals:respond (EHV: referrals:manage)",
    ),
)
async def accept(
    match: LockedMatch,
    body: MatchAccept,
    actor: Mover,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> MatchRead:
    """Provider: accept and start the program intake (program enrollments of the household,
    prefilled from the CE enrollment, linked to the match). EHV: the CoC admin accepts and the
    household goes to navigation."""
    check_if_match(if_match, match.version)
    await svc.accept(session, actor, match, body.entry_date, body.note)
    return await _answer(session, actor, match, response)


@router.post(
    "/{match_id}/decline",
    name="matches_decline",
    summary="Decline a match",
    response_model=MatchRead,
    responses=problems(409),
    openapi_extra=documented(PROVIDER, sends=(ETAG,)),
)
async def decline(
    match: LockedMatch,
    body: MatchDecline,
    actor: Responder,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> MatchRead:
    """With a listed reason (`other` needs an explanation). The unit is free again, the client
    back on the queue, and this project is never proposed the household again."""
    check_if_match(if_match, match.version)
    await svc.decline(session, actor, match, body.reason, body.explanation)
    return await _answer(session, actor, match, response)


@router.post(
    "/{match_id}/park",
    name="matches_park",
    summary="Park a match",
    response_model=MatchRead,
    responses=problems(409),
    openapi_extra=documented(PROVIDER, sends=(ETAG,)),
)
async def park(
    match: LockedMatch,
    body: MatchPark,
    actor: Responder,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> MatchRead:
    """With a listed reason and end date (natural date; blank for indefinite reasons; 30 days
    for disengaged by default). The unit is free again, the client leaves the provider's
    caseload and returns to the queue on `parked_until`, keeping their place."""
    check_if_match(if_match, match.version)
    await svc.park(session, actor, match, body.reason, body.parked_until, body.explanation)
    return await _answer(session, actor, match, response)


@router.post(
    "/{match_id}/reject",
    name="matches_reject",
    summary="Reject a match (provider rejected)",
    response_model=MatchRead,
    responses=problems(409),
    openapi_extra=documented(PROVIDER, sends=(ETAG,)),
)
async def reject(
    match: LockedMatch,
    body: MatchResult,
    actor: Responder,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> MatchRead:
    """Referral result 3 (unsuccessful: provider rejected)."""
    check_if_match(if_match, match.version)
    await svc.outcome(session, actor, match, ProviderResult.REJECTED, body.result_date, body.note)
    return await _answer(session, actor, match, response)


@router.post(
    "/{match_id}/no-show",
    name="matches_no_show",
    summary="Record a no show",
    response_model=MatchRead,
    responses=problems(409),
    openapi_extra=documented(PROVIDER, sends=(ETAG,)),
)
async def no_show(
    match: LockedMatch,
    body: MatchResult,
    actor: Responder,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> MatchRead:
    """Referral result 2 (unsuccessful: client rejected)."""
    check_if_match(if_match, match.version)
    await svc.outcome(session, actor, match, ProviderResult.NO_SHOW, body.result_date, body.note)
    return await _answer(session, actor, match, response)


@router.post(
    "/{match_id}/cancel",
    name="matches_cancel",
    summary="Cancel a match",
    response_model=MatchRead,
    responses=problems(409),
    openapi_extra=documented(ADMIN, sends=(ETAG,)),
)
async def cancel(
    match: LockedMatch,
    body: MatchCancel,
    actor: Referrer,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> MatchRead:
    """CAS admin closes the match with a reason (`other` needs an explanation)."""
    check_if_match(if_match, match.version)
    await svc.cancel(session, actor, match, body.reason, body.explanation)
    return await _answer(session, actor, match, response)


@router.post(
    "/{match_id}/outcome",
    name="matches_outcome",
    summary="Record the referral outcome",
    response_model=MatchRead,
    responses=problems(409),
    openapi_extra=documented(PROVIDER, sends=(ETAG,)),
)
async def record_outcome(
    match: LockedMatch,
    body: MatchOutcome,
    actor: Responder,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> MatchRead:
    """Provider result -> HUD referral result on the 4.20 event: client_enrolled -> 1 (the
    match succeeds: the unit is checked in, the queue entry closes, the CE enrollment is flagged
    for exit into the program), rejected -> 3, no_show -> 2."""
    check_if_match(if_match, match.version)
    await svc.outcome(session, actor, match, body.provider_result, body.result_date, body.note)
    return await _answer(session, actor, match, response)


@router.post(
    "/{match_id}/stall-responses",
    name="matches_stall_respond",
    summary="Respond to a stalled match",
    status_code=status.HTTP_201_CREATED,
    response_model=StallResponseRead,
    responses=problems(409),
    openapi_extra=documented(PROVIDER, sends=(ETAG,)),
)
async def stall_respond(
    match: LockedMatch,
    body: StallResponseCreate,
    actor: Responder,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> StallResponseRead:
    """For a match stalled or about to stall: whether the client is engaging, a listed reason,
    when the client was last seen (default: the match date) and a note. Restarts the clock.
    The ETag sent is the match's."""
    check_if_match(if_match, match.version)
    row = await svc.stall_response(
        session,
        actor,
        match,
        body.engaging,
        body.reason,
        body.client_last_seen_on,
        body.note,
    )
    await session.flush()
    set_etag(response, match.version)
    return StallResponseRead.model_validate(row)


@router.get(
    "/{match_id}/stall-responses",
    name="matches_stall_responses",
    summary="Stall responses of a match",
    response_model=Page[StallResponseRead],
    openapi_extra=documented(VISIBLE),
)
async def stall_responses(
    match: VisibleMatch, actor: Reader, session: Session, page: Pages
) -> dict[str, object]:
    """Oldest first."""
    return (await svc.stall_responses(session, actor, match, page)).body()


@ehv.post(
    "/{match_id}/voucher-issued",
    name="matches_ehv_voucher_issued",
    summary="EHV: the voucher was issued",
    response_model=MatchRead,
    responses=problems(409),
    openapi_extra=documented(PROVIDER, sends=(ETAG,)),
)
async def voucher_issued(
    match: LockedMatch,
    body: VoucherIssued,
    actor: Responder,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> MatchRead:
    """The navigator enrolls the client (program enrollment) and records the issue date."""
    check_if_match(if_match, match.version)
    await svc.voucher_issued(session, actor, match, body.issued_on, body.note)
    return await _answer(session, actor, match, response)


@ehv.post(
    "/{match_id}/rfta-submitted",
    name="matches_ehv_rfta_submitted",
    summary="EHV: RFTA submitted, the navigator accepts",
    response_model=MatchRead,
    responses=problems(409),
    openapi_extra=documented(PROVIDER, sends=(ETAG,)),
)
async def rfta_submitted(
    match: LockedMatch,
    body: RftaSubmitted,
    actor: Responder,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> MatchRead:
    """The RFTA went to the PHA: the CoC admin is told to assign the EHV case manager."""
    check_if_match(if_match, match.version)
    await svc.rfta_submitted(session, actor, match, body.submitted_on, body.note)
    return await _answer(session, actor, match, response)


@ehv.post(
    "/{match_id}/ehv-case-manager",
    name="matches_ehv_assign_case_manager",
    summary="EHV: assign the case-manager agency contact",
    response_model=MatchRead,
    responses=problems(409),
    openapi_extra=documented(ADMIN, sends=(ETAG,)),
)
async def assign_case_manager(
    match: LockedMatch,
    body: EhvCaseManagerAssign,
    actor: Referrer,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> MatchRead:
    """The agency's contact takes over: the agency may see and respond to the match. The
    contact records the outcome, so they are an active account whose role at the agency
    allows `referrals:respond` (else 422 naming `user_id`; nothing is written)."""
    check_if_match(if_match, match.version)
    await svc.assign_ehv_case_manager(
        session, actor, match, body.organization_id, body.user_id, body.note
    )
    return await _answer(session, actor, match, response)
