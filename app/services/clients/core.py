"""Clients: create, read, update, the full-SSN read, lists and history (DOMAIN 3 and 4).

Data quality follows HUD's Universal Data Elements: when a value is given in full its data
quality is derived (1), otherwise the stated data quality is checked against the value (e.g. SSN
quality 1 without an SSN is refused). Every read of a client's PII is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from sqlalchemy import Column, Select, Table, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import NotFound, ValidationFailed
from app.models import AuditEvent, Base, Client, User
from app.models.scoping import ALL_COCS
from app.reference.data_quality import ADULT_AGE, age_on
from app.schemas.clients import (
    RACE_FIELDS,
    ClientCreate,
    ClientHistoryEntry,
    ClientRead,
    ClientSearch,
    ClientSummary,
    ClientUpdate,
    DuplicateCandidate,
)
from app.schemas.pagination import PageParams
from app.services.clients import access as client_access
from app.services.clients import data_quality
from app.services.clients import policy as client_policy
from app.services.clients.search import find_duplicates, name_keys, search_clients
from app.services.clients.ssn import client_ssn, format_ssn, mask_ssn, set_ssn
from app.services.platform import audit
from app.services.platform.crypto import FieldCipher
from app.services.platform.pagination import PageOf, paginate

# Fields copied from the request to the row as they are.
_PLAIN_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "name_suffix",
    "dob",
    *RACE_FIELDS,
    "race_none",
    "additional_race_ethnicity",
    "sex",
    "gender",
    "gender_none",
    "different_identity_text",
    "veteran_status",
    "phone",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "roi_start_date",
    "roi_end_date",
)
_NAME_FIELDS = ("first_name", "middle_name", "last_name", "name_suffix", "name_data_quality")
# What each kind of read shows, as recorded in the audit trail (``pii.read`` on the client).
READ_FIELDS = ["contact", "demographics", "dob", "name", "ssn_masked"]  # the full record
SUMMARY_FIELDS = ["dob", "name", "ssn_masked"]  # a search hit or duplicate candidate
# Free-text demographics: like names, their values stay out of the audit trail (and history).
_SENSITIVE_TEXT = ("additional_race_ethnicity", "different_identity_text")
# Bounds of the ROI dates: a release of information is signed for a few years at most.
ROI_EARLIEST = date(2000, 1, 1)
ROI_YEARS_AHEAD = 5


# --- validation and derivation ------------------------------------------------------------------


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, field=field)


def _name_quality(first: str | None, last: str | None, stated: int | None) -> int:
    if first and last:
        if stated in (None, 1, 2):
            return stated or 1  # 2: a street name or code name is still a name
        raise _fail(
            "name_data_quality",
            f"name_data_quality {stated} contradicts a full name; use 1 (or 2 for a code name).",
        )
    if first or last:
        if stated in (None, 2):
            return 2
        raise _fail(
            "name_data_quality",
            "With only one of first_name/last_name the name is partial: name_data_quality 2.",
        )
    if stated in (1, 2):
        raise _fail(
            "name_data_quality",
            f"name_data_quality {stated} needs a name; give first_name and last_name.",
        )
    return stated if stated is not None else 99


def _ssn_quality(ssn: str | None, stated: int | None) -> int:
    if ssn is None:
        if stated in (1, 2):
            raise _fail("ssn_data_quality", f"ssn_data_quality {stated} needs an ssn.")
        return stated if stated is not None else 99
    if not ssn.isdigit():  # partial: x for unknown digits
        if stated in (None, 2):
            return 2
        raise _fail("ssn_data_quality", "A partial SSN (with x digits) has ssn_data_quality 2.")
    if stated in (None, 1, 2):
        return 1 if stated is None else stated
    raise _fail("ssn_data_quality", f"ssn_data_quality {stated} contradicts a full SSN; use 1.")


def _dob_quality(dob: date | None, stated: int | None) -> int:
    if dob is None:
        if stated in (1, 2):
            raise _fail("dob_data_quality", f"dob_data_quality {stated} needs a dob.")
        return stated if stated is not None else 99
    if stated in (None, 1, 2):
        return stated or 1  # 2: an approximate DOB is still a date
    raise _fail("dob_data_quality", f"dob_data_quality {stated} contradicts a given dob; use 1.")


def roi_latest_end(today: date) -> date:
    """The latest ROI date accepted: ``ROI_YEARS_AHEAD`` years after ``today``."""
    try:
        return today.replace(year=today.year + ROI_YEARS_AHEAD)
    except ValueError:  # 29 February
        return today.replace(year=today.year + ROI_YEARS_AHEAD, day=28)


def check_roi_dates(values: Mapping[str, Any], changed: Collection[str], today: date) -> None:
    """422 when an ROI date being set is before ``ROI_EARLIEST`` or more than
    ``ROI_YEARS_AHEAD`` years after ``today``. Only ``changed`` fields are judged: a date stored
    before these bounds existed does not block an unrelated edit. (That the end is not before
    the start is checked on the whole record, see ``_check_consistency``.)"""
    latest = roi_latest_end(today)
    for name in client_policy.CONSENT_FIELDS:
        value = values.get(name)
        if name not in changed or value is None:
            continue
        if value < ROI_EARLIEST:
            raise _fail(name, f"{name} cannot be before {ROI_EARLIEST.isoformat()}.")
        if value > latest:
            raise _fail(
                name,
                f"{name} cannot be more than {ROI_YEARS_AHEAD} years ahead "
                f"(latest {latest.isoformat()}).",
            )


def _check_consistency(v: dict[str, Any]) -> None:
    """Rules across fields, on the record as it will be stored (mutates derived values)."""
    races = [f for f in RACE_FIELDS if v.get(f)]
    if races and v.get("race_none") is not None:
        raise _fail("race_none", "race_none is only allowed when no race is selected.")
    if not races and v.get("race_none") is None:
        v["race_none"] = 99
    gender = v.get("gender") or []
    if gender and v.get("gender_none") is not None:
        raise _fail("gender_none", "gender_none is only allowed when no gender is selected.")
    if v.get("different_identity_text") and "different_identity" not in gender:
        raise _fail(
            "different_identity_text",
            "different_identity_text needs gender to include different_identity.",
        )
    start, end = v.get("roi_start_date"), v.get("roi_end_date")
    if end is not None and start is None:
        raise _fail("roi_start_date", "roi_end_date needs roi_start_date.")
    if start is not None and end is not None and end < start:
        raise _fail("roi_end_date", "roi_end_date cannot be before roi_start_date.")
    if v.get("veteran_status") is None:
        v["veteran_status"] = 99


def _apply_search_keys(client: Client) -> None:
    first = name_keys(client.first_name)
    last = name_keys(client.last_name)
    client.first_name_norm, client.first_name_key, client.first_name_alt_key = first
    client.last_name_norm, client.last_name_key, client.last_name_alt_key = last


# --- shaping ------------------------------------------------------------------------------------


def client_read(client: Client, today: date, cipher: FieldCipher) -> ClientRead:
    """``today``: the CoC's date (``app.clock.today(actor)``), for ``roi_active``."""
    data = {
        name: getattr(client, name) for name in ClientRead.model_fields if hasattr(client, name)
    }
    data["ssn"] = mask_ssn(client_ssn(client, cipher))
    data["roi_active"] = _roi_active(client, today)
    return ClientRead.model_validate(data)


def formatted_ssn(client: Client, cipher: FieldCipher) -> str | None:
    """The full SSN, ``123-45-6789`` (for the audited full-SSN read only)."""
    return format_ssn(client_ssn(client, cipher))


def client_summary(client: Client, cipher: FieldCipher) -> ClientSummary:
    return ClientSummary(
        id=client.id,
        first_name=client.first_name,
        middle_name=client.middle_name,
        last_name=client.last_name,
        dob=client.dob,
        ssn=mask_ssn(client_ssn(client, cipher)),
        veteran_status=client.veteran_status,
    )


def check_dob(dob: date | None, today: date, field: str = "dob") -> None:
    """A date of birth is not after ``today``, the CoC's date."""
    if dob is not None and dob > today:
        raise ValidationFailed("date of birth cannot be in the future", field=field)


def check_veteran_age(
    veteran_status: int | None, dob: date | None, on: date, field: str = "veteran_status"
) -> None:
    """HUD 3.07: Veteran Status is collected for adults; a client under 18 on ``on`` cannot be
    a veteran (1)."""
    if veteran_status == 1 and dob is not None and age_on(dob, on) < ADULT_AGE:
        raise ValidationFailed(
            f"HUD 3.07: Veteran Status is collected for adults only; a client under {ADULT_AGE} "
            f"(on {on}) cannot be a veteran (1).",
            field=field,
        )


def _roi_active(client: Client, today: date) -> bool:
    start, end = client.roi_start_date, client.roi_end_date
    return start is not None and start <= today and (end is None or end >= today)


def audit_read(
    session: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    fields: list[str] | None = None,
) -> None:
    """Record that ``actor`` saw the client (``fields``: what was shown, the full record by
    default)."""
    audit.record_pii_read(session, actor, "client", client_id, fields=fields or READ_FIELDS)


def _client_columns() -> list[tuple[Table, Column[Any]]]:
    """(table, column) of every table with an ``id`` whose column references a client."""
    found = []
    for table in Base.metadata.sorted_tables:
        if table.name == Client.__tablename__ or "id" not in table.c:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == Client.__tablename__ and fk.column.name == "id":
                found.append((table, fk.parent))
    return found


async def clients_named(session: AsyncSession, ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """The clients among ``ids``, and the clients whose records (enrollments, case
    assignments, documents, ... any table whose rows name a client) are among them."""
    if not ids:
        return set()
    wanted = list(ids)
    parts = [select(Client.id.label("client_id")).where(Client.id.in_(wanted))]
    parts += [
        select(column.label("client_id")).where(table.c.id.in_(wanted))
        for table, column in _client_columns()
    ]
    # In every CoC: a client of another CoC named here must be refused by the caller's
    # visibility check, not taken for an id that names no client.
    rows = await session.scalars(union(*parts).execution_options(**ALL_COCS))
    return {client_id for client_id in rows if client_id is not None}


async def audit_replayed_read(
    session: AsyncSession, actor: Actor, named: Collection[uuid.UUID]
) -> None:
    """An idempotent replay shows a stored response again: 404 unless ``actor`` may still see
    every client among ``named`` (ids found in the response or its path), or whose records are
    among them (a merged id is judged by its survivor); then the replay is recorded as a read of
    each of them."""
    ids = sorted(await clients_named(session, named))
    for client_id in ids:
        survivor = await client_access.resolve_merged(session, client_id)
        if not await client_access.can_see(session, actor, survivor):
            raise NotFound("No such client.")
    for client_id in ids:
        audit.record_pii_read(session, actor, "client", client_id, fields=["replayed_response"])


def _redact_text(changes: dict[str, Any]) -> dict[str, Any]:
    return {k: (audit.REDACTED if k in _SENSITIVE_TEXT else v) for k, v in changes.items()}


# --- create / update ----------------------------------------------------------------------------


def _derive(values: dict[str, Any], stated: dict[str, int | None]) -> dict[str, Any]:
    v = dict(values)
    v["name_data_quality"] = _name_quality(
        v.get("first_name"), v.get("last_name"), stated.get("name_data_quality")
    )
    v["ssn_data_quality"] = _ssn_quality(v.get("ssn"), stated.get("ssn_data_quality"))
    v["dob_data_quality"] = _dob_quality(v.get("dob"), stated.get("dob_data_quality"))
    for flag in RACE_FIELDS:
        v[flag] = bool(v.get(flag))
    _check_consistency(v)
    return v


def _audit_values(v: dict[str, Any]) -> dict[str, Any]:
    """Fields set on create, for the audit trail (PII values are redacted by ``audit``)."""
    out = {k: v.get(k) for k in (*_PLAIN_FIELDS, "ssn") if v.get(k) not in (None, False, [])}
    for dq in ("name_data_quality", "ssn_data_quality", "dob_data_quality"):
        out[dq] = v[dq]
    return out


async def create_client(
    session: AsyncSession,
    actor: Actor,
    data: ClientCreate,
    cipher: FieldCipher,
    *,
    with_duplicates: bool = True,
    field: str = "",
) -> tuple[Client, list[DuplicateCandidate]]:
    """Create a client for the actor's organization; never blocks on a possible duplicate.

    ``with_duplicates``: look for likely duplicates the caller may see (each one returned is
    audited as read, so only ask when the caller is shown them). ``field``: where the client
    sits in the request body (``family_members.0.client``), for the problems' ``loc``."""
    raw = data.model_dump()
    try:
        check_dob(data.dob, clock.today(actor))
        check_roi_dates(raw, client_policy.CONSENT_FIELDS, clock.today(actor))
        stated = {
            k: raw.pop(k) for k in ("name_data_quality", "ssn_data_quality", "dob_data_quality")
        }
        v = _derive(raw, stated)
        check_veteran_age(v.get("veteran_status"), v.get("dob"), clock.today(actor))
    except ValidationFailed as exc:
        if field:
            for err in exc.errors or []:
                err["loc"] = ["body", *field.split("."), *err["loc"][1:]]
        raise
    client = Client(
        id=uuid.uuid4(),
        coc_id=actor.coc_id,
        created_by_organization_id=actor.organization_id,
        created_by_user_id=actor.user_id,
        name_data_quality=v["name_data_quality"],
        ssn_data_quality=v["ssn_data_quality"],
        dob_data_quality=v["dob_data_quality"],
        **{k: v.get(k) for k in _PLAIN_FIELDS},
    )
    set_ssn(client, v.get("ssn"), cipher)
    _apply_search_keys(client)
    session.add(client)
    await session.flush()
    await client_access.grant(session, client.id, actor.organization_id, "created")
    await data_quality.refresh_client(session, client, v.get("ssn"))
    audit.record(
        session, actor, "client.created", "client", client.id, _redact_text(_audit_values(v))
    )
    duplicates = await find_duplicates(session, actor, client, cipher) if with_duplicates else []
    audit_list_read_ids(session, actor, [d.client.id for d in duplicates], SUMMARY_FIELDS)
    await session.flush()
    return client, duplicates


async def update_client(
    session: AsyncSession, actor: Actor, client: Client, data: ClientUpdate, cipher: FieldCipher
) -> Client:
    """Apply ``data`` to the visible ``client``: 403 unless the caller may make these changes
    (``client_policy``), 422 for bad values; nothing is written on refusal."""
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        return client
    await client_policy.check_may_edit(session, actor, client, changes)
    check_roi_dates(changes, client_policy.changed_consent(client, changes), clock.today(actor))
    check_dob(changes.get("dob"), clock.today(actor))
    current: dict[str, Any] = {k: getattr(client, k) for k in _PLAIN_FIELDS}
    current["ssn"] = client_ssn(client, cipher)
    stated: dict[str, int | None] = {}
    groups = {
        "name_data_quality": ("first_name", "last_name"),
        "ssn_data_quality": ("ssn",),
        "dob_data_quality": ("dob",),
    }
    for dq, fields in groups.items():
        if dq in changes:
            stated[dq] = changes.pop(dq)
        elif any(f in changes for f in fields):
            stated[dq] = None  # the value changes: derive its quality again
        else:
            stated[dq] = getattr(client, dq)
    if "race_none" not in changes and any(changes.get(f) for f in RACE_FIELDS):
        current["race_none"] = None  # picking a race replaces "no race"
    if "gender_none" not in changes and changes.get("gender"):
        current["gender_none"] = None
    merged = {**current, **changes}
    v = _derive(merged, stated)
    if "veteran_status" in changes or "dob" in changes:
        check_veteran_age(v.get("veteran_status"), v.get("dob"), clock.today(actor))

    before: dict[str, Any] = {k: getattr(client, k) for k in _PLAIN_FIELDS}
    before.update({k: getattr(client, k) for k in groups})
    before["ssn"] = current["ssn"]
    after = {k: v.get(k) for k in _PLAIN_FIELDS}
    after.update({k: v[k] for k in groups})
    after["ssn"] = v.get("ssn")
    diff = audit.diff(before, after)
    if not diff:
        return client
    for k in _PLAIN_FIELDS:
        setattr(client, k, v.get(k))
    for k in groups:
        setattr(client, k, v[k])
    if "ssn" in diff:
        set_ssn(client, v.get("ssn"), cipher)
    if any(k in diff for k in _NAME_FIELDS):
        _apply_search_keys(client)
    await session.flush()
    if "ssn" in diff or "dob" in diff:
        await data_quality.refresh_client(session, client, v.get("ssn"))
    audit.record(session, actor, "client.updated", "client", client.id, _redact_text(diff))
    return client


# --- reads --------------------------------------------------------------------------------------


async def get_client(session: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client:
    """The visible client (a merged id resolves to its survivor); the read is audited."""
    client = await client_access.get_visible_client(session, actor, client_id)
    audit_read(session, actor, client.id)
    return client


async def read_full_ssn(session: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client:
    client = await client_access.get_visible_client(session, actor, client_id)
    audit.record_pii_read(
        session, actor, "client", client.id, fields=["ssn"], action="client.ssn_read"
    )
    return client


def visible_clients_stmt(actor: Actor) -> Select[Client]:
    """Clients the actor may see, merged records left out."""
    return select(Client).where(
        client_access.visible_clients_filter(actor), Client.merged_into_id.is_(None)
    )


async def list_clients(
    session: AsyncSession, actor: Actor, page: PageParams, cipher: FieldCipher
) -> PageOf[ClientRead]:
    """Clients the actor may see, newest first (merged records left out); the page is audited
    as one read of the clients shown."""
    rows = await paginate(
        session,
        visible_clients_stmt(actor),
        page,
        [Client.created_at, Client.id],
        descending=True,
    )
    audit_list_read(session, actor, rows.items)
    today = clock.today(actor)
    return rows.map(lambda c: client_read(c, today, cipher))


async def find_clients(
    session: AsyncSession, actor: Actor, query: ClientSearch, cipher: FieldCipher
) -> list[dict[str, Any]]:
    """Find client (``search.search_clients``: plain data in the shape of ``ClientSearchHit``);
    the hits shown are audited as one read."""
    hits = await search_clients(session, actor, query, cipher)
    await audit.write_pii_reads(
        session, actor, [h["client"]["id"] for h in hits], fields=SUMMARY_FIELDS
    )
    return hits


def audit_list_read(session: AsyncSession, actor: Actor, clients: list[Client]) -> None:
    """A page of full records (the client list): one read event listing the clients shown."""
    audit_list_read_ids(session, actor, [c.id for c in clients], READ_FIELDS)


def audit_list_read_ids(
    session: AsyncSession, actor: Actor, ids: list[uuid.UUID], fields: list[str] | None = None
) -> None:
    """One read event listing the clients shown (``subject_ids``, in order); ``fields`` what
    was shown (default: search-hit summaries)."""
    audit.record_pii_reads(session, actor, ids, fields=fields or SUMMARY_FIELDS)


# --- history ------------------------------------------------------------------------------------


async def merged_ids(session: AsyncSession, client_id: uuid.UUID) -> list[uuid.UUID]:
    """The client and every record merged into it (transitively)."""
    ids = [client_id]
    frontier = [client_id]
    while frontier:
        found = list(
            await session.scalars(select(Client.id).where(Client.merged_into_id.in_(frontier)))
        )
        found = [i for i in found if i not in ids]
        ids.extend(found)
        frontier = found
    return ids


async def client_history(
    session: AsyncSession, actor: Actor, client_id: uuid.UUID, page: PageParams
) -> PageOf[ClientHistoryEntry]:
    """Who changed the (visible; the read is audited) client's record and the records merged
    into it, and how, newest first; reads are not listed."""
    client = await get_client(session, actor, client_id)
    ids = await merged_ids(session, client.id)
    rows = await paginate(
        session, history_stmt(ids), page, [AuditEvent.occurred_at, AuditEvent.id], descending=True
    )
    names = await actor_names(session, rows.items)
    return rows.map(
        lambda e: ClientHistoryEntry(
            id=e.id,
            occurred_at=e.occurred_at,
            action=e.action,
            client_id=e.entity_id,
            actor_user_id=e.actor_user_id,
            actor_name=names.get(e.actor_user_id) if e.actor_user_id else None,
            acting_organization_id=e.acting_organization_id,
            changes=e.changes,
        )
    )


def history_stmt(ids: list[uuid.UUID]) -> Select[AuditEvent]:
    """Changes to the client's record(s): everything in the audit trail except reads."""
    return select(AuditEvent).where(
        AuditEvent.entity_type == "client",
        AuditEvent.entity_id.in_(ids),
        AuditEvent.action.not_in(("pii.read", "client.ssn_read")),
    )


async def actor_names(session: AsyncSession, events: list[AuditEvent]) -> dict[uuid.UUID, str]:
    ids = {e.actor_user_id for e in events if e.actor_user_id is not None}
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.full_name).where(User.id.in_(ids)))
    return {row.id: row.full_name for row in rows}
