"""Document Check and Client Files (DOMAIN 6): rules, storage of uploads, expiry, purge.

Who sees what (DOMAIN 3):

* **Document Check** (homelessness / disability verification, often medical): users acting in
  the shared CAS organization and admins (``system_admin``, ``cas_admin``), for clients they can
  see. Everyone else gets a 404: the collection is not theirs and its size is never revealed.
* **Client Files** (IDs, Social Security card, ...): whoever can see the client.

Uploads are streamed: the file is read in chunks, its type detected from the first bytes (415),
its size counted (413), hashed (SHA-256) and encrypted into the file store as it goes. An upload
is checked in steps (``upload_client``, then ``check_*`` - possibly twice, on the fields received
before the file and on all of them - then ``store_upload`` and ``add_*``). The bytes are stored
under a random key before the row is written; the upload routes delete them again unless the
transaction is committed, and ``sweep_orphans`` removes what a crash may leave behind.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import quote

from sqlalchemy import ColumnElement, Select, and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.config import Settings
from app.context import Actor
from app.errors import (
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from app.models import Client
from app.models.documents import ClientFile, DocumentCheck, DocumentTypeOption
from app.reference.documents import CHECKLIST
from app.schemas.documents import (
    ChecklistUpdate,
    ClientFileForm,
    ClientFileRead,
    DocumentCheckForm,
    DocumentCheckRead,
    StoredFileRead,
)
from app.schemas.pagination import PageParams
from app.security import utcnow
from app.services.clients import access as client_access
from app.services.clients import contacts
from app.services.clients import policy as client_policy
from app.services.documents import file_types
from app.services.documents.policy import can_delete_document, can_use_document_check
from app.services.platform import audit
from app.services.platform import events as notifications
from app.services.platform.pagination import PageOf, paginate
from app.storage import CHUNK_SIZE, FileStore, ObjectMissing

# --- the checklist ------------------------------------------------------------------------------

ITEM_LABELS: dict[tuple[str, str], str] = {
    ("homeless", "housing_status"): "Housing Status",
    ("homeless", "identity"): "Identity",
    ("homeless", "homeless"): "Homeless",
    ("disability", "disability"): "Disability",
}

# Sensible defaults (HUD's recordkeeping guidance for documenting homelessness and disability);
# a CoC replaces them item by item through ``replace_checklist``.
DEFAULT_DOCUMENT_TYPES: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("homeless", "housing_status"): [
        ("hmis_record", "HMIS or comparable database record"),
        ("third_party_letter", "Third-party verification letter"),
        ("outreach_observation", "Street outreach worker observation"),
        ("shelter_letter", "Emergency shelter or safe haven letter"),
        ("institution_discharge", "Institution discharge paperwork"),
        ("self_certification", "Self-certification"),
    ],
    ("homeless", "identity"): [
        ("photo_id", "Government-issued photo ID"),
        ("drivers_license", "Driver's license"),
        ("passport", "Passport"),
        ("birth_certificate", "Birth certificate"),
        ("social_security_card", "Social Security card"),
        ("military_id", "Military ID or DD-214"),
        ("tribal_id", "Tribal ID"),
        ("other_id", "Other identification"),
    ],
    ("homeless", "homeless"): [
        ("hmis_record", "HMIS or comparable database record"),
        ("third_party_letter", "Third-party verification letter"),
        ("outreach_observation", "Street outreach worker observation"),
        ("shelter_stay_record", "Shelter stay record"),
        ("institution_discharge", "Institution discharge paperwork"),
        ("self_certification", "Self-certification"),
    ],
    ("disability", "disability"): [
        ("disability_letter", "Disability Letter"),
        ("ssi_awards_letter", "SSI Awards Letter"),
    ],
}


def requires_file_and_comment(category: str) -> bool:
    """Verification of disability needs the file and a comment (DOMAIN 6)."""
    return category == "disability"


@dataclass
class ChecklistItem:
    category: str
    item: str
    label: str
    file_required: bool
    comment_required: bool
    customized: bool
    document_types: list[dict[str, str]]


async def checklist(session: AsyncSession, coc_id: uuid.UUID) -> list[ChecklistItem]:
    rows = (
        await session.scalars(
            select(DocumentTypeOption)
            .where(DocumentTypeOption.coc_id == coc_id)
            .order_by(DocumentTypeOption.sort_order, DocumentTypeOption.code)
        )
    ).all()
    custom: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        custom.setdefault((row.category, row.item), []).append(
            {"code": row.code, "label": row.label}
        )
    items = []
    for category, names in CHECKLIST.items():
        for item in names:
            key = (category, item)
            types = custom.get(key) or [
                {"code": c, "label": label} for c, label in DEFAULT_DOCUMENT_TYPES[key]
            ]
            items.append(
                ChecklistItem(
                    category=category,
                    item=item,
                    label=ITEM_LABELS[key],
                    file_required=requires_file_and_comment(category),
                    comment_required=requires_file_and_comment(category),
                    customized=key in custom,
                    document_types=types,
                )
            )
    return items


async def acceptable_types(
    session: AsyncSession, coc_id: uuid.UUID, category: str, item: str
) -> dict[str, str]:
    """code -> label of the document types acceptable for the item in this CoC."""
    rows = (
        await session.execute(
            select(DocumentTypeOption.code, DocumentTypeOption.label).where(
                DocumentTypeOption.coc_id == coc_id,
                DocumentTypeOption.category == category,
                DocumentTypeOption.item == item,
            )
        )
    ).all()
    if rows:
        return {code: label for code, label in rows}
    return dict(DEFAULT_DOCUMENT_TYPES.get((category, item), []))


async def replace_checklist(
    session: AsyncSession, actor: Actor, data: ChecklistUpdate
) -> list[ChecklistItem]:
    """Replace the acting CoC's document types; items not given go back to the defaults."""
    items = data.items
    seen: set[tuple[str, str]] = set()
    errors: list[dict[str, Any]] = []
    for index, entry in enumerate(items):
        key = (entry.category, entry.item)
        if entry.item not in CHECKLIST.get(entry.category, ()):
            errors.append(_error(f"items.{index}.item", "Not an item of this category."))
        if key in seen:
            errors.append(_error(f"items.{index}", "The item is listed twice."))
        seen.add(key)
        codes = [t.code for t in entry.document_types]
        if len(set(codes)) != len(codes):
            errors.append(_error(f"items.{index}.document_types", "Codes must be unique."))
    if errors:
        raise ValidationFailed("The checklist is not valid; see errors.", errors=errors)
    await session.execute(
        delete(DocumentTypeOption).where(DocumentTypeOption.coc_id == actor.coc_id)
    )
    for entry in items:
        for order, option in enumerate(entry.document_types):
            session.add(
                DocumentTypeOption(
                    id=uuid.uuid4(),
                    coc_id=actor.coc_id,
                    category=entry.category,
                    item=entry.item,
                    code=option.code,
                    label=option.label,
                    sort_order=order,
                )
            )
    await session.flush()
    audit.record(
        session,
        actor,
        "document_checklist.update",
        "coc",
        actor.coc_id,
        {"items": [f"{e.category}.{e.item}" for e in items]},
    )
    return await checklist(session, actor.coc_id)


# --- access -------------------------------------------------------------------------------------


def _require_document_check(actor: Actor) -> None:
    if not can_use_document_check(actor):
        # Not 403: the client may exist, but this collection is not the caller's to know about.
        raise NotFound("Not found.")


def audit_client_read(session: AsyncSession, actor: Actor, client_id: uuid.UUID, what: str) -> None:
    """Document metadata is client data (comments often name a hospital or a shelter): every
    read is recorded as a read of the client, like the client record itself."""
    audit.record_pii_read(session, actor, "client", client_id, fields=[what])


def _can_delete(actor: Actor, uploaded_by_organization_id: uuid.UUID) -> None:
    if not can_delete_document(actor, uploaded_by_organization_id):
        raise Forbidden("Only the uploading organization or an admin may delete this document.")


# --- uploads ------------------------------------------------------------------------------------


class ByteReader(Protocol):
    async def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes; ``b""`` only at the end."""
        ...


@dataclass
class UploadSource:
    """The file part of a multipart request: read in chunks, never as a whole."""

    reader: ByteReader
    filename: str | None = None
    content_type: str | None = None  # as the part declared it; the stored type is sniffed


@dataclass
class StoredUpload:
    key: str
    content_type: str
    size_bytes: int
    sha256: str
    original_filename: str | None


@dataclass
class UploadPolicy:
    max_bytes: int
    allowed_types: list[str] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: Settings) -> UploadPolicy:
        return cls(settings.max_upload_bytes, list(settings.allowed_upload_types))


def clean_filename(name: str | None) -> str | None:
    """The uploader's file name as metadata: last path segment, no control characters."""
    if not name:
        return None
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    return name[:255] or None


async def store_upload(
    store: FileStore, source: UploadSource, policy: UploadPolicy
) -> StoredUpload:
    """Stream ``source`` into the store: 422 empty, 415 not an allowed type, 413 too large."""
    check_file_part(source, policy)
    head = await source.reader.read(CHUNK_SIZE)
    if not head:
        raise ValidationFailed("The file is empty.", field="file")
    while len(head) < file_types.SNIFF_BYTES:
        more = await source.reader.read(CHUNK_SIZE)
        if not more:
            break
        head += more
    content_type = file_types.allowed_type(head, policy.allowed_types)
    if content_type is None:
        raise UnsupportedMediaType(
            "The file's content is not an accepted type "
            f"({file_types.describe(policy.allowed_types)}); the type is read from the file's "
            "bytes, not its name."
        )
    digest = hashlib.sha256()
    size = 0

    async def plaintext() -> AsyncIterator[bytes]:
        nonlocal size
        chunk = head
        while chunk:
            size += len(chunk)
            if size > policy.max_bytes:
                raise _too_large(policy)
            digest.update(chunk)
            yield chunk
            chunk = await source.reader.read(CHUNK_SIZE)

    key = await store.save(plaintext())
    return StoredUpload(
        key=key,
        content_type=content_type,
        size_bytes=size,
        sha256=digest.hexdigest(),
        original_filename=clean_filename(source.filename),
    )


def check_file_part(source: UploadSource, policy: UploadPolicy) -> None:
    """A file arrives as a file part: with a file name (422 otherwise) and not declared as text
    (415). A client that sends the file as a text field may have re-encoded its bytes (a
    generated client sending a PDF as UTF-8 text, say), so nothing is read from such a part."""
    if not source.filename:
        raise ValidationFailed(
            "The file must be sent as a file part, with a file name "
            '(Content-Disposition: form-data; name="file"; filename="...").',
            field="file",
        )
    declared = (source.content_type or "").split(";")[0].strip().lower()
    if declared.startswith("text/") and declared not in policy.allowed_types:
        raise UnsupportedMediaType(
            f"The file part was sent as {declared}; send its bytes unchanged, declared as the "
            "file's type (or application/octet-stream)."
        )


def _too_large(policy: UploadPolicy) -> PayloadTooLarge:
    return PayloadTooLarge(f"The file exceeds the upload limit of {policy.max_bytes} bytes.")


def _error(field_path: str, msg: str) -> dict[str, Any]:
    return {"loc": ["body", *field_path.split(".")], "msg": msg, "type": "value_error"}


def storable_text(value: str) -> bool:
    """Text PostgreSQL can store: no NUL, valid Unicode (no lone surrogates)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(value: str | None, field_name: str, errors: list[dict[str, Any]]) -> str | None:
    value = (value or "").strip() or None
    if value is not None and not storable_text(value):
        errors.append(_error(field_name, "The text contains characters that cannot be stored."))
        return None
    return value


def _check_dates(
    errors: list[dict[str, Any]],
    today: date,
    issuance: date | None,
    expiration: date | None,
    verification: date | None = None,
) -> None:
    if verification is not None and verification > today:
        errors.append(_error("verification_date", "The verification date cannot be in the future."))
    if issuance is not None and issuance > today:
        errors.append(_error("issuance_date", "The issuance date cannot be in the future."))
    if issuance is not None and expiration is not None and expiration < issuance:
        errors.append(_error("expiration_date", "The expiration date is before the issuance date."))


def _raise(errors: list[dict[str, Any]], only: Collection[str] | None = None) -> None:
    """422 for ``errors``; with ``only``, just the errors about those fields (the others may
    still be corrected by fields not received yet)."""
    if only is not None:
        errors = [e for e in errors if len(e["loc"]) > 1 and e["loc"][1] in only]
    if errors:
        detail = errors[0]["msg"] if len(errors) == 1 else "Invalid fields; see errors."
        raise ValidationFailed(detail, errors=errors)


def _file_columns(stored: StoredUpload | None) -> dict[str, Any]:
    if stored is None:
        return {}
    return {
        "storage_key": stored.key,
        "content_type": stored.content_type,
        "size_bytes": stored.size_bytes,
        "sha256": stored.sha256,
        "original_filename": stored.original_filename,
    }


async def _record_upload(
    session: AsyncSession,
    actor: Actor,
    row: DocumentCheck | ClientFile,
    *,
    entity_type: str,
    changes: dict[str, Any],
) -> None:
    """Insert the row, the contact, the audit record and the notification event. The caller
    deletes the stored bytes if the transaction is not committed (the upload routes register
    that with ``app.unit_of_work.on_rollback``), so no orphan is left."""
    session.add(row)
    await session.flush()
    # An upload is a contact: it keeps the client active on the queue.
    await contacts.record_contact(session, row.client_id)
    audit.record(session, actor, f"{entity_type}.create", entity_type, row.id, changes)
    notifications.emit(
        session,
        actor,
        notifications.DOCUMENT_UPLOADED,
        entity_type=entity_type,
        entity_id=row.id,
        client_id=row.client_id,
        data={k: changes[k] for k in _EVENT_FIELDS if k in changes},
    )
    await session.flush()


_EVENT_FIELDS = ("category", "item", "document_type", "file_type", "has_file")


# --- reads --------------------------------------------------------------------------------------


def _stored(row: DocumentCheck | ClientFile, path: str) -> StoredFileRead | None:
    if row.storage_key is None or row.content_type is None or row.size_bytes is None:
        return None
    return StoredFileRead(
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256 or "",
        original_filename=row.original_filename,
        download_path=path,
    )


def _expired(expiration: date | None, today: date) -> bool:
    return expiration is not None and expiration < today


def document_check_read(doc: DocumentCheck, today: date) -> DocumentCheckRead:
    """``today``: the CoC's date, for ``expired``."""
    return DocumentCheckRead.model_validate(
        {
            **{k: getattr(doc, k) for k in DocumentCheckRead.model_fields if hasattr(doc, k)},
            "expired": _expired(doc.expiration_date, today),
            "file": _stored(doc, f"/api/v1/document-checks/{doc.id}/file"),
        }
    )


def client_file_read(row: ClientFile, today: date) -> ClientFileRead:
    return ClientFileRead.model_validate(
        {
            **{k: getattr(row, k) for k in ClientFileRead.model_fields if hasattr(row, k)},
            "expired": _expired(row.expiration_date, today),
            "file": _stored(row, f"/api/v1/client-files/{row.id}/file"),
        }
    )


# --- Document Check -----------------------------------------------------------------------------


async def upload_client(
    session: AsyncSession, actor: Actor, client_id: uuid.UUID, *, document_check: bool
) -> Client:
    """The client an upload is for: 404 unless the caller can see it (and, for Document Check,
    acts for the CAS organization or is an admin); 403 unless it may add to the client's record
    (an upload keeps the client active on the queue): an organization linked to the client or
    an admin, not the release of information alone. Checked before the upload is read."""
    if document_check:
        _require_document_check(actor)
    client = await client_access.get_visible_client(session, actor, client_id)
    await client_policy.check_may_change(session, actor, client)
    return client


@dataclass(frozen=True)
class DocumentCheckValues:
    """A Document Check item as it will be recorded (``check_document_check``)."""

    category: str
    item: str
    document_type: str
    document_type_label: str | None
    comments: str | None
    verification_date: date
    issuance_date: date | None
    expiration_date: date | None
    period_start: date | None = None
    period_end: date | None = None


# Items whose documents show homelessness over a period (Identity does not).
PERIOD_ITEMS = frozenset({("homeless", "homeless"), ("homeless", "housing_status")})


def _check_period(
    errors: list[dict[str, Any]],
    today: date,
    category: str,
    item: str,
    start: date | None,
    end: date | None,
) -> None:
    if start is None and end is None:
        return
    if (category, item) not in PERIOD_ITEMS:
        errors.append(
            _error(
                "period_start" if start is not None else "period_end",
                "A period is recorded only for documentation of homelessness "
                "(items homeless and housing_status).",
            )
        )
    elif start is None or end is None:
        missing = "period_start" if start is None else "period_end"
        errors.append(_error(missing, "period_start and period_end are given together."))
    elif start > end:
        errors.append(_error("period_end", "The period ends before it starts."))
    elif end > today:
        errors.append(_error("period_end", "The period cannot end in the future."))


async def check_document_check(
    session: AsyncSession,
    actor: Actor,
    form: DocumentCheckForm,
    *,
    has_file: bool,
    only: Collection[str] | None = None,
) -> DocumentCheckValues:
    """The values to record (comments cleaned, verification date defaulted, the document type's
    label) or 422. With ``only`` (fields received so far, while the upload is still arriving),
    just the errors about those fields are raised and the values are not final."""
    today = clock.today(actor)
    category, item = form.category, form.item
    errors: list[dict[str, Any]] = []
    comments = _text(form.comments, "comments", errors)
    verification = form.verification_date or today
    label: str | None = None
    if item not in CHECKLIST.get(category, ()):
        errors.append(
            _error(
                "item",
                f"'{item}' is not an item of the {category} checklist "
                f"(items: {', '.join(CHECKLIST.get(category, ()))}).",
            )
        )
    else:
        types = await acceptable_types(session, actor.coc_id, category, item)
        label = types.get(form.document_type)
        if label is None:
            errors.append(
                _error(
                    "document_type",
                    f"Not an acceptable document for {category}/{item} "
                    f"(acceptable: {', '.join(types)}).",
                )
            )
    if requires_file_and_comment(category):
        if not has_file:
            errors.append(_error("file", "Verification of disability requires the file."))
        if comments is None:
            errors.append(_error("comments", "Verification of disability requires a comment."))
    _check_dates(errors, today, form.issuance_date, form.expiration_date, verification)
    _check_period(errors, today, category, item, form.period_start, form.period_end)
    _raise(errors, only)
    return DocumentCheckValues(
        category=category,
        item=item,
        document_type=form.document_type,
        document_type_label=label,
        comments=comments,
        verification_date=verification,
        issuance_date=form.issuance_date,
        expiration_date=form.expiration_date,
        period_start=form.period_start,
        period_end=form.period_end,
    )


async def add_document_check(
    session: AsyncSession,
    actor: Actor,
    client: Client,
    values: DocumentCheckValues,
    stored: StoredUpload | None,
) -> DocumentCheck:
    """Record the item (``values`` from ``check_document_check``) with its stored file."""
    doc = DocumentCheck(
        id=uuid.uuid4(),
        coc_id=client.coc_id,
        client_id=client.id,
        **asdict(values),
        uploaded_by_user_id=actor.user_id,
        uploaded_by_organization_id=actor.organization_id,
        **_file_columns(stored),
    )
    await _record_upload(
        session,
        actor,
        doc,
        entity_type="document_check",
        changes={
            "client_id": client.id,
            "category": doc.category,
            "item": doc.item,
            "document_type": doc.document_type,
            "comments": doc.comments,
            "period_start": doc.period_start,
            "period_end": doc.period_end,
            "has_file": stored is not None,
            "sha256": stored.sha256 if stored else None,
            "original_filename": stored.original_filename if stored else None,
        },
    )
    return doc


def _expired_clause(column: Any, expired: bool, today: date) -> ColumnElement[bool]:
    if expired:
        return and_(column.is_not(None), column < today)
    return or_(column.is_(None), column >= today)


async def document_checks_stmt(
    session: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    *,
    category: str | None = None,
    item: str | None = None,
    expired: bool | None = None,
) -> Select[DocumentCheck]:
    _require_document_check(actor)
    client = await client_access.get_visible_client(session, actor, client_id)
    audit_client_read(session, actor, client.id, "document_checks")
    stmt = select(DocumentCheck).where(
        DocumentCheck.coc_id == client.coc_id,
        DocumentCheck.client_id == client.id,
        DocumentCheck.deleted_at.is_(None),
    )
    if category is not None:
        stmt = stmt.where(DocumentCheck.category == category)
    if item is not None:
        stmt = stmt.where(DocumentCheck.item == item)
    if expired is not None:
        stmt = stmt.where(
            _expired_clause(DocumentCheck.expiration_date, expired, clock.today(actor))
        )
    return stmt


async def list_document_checks(
    session: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    page: PageParams,
    *,
    category: str | None = None,
    item: str | None = None,
    expired: bool | None = None,
) -> PageOf[DocumentCheckRead]:
    """The client's Document Check history, newest first (the read is audited)."""
    stmt = await document_checks_stmt(
        session, actor, client_id, category=category, item=item, expired=expired
    )
    rows = await paginate(
        session, stmt, page, [DocumentCheck.created_at, DocumentCheck.id], descending=True
    )
    today = clock.today(actor)
    return rows.map(lambda r: document_check_read(r, today))


async def get_document_check(
    session: AsyncSession, actor: Actor, document_check_id: uuid.UUID
) -> DocumentCheck:
    _require_document_check(actor)
    return await _visible_document(
        session, actor, DocumentCheck, document_check_id, "document check", "document_checks"
    )


DocumentT = TypeVar("DocumentT", DocumentCheck, ClientFile)


async def _visible_document(
    session: AsyncSession,
    actor: Actor,
    model: type[DocumentT],
    document_id: uuid.UUID,
    label: str,
    collection: str,
) -> DocumentT:
    """A live document of the actor's CoC whose client the actor may see (else 404); the read
    is audited against the client."""
    row = await session.scalar(
        select(model).where(
            model.id == document_id,
            model.coc_id == actor.coc_id,
            model.deleted_at.is_(None),
        )
    )
    if row is None or not await client_access.can_see(session, actor, row.client_id):
        raise NotFound(f"No such {label}.")
    audit_client_read(session, actor, row.client_id, collection)
    return row


async def _soft_delete_and_audit(
    session: AsyncSession,
    actor: Actor,
    row: DocumentCheck | ClientFile,
    entity_type: str,
    changes: dict[str, Any],
) -> None:
    _can_delete(actor, row.uploaded_by_organization_id)
    _soft_delete(actor, row)
    await session.flush()
    audit.record(session, actor, f"{entity_type}.delete", entity_type, row.id, changes)


async def delete_document_check(session: AsyncSession, actor: Actor, doc: DocumentCheck) -> None:
    await _soft_delete_and_audit(
        session,
        actor,
        doc,
        "document_check",
        {"client_id": doc.client_id, "category": doc.category, "item": doc.item},
    )


# --- Client Files -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientFileValues:
    """A Client File as it will be recorded (``check_client_file``)."""

    file_type: str
    description: str | None
    issuance_date: date | None
    expiration_date: date | None


def check_client_file(
    form: ClientFileForm, today: date, *, only: Collection[str] | None = None
) -> ClientFileValues:
    """The values to record (description cleaned) or 422; ``today`` is the CoC's date; ``only``
    as in ``check_document_check``."""
    errors: list[dict[str, Any]] = []
    description = _text(form.description, "description", errors)
    _check_dates(errors, today, form.issuance_date, form.expiration_date)
    _raise(errors, only)
    return ClientFileValues(
        file_type=form.file_type,
        description=description,
        issuance_date=form.issuance_date,
        expiration_date=form.expiration_date,
    )


async def add_client_file(
    session: AsyncSession,
    actor: Actor,
    client: Client,
    values: ClientFileValues,
    stored: StoredUpload,
) -> ClientFile:
    """Record the file (``values`` from ``check_client_file``)."""
    row = ClientFile(
        id=uuid.uuid4(),
        coc_id=client.coc_id,
        client_id=client.id,
        **asdict(values),
        uploaded_by_user_id=actor.user_id,
        uploaded_by_organization_id=actor.organization_id,
        **_file_columns(stored),
    )
    await _record_upload(
        session,
        actor,
        row,
        entity_type="client_file",
        changes={
            "client_id": client.id,
            "file_type": row.file_type,
            "description": row.description,
            "has_file": True,
            "sha256": stored.sha256,
            "original_filename": stored.original_filename,
        },
    )
    return row


async def client_files_stmt(
    session: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    *,
    file_type: str | None = None,
    expired: bool | None = None,
) -> Select[ClientFile]:
    client = await client_access.get_visible_client(session, actor, client_id)
    audit_client_read(session, actor, client.id, "client_files")
    stmt = select(ClientFile).where(
        ClientFile.coc_id == client.coc_id,
        ClientFile.client_id == client.id,
        ClientFile.deleted_at.is_(None),
    )
    if file_type is not None:
        stmt = stmt.where(ClientFile.file_type == file_type)
    if expired is not None:
        stmt = stmt.where(_expired_clause(ClientFile.expiration_date, expired, clock.today(actor)))
    return stmt


async def list_client_files(
    session: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    page: PageParams,
    *,
    file_type: str | None = None,
    expired: bool | None = None,
) -> PageOf[ClientFileRead]:
    """The client's files, newest first (the read is audited)."""
    stmt = await client_files_stmt(session, actor, client_id, file_type=file_type, expired=expired)
    rows = await paginate(
        session, stmt, page, [ClientFile.created_at, ClientFile.id], descending=True
    )
    today = clock.today(actor)
    return rows.map(lambda r: client_file_read(r, today))


async def get_client_file(
    session: AsyncSession, actor: Actor, client_file_id: uuid.UUID
) -> ClientFile:
    return await _visible_document(
        session, actor, ClientFile, client_file_id, "client file", "client_files"
    )


async def delete_client_file(session: AsyncSession, actor: Actor, row: ClientFile) -> None:
    await _soft_delete_and_audit(
        session,
        actor,
        row,
        "client_file",
        {"client_id": row.client_id, "file_type": row.file_type},
    )


# --- downloads ----------------------------------------------------------------------------------


@dataclass
class Download:
    chunks: AsyncIterator[bytes]
    content_type: str
    size_bytes: int
    content_disposition: str


async def download(
    session: AsyncSession,
    actor: Actor,
    store: FileStore,
    row: DocumentCheck | ClientFile,
    entity_type: str,
) -> Download:
    """Open the decrypted file for streaming and audit the download."""
    if row.storage_key is None or row.content_type is None or row.size_bytes is None:
        raise NotFound("This document has no file.")
    if not await store.exists(row.storage_key):
        raise NotFound("The file is no longer available.")
    # Who downloaded which client's document: the client is named so the client's reads can be
    # found in one place.
    audit.record(
        session, actor, "document.download", entity_type, row.id, {"client_id": row.client_id}
    )
    stem = entity_type.replace("_", "-")
    return Download(
        chunks=_guarded(store.open(row.storage_key)),
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        content_disposition=content_disposition(row.original_filename, row.content_type, stem),
    )


async def _guarded(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield chunk
    except ObjectMissing:
        raise NotFound("The file is no longer available.")


_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._ ()\-]+")


def content_disposition(original: str | None, content_type: str, fallback: str) -> str:
    """``attachment`` with an ASCII ``filename`` and an RFC 6266/5987 ``filename*``.

    The name is the uploader's (cleaned) with the extension of the detected type, so a file
    named ``x.html`` that is really a PDF downloads as ``x.pdf``.
    """
    ext = file_types.extension_for(content_type)
    name = clean_filename(original) or fallback
    stem = name
    if "." in name:
        stem = name.rsplit(".", 1)[0] or fallback
    stem = stem[:120]
    unicode_name = f"{stem}{ext}"
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = _UNSAFE_ASCII.sub("_", ascii_stem).strip(" ._") or fallback
    ascii_name = f"{ascii_stem}{ext}"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(unicode_name, safe='')}"


def _soft_delete(actor: Actor, row: DocumentCheck | ClientFile) -> None:
    row.deleted_at = utcnow()
    row.deleted_by_user_id = actor.user_id
    row.deleted_by_organization_id = actor.organization_id


# --- summary ------------------------------------------------------------------------------------


async def document_summary(
    session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> dict[str, Any]:
    _require_document_check(actor)
    client = await client_access.get_visible_client(session, actor, client_id)
    audit_client_read(session, actor, client.id, "document_summary")
    return (await summaries_for_clients(session, [client.id], clock.today(actor)))[client.id]


async def summaries_for_clients(
    session: AsyncSession, client_ids: Sequence[uuid.UUID], today: date
) -> dict[uuid.UUID, dict[str, Any]]:
    """Which checklist items and client files are on file, current or expired, per client.

    For callers that already decided the clients are visible (e.g. the queue's "documents on
    file" column); one query per collection for the whole list.
    """
    ids = list(client_ids)
    checks = (
        await session.execute(
            select(
                DocumentCheck.client_id,
                DocumentCheck.category,
                DocumentCheck.item,
                DocumentCheck.document_type,
                DocumentCheck.verification_date,
                DocumentCheck.expiration_date,
            ).where(DocumentCheck.client_id.in_(ids), DocumentCheck.deleted_at.is_(None))
        )
    ).all()
    files = (
        await session.execute(
            select(ClientFile.client_id, ClientFile.file_type, ClientFile.expiration_date).where(
                ClientFile.client_id.in_(ids), ClientFile.deleted_at.is_(None)
            )
        )
    ).all()

    def is_current(expiration: date | None) -> bool:
        return expiration is None or expiration >= today

    out: dict[uuid.UUID, dict[str, Any]] = {}
    for client_id in ids:
        items = []
        for category, names in CHECKLIST.items():
            for item in names:
                rows = [
                    r for r in checks if r[0] == client_id and r[1] == category and r[2] == item
                ]
                current = [r for r in rows if is_current(r[5])]
                items.append(
                    {
                        "category": category,
                        "item": item,
                        "on_file": bool(rows),
                        "current": bool(current),
                        "expired": bool(rows) and not current,
                        "document_types": sorted({r[3] for r in rows}),
                        "latest_verification_date": max((r[4] for r in rows), default=None),
                        "next_expiration_date": min(
                            (r[5] for r in current if r[5] is not None), default=None
                        ),
                    }
                )
        by_type: dict[str, list[date | None]] = {}
        for f in files:
            if f[0] == client_id:
                by_type.setdefault(f[1], []).append(f[2])
        file_summaries = []
        for file_type in sorted(by_type):
            current_dates = [d for d in by_type[file_type] if is_current(d)]
            file_summaries.append(
                {
                    "file_type": file_type,
                    "current": bool(current_dates),
                    "expired": not current_dates,
                    "next_expiration_date": min(
                        (d for d in current_dates if d is not None), default=None
                    ),
                }
            )
        out[client_id] = {
            "client_id": client_id,
            "as_of": today,
            "homelessness_documented": all(
                i["current"] for i in items if i["category"] == "homeless"
            ),
            "disability_verified": any(
                i["current"] for i in items if i["category"] == "disability"
            ),
            "document_checks": items,
            "client_files": file_summaries,
        }
    return out


_DOCUMENT_MODELS: tuple[type[DocumentCheck] | type[ClientFile], ...] = (DocumentCheck, ClientFile)


# --- retention ----------------------------------------------------------------------------------


async def purge_deleted(
    session: AsyncSession,
    store: FileStore,
    now: datetime | None = None,
    *,
    retention_days: int,
) -> int:
    """Remove the bytes of documents soft-deleted more than ``retention_days`` ago.

    The rows stay (with ``purged_at``) as the record of what existed. Returns how many files
    were purged. Safe to re-run: deleting bytes that are already gone is not an error.
    """
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    purged = 0
    for model in _DOCUMENT_MODELS:
        rows = (
            await session.scalars(
                select(model)
                .where(
                    model.deleted_at.is_not(None),
                    model.deleted_at < cutoff,
                    model.purged_at.is_(None),
                )
                .with_for_update(skip_locked=True)
            )
        ).all()
        for row in cast("Sequence[DocumentCheck | ClientFile]", rows):
            if row.storage_key is not None:
                await store.delete(row.storage_key)
                purged += 1
            row.purged_at = now
    await session.flush()
    return purged


async def sweep_orphans(
    session: AsyncSession,
    store: FileStore,
    now: datetime | None = None,
    *,
    grace: timedelta = timedelta(hours=24),
) -> int:
    """Delete stored objects no row refers to (left by a crash or a failed commit).

    Only objects older than ``grace`` are considered, so uploads in flight are never touched.
    """
    now = now or utcnow()
    keys = await store.list_keys(older_than=now - grace)
    removed = 0
    for start in range(0, len(keys), 500):
        batch = keys[start : start + 500]
        referenced: set[str] = set()
        for model in _DOCUMENT_MODELS:
            found = await session.scalars(
                select(model.storage_key).where(model.storage_key.in_(batch))
            )
            referenced.update(k for k in found if k is not None)
        for key in batch:
            if key not in referenced:
                await store.delete(key)
                removed += 1
    return removed
