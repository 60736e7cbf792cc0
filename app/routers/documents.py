"""Document Check (CAS organization and admins only) and Client Files: uploads, lists,
downloads, deletes, the checklist configuration and the client's document summary.

Uploads read their multipart body themselves (``app.http.multipart``), so the file's bytes go
straight from the request into the encrypting store: never to a temporary file, never whole in
memory. The metadata fields may come before or after the file part: the fields received before
the file are checked before any byte is stored (a mistake there stores nothing), everything is
checked again once the body has been read, and a refusal at that point deletes the stored bytes.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fastapi import Depends, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ValidationError

from app import clock
from app.config import Settings
from app.context import Actor
from app.deps import IfMatch, Session, Store, require_for_clients
from app.errors import NotFound, ValidationFailed
from app.http.contract import (
    COMPONENTS_EXTRA,
    CONTENT_DISPOSITION,
    ETAG,
    LOCATION,
    Visibility,
    documented,
)
from app.http.etag import check_if_match, set_etag
from app.http.multipart import MultipartReader
from app.http.pagination import Pages
from app.http.uow import get_session
from app.permissions import Permission
from app.routers import api_router
from app.schemas.common import problems
from app.schemas.documents import (
    ChecklistRead,
    ChecklistUpdate,
    ClientFileForm,
    ClientFileRead,
    ClientFileType,
    DocumentCategory,
    DocumentCheckForm,
    DocumentCheckRead,
    DocumentItem,
    DocumentSummaryRead,
)
from app.schemas.pagination import Page
from app.services.documents import core as svc
from app.services.documents.policy import can_use_document_check
from app.storage import FileStore
from app.unit_of_work import on_rollback

client_documents = api_router("/clients", "client-files")
client_document_checks = api_router("/clients", "document-check")
document_checks = api_router("/document-checks", "document-check")
client_files = api_router("/client-files", "client-files")
document_checklist = api_router("/document-checklist", "document-check")


Reader = Annotated[Actor, Depends(require_for_clients(Permission.DOCUMENTS_READ))]
Writer = Annotated[Actor, Depends(require_for_clients(Permission.DOCUMENTS_WRITE))]
Configurer = Annotated[Actor, Depends(require_for_clients(Permission.DOCUMENTS_CONFIGURE))]


async def document_check_writer(actor: Writer) -> Actor:
    """Document Check is for the CAS organization and admins (404 for everyone else); like
    every dependency, checked again before an idempotent replay."""
    if not can_use_document_check(actor):
        raise NotFound("Not found.")
    return actor


DocumentCheckWriter = Annotated[Actor, Depends(document_check_writer)]


async def client_for_document_check(
    client_id: uuid.UUID, actor: DocumentCheckWriter, session: Session
) -> svc.Client:
    """The client a Document Check upload is for (a dependency: checked again before an
    idempotent replay)."""
    return await svc.upload_client(session, actor, client_id, document_check=True)


async def client_for_client_file(
    client_id: uuid.UUID, actor: Writer, session: Session
) -> svc.Client:
    """The client a Client File upload is for (a dependency: checked again before an
    idempotent replay)."""
    return await svc.upload_client(session, actor, client_id, document_check=False)


DocumentCheckClient = Annotated[svc.Client, Depends(client_for_document_check)]
ClientFileClient = Annotated[svc.Client, Depends(client_for_client_file)]


async def _policy(request: Request) -> svc.UploadPolicy:
    return svc.UploadPolicy.from_settings(request.app.state.settings)


Policy = Annotated[svc.UploadPolicy, Depends(_policy)]

UPLOAD_PROBLEMS = problems(409, 415)
# application/octet-stream first: generated clients take the bytes as they are, whatever the
# type detected at upload (the other entries, the default accepted types, say which it can be).
BINARY = {"type": "string", "format": "binary"}
FILE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, decrypted and streamed, as `attachment`; `Content-Type` is the "
        "type detected from its bytes at upload.",
        "content": {
            "application/octet-stream": {"schema": BINARY},
            **{
                media: {"schema": BINARY}
                for media in Settings.model_fields["allowed_upload_types"].default
            },
        },
    },
    **problems(503),
}


# --- multipart uploads --------------------------------------------------------------------------


def multipart_body(
    form: type[BaseModel], title: str, *, file_description: str, file_required: bool
) -> dict[str, Any]:
    """``openapi_extra`` declaring the multipart request body, the schema component ``title``:
    ``form``'s fields plus the binary ``file`` part (the routes read the body themselves, so
    FastAPI does not see these parts). Generated clients type the part as a file (Python
    ``File``, TypeScript ``Blob``) and send it with its file name and type."""
    schema = form.model_json_schema(ref_template="#/components/schemas/{model}")
    properties: dict[str, Any] = {
        name: {k: v for k, v in prop.items() if not (k == "default" and v is None)}
        for name, prop in schema["properties"].items()
    }
    properties["file"] = {
        "type": "string",
        "format": "binary",
        "contentMediaType": "application/octet-stream",
        "description": file_description
        + " Sent as a file part: with a file name and a binary content type (a part without a "
        "file name is refused with 422, one sent as text with 415).",
    }
    required = [*schema.get("required", []), *(["file"] if file_required else [])]
    body = {
        "properties": properties,
        "type": "object",
        "required": required,
        "title": title,
        "description": form.__doc__ or title,
    }
    accepted = ", ".join(Settings.model_fields["allowed_upload_types"].default)
    return {
        COMPONENTS_EXTRA: {title: body, **schema.get("$defs", {})},
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"$ref": f"#/components/schemas/{title}"},
                    "encoding": {"file": {"contentType": f"{accepted}, application/octet-stream"}},
                }
            },
        },
    }


FormT = TypeVar("FormT", bound=BaseModel)
FormT_contra = TypeVar("FormT_contra", bound=BaseModel, contravariant=True)
ValuesT = TypeVar("ValuesT")
ValuesT_co = TypeVar("ValuesT_co", covariant=True)


class _Check(Protocol[FormT_contra, ValuesT_co]):
    """The service's check of a parsed form: the values to record, or a problem."""

    async def __call__(
        self, form: FormT_contra, *, has_file: bool, only: Collection[str] | None
    ) -> ValuesT_co: ...


@dataclass
class _Upload(Generic[ValuesT]):
    values: ValuesT
    stored: svc.StoredUpload | None


async def _validate(
    form: type[FormT],
    texts: dict[str, str],
    check: _Check[FormT, ValuesT],
    *,
    has_file: bool,
    only: Collection[str] | None,
    file_required: bool = False,
) -> ValuesT | None:
    """Field types and formats (422 like FastAPI's own), then the domain rules. With ``only``
    (the fields received so far), errors about other fields are left for later."""
    errors: list[dict[str, Any]] = []
    parsed: FormT | None = None
    try:
        parsed = form.model_validate(texts)
    except ValidationError as exc:
        errors = [
            {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()
        ]
    if only is None and file_required and not has_file:
        errors.append({"loc": ["body", "file"], "msg": "Field required", "type": "missing"})
    if only is not None:
        errors = [e for e in errors if e["loc"][1] in only]
    if errors:
        raise RequestValidationError(errors)
    if parsed is None:
        return None  # fields still to come; checked once the body has been read
    return await check(parsed, has_file=has_file, only=only)


async def _receive_upload(
    request: Request,
    store: FileStore,
    policy: svc.UploadPolicy,
    form: type[FormT],
    check: _Check[FormT, ValuesT],
    *,
    file_required: bool,
) -> _Upload[ValuesT]:
    """Read the multipart body: text parts of ``form`` (64 KiB at most each; unknown parts are
    skipped, an empty one counts as not given), the ``file`` part streamed into the store.
    Whatever is refused leaves no stored bytes behind."""
    reader = MultipartReader.from_request(request)
    texts: dict[str, str] = {}
    seen: set[str] = set()
    stored: svc.StoredUpload | None = None
    while (part := await reader.next_part()) is not None:
        if part.name != "file" and part.name not in form.model_fields:
            continue
        if part.name in seen:
            raise ValidationFailed("The part was sent more than once.", field=part.name)
        seen.add(part.name)
        if part.name == "file":
            # What came before the file is checked before any of its bytes are stored.
            await _validate(form, texts, check, has_file=True, only=set(texts))
            source = svc.UploadSource(
                reader=part, filename=part.filename, content_type=part.content_type
            )
            stored = await svc.store_upload(store, source, policy)
            # Deleted again unless the request's work is committed (a refusal below, a
            # failure, a lost race at commit).
            on_rollback(await get_session(request), partial(store.discard, stored.key))
        elif value := await part.text():
            texts[part.name] = value
    values = await _validate(
        form,
        texts,
        check,
        has_file=stored is not None,
        only=None,
        file_required=file_required,
    )
    assert values is not None  # every field was received: the form parsed or was refused
    return _Upload(values=values, stored=stored)


DOCUMENT_CHECK_BODY = multipart_body(
    DocumentCheckForm,
    "DocumentCheckUpload",
    file_description="The document (PDF, JPEG, PNG, TIFF, HEIC). Required for disability.",
    file_required=False,
)
CLIENT_FILE_BODY = multipart_body(
    ClientFileForm,
    "ClientFileUpload",
    file_description="The document (PDF, JPEG, PNG, TIFF or HEIC; type read from its bytes).",
    file_required=True,
)


def _stream(download: svc.Download) -> StreamingResponse:
    return StreamingResponse(
        download.chunks,
        media_type=download.content_type,
        headers={
            "Content-Disposition": download.content_disposition,
            "Content-Length": str(download.size_bytes),
        },
    )


# --- Document Check -----------------------------------------------------------------------------


@client_document_checks.post(
    "/{client_id}/document-checks",
    name="document_checks_create",
    summary="Upload a Document Check item",
    status_code=status.HTTP_201_CREATED,
    response_model=DocumentCheckRead,
    openapi_extra={
        **documented(Visibility.DOCUMENT_CHECK, sends=(ETAG, LOCATION), idempotent=True),
        **DOCUMENT_CHECK_BODY,
    },
    responses=UPLOAD_PROBLEMS,
)
async def create_document_check(
    client: DocumentCheckClient,
    request: Request,
    actor: DocumentCheckWriter,
    session: Session,
    store: Store,
    policy: Policy,
    response: Response,
) -> DocumentCheckRead:
    """Record a Document Check item with its file (users acting for the CAS organization and
    admins). The file is streamed, type-checked from its bytes and stored encrypted. Metadata
    fields sent before the file are checked before it is stored."""

    async def check(
        form: DocumentCheckForm, *, has_file: bool, only: Collection[str] | None
    ) -> svc.DocumentCheckValues:
        return await svc.check_document_check(session, actor, form, has_file=has_file, only=only)

    upload = await _receive_upload(
        request, store, policy, DocumentCheckForm, check, file_required=False
    )
    doc = await svc.add_document_check(session, actor, client, upload.values, upload.stored)
    set_etag(response, doc.version)
    response.headers["Location"] = f"/api/v1/document-checks/{doc.id}"
    return svc.document_check_read(doc, clock.today(actor))


@client_document_checks.get(
    "/{client_id}/document-checks",
    name="document_checks_list",
    summary="A client's Document Check history",
    response_model=Page[DocumentCheckRead],
    openapi_extra=documented(Visibility.DOCUMENT_CHECK),
)
async def list_document_checks(
    client_id: uuid.UUID,
    actor: Reader,
    session: Session,
    page: Pages,
    category: DocumentCategory | None = None,
    item: DocumentItem | None = None,
    expired: Annotated[
        bool | None, Query(description="true: only expired; false: only not expired.")
    ] = None,
) -> dict[str, object]:
    """The client's Document Check history, newest first (CAS organization and admins)."""
    checks = await svc.list_document_checks(
        session, actor, client_id, page, category=category, item=item, expired=expired
    )
    return checks.body()


@client_document_checks.get(
    "/{client_id}/document-summary",
    name="document_summary_get",
    summary="A client's document summary",
    response_model=DocumentSummaryRead,
    openapi_extra=documented(Visibility.DOCUMENT_CHECK),
)
async def get_document_summary(
    client_id: uuid.UUID, actor: Reader, session: Session
) -> dict[str, Any]:
    """Which checklist items and client files are on file, current or expired (CAS
    organization and admins)."""
    return await svc.document_summary(session, actor, client_id)


@document_checks.get(
    "/{document_check_id}",
    name="document_checks_get",
    summary="Read a Document Check item",
    response_model=DocumentCheckRead,
    openapi_extra=documented(Visibility.DOCUMENT_CHECK, sends=(ETAG,)),
)
async def get_document_check(
    document_check_id: uuid.UUID, actor: Reader, session: Session, response: Response
) -> DocumentCheckRead:
    """The item's metadata, `expired`, and where to download its file."""
    doc = await svc.get_document_check(session, actor, document_check_id)
    set_etag(response, doc.version)
    return svc.document_check_read(doc, clock.today(actor))


@document_checks.get(
    "/{document_check_id}/file",
    name="document_checks_download",
    summary="Download a Document Check file",
    response_class=StreamingResponse,
    responses=FILE_RESPONSE,
    openapi_extra=documented(Visibility.DOCUMENT_CHECK, sends=(CONTENT_DISPOSITION,)),
)
async def download_document_check(
    document_check_id: uuid.UUID, actor: Reader, session: Session, store: Store
) -> StreamingResponse:
    """Download the file (decrypted, streamed). Every download is audited."""
    doc = await svc.get_document_check(session, actor, document_check_id)
    return _stream(await svc.download(session, actor, store, doc, "document_check"))


@document_checks.delete(
    "/{document_check_id}",
    name="document_checks_delete",
    summary="Delete a Document Check item",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    openapi_extra=documented(Visibility.DOCUMENT_CHECK),
)
async def delete_document_check(
    document_check_id: uuid.UUID, actor: Writer, session: Session, if_match: IfMatch
) -> Response:
    """Soft delete (the uploading organization or admins); the bytes are purged after the
    retention period."""
    doc = await svc.get_document_check(session, actor, document_check_id)
    check_if_match(if_match, doc.version)
    await svc.delete_document_check(session, actor, doc)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- Client Files -------------------------------------------------------------------------------


@client_documents.post(
    "/{client_id}/files",
    name="client_files_create",
    summary="Upload a client file",
    status_code=status.HTTP_201_CREATED,
    response_model=ClientFileRead,
    openapi_extra={
        **documented(Visibility.CLIENT_FILES, sends=(ETAG, LOCATION), idempotent=True),
        **CLIENT_FILE_BODY,
    },
    responses=UPLOAD_PROBLEMS,
)
async def create_client_file(
    client: ClientFileClient,
    request: Request,
    actor: Writer,
    session: Session,
    store: Store,
    policy: Policy,
    response: Response,
) -> ClientFileRead:
    """Add a file (ID, Social Security card, birth certificate, ...) visible to everyone who can
    see the client."""

    async def check(
        form: ClientFileForm, *, has_file: bool, only: Collection[str] | None
    ) -> svc.ClientFileValues:
        return svc.check_client_file(form, clock.today(actor), only=only)

    upload = await _receive_upload(
        request, store, policy, ClientFileForm, check, file_required=True
    )
    assert upload.stored is not None  # file_required
    row = await svc.add_client_file(session, actor, client, upload.values, upload.stored)
    set_etag(response, row.version)
    response.headers["Location"] = f"/api/v1/client-files/{row.id}"
    return svc.client_file_read(row, clock.today(actor))


@client_documents.get(
    "/{client_id}/files",
    name="client_files_list",
    summary="A client's files",
    response_model=Page[ClientFileRead],
    openapi_extra=documented(Visibility.CLIENT_FILES),
)
async def list_client_files(
    client_id: uuid.UUID,
    actor: Reader,
    session: Session,
    page: Pages,
    file_type: ClientFileType | None = None,
    expired: Annotated[
        bool | None, Query(description="true: only expired; false: only not expired.")
    ] = None,
) -> dict[str, object]:
    """The client's files, newest first; filter by type or expiry."""
    files = await svc.list_client_files(
        session, actor, client_id, page, file_type=file_type, expired=expired
    )
    return files.body()


@client_files.get(
    "/{client_file_id}",
    name="client_files_get",
    summary="Read a client file",
    response_model=ClientFileRead,
    openapi_extra=documented(Visibility.CLIENT_FILES, sends=(ETAG,)),
)
async def get_client_file(
    client_file_id: uuid.UUID, actor: Reader, session: Session, response: Response
) -> ClientFileRead:
    """The file's metadata, `expired`, and where to download it."""
    row = await svc.get_client_file(session, actor, client_file_id)
    set_etag(response, row.version)
    return svc.client_file_read(row, clock.today(actor))


@client_files.get(
    "/{client_file_id}/file",
    name="client_files_download",
    summary="Download a client file",
    response_class=StreamingResponse,
    responses=FILE_RESPONSE,
    openapi_extra=documented(Visibility.CLIENT_FILES, sends=(CONTENT_DISPOSITION,)),
)
async def download_client_file(
    client_file_id: uuid.UUID, actor: Reader, session: Session, store: Store
) -> StreamingResponse:
    """Download the file (decrypted, streamed). Every download is audited."""
    row = await svc.get_client_file(session, actor, client_file_id)
    return _stream(await svc.download(session, actor, store, row, "client_file"))


@client_files.delete(
    "/{client_file_id}",
    name="client_files_delete",
    summary="Delete a client file",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    openapi_extra=documented(Visibility.CLIENT_FILES),
)
async def delete_client_file(
    client_file_id: uuid.UUID, actor: Writer, session: Session, if_match: IfMatch
) -> Response:
    """Soft delete (the uploading organization or admins)."""
    row = await svc.get_client_file(session, actor, client_file_id)
    check_if_match(if_match, row.version)
    await svc.delete_client_file(session, actor, row)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- checklist configuration --------------------------------------------------------------------


@document_checklist.get(
    "",
    name="document_checklist_get",
    summary="The CoC's Document Check checklist",
    response_model=ChecklistRead,
    openapi_extra=documented(Visibility.ACTING_COC),
)
async def get_checklist(actor: Reader, session: Session) -> dict[str, Any]:
    """The Document Check categories, items and acceptable document types of the acting CoC."""
    return {"items": [vars(i) for i in await svc.checklist(session, actor.coc_id)]}


@document_checklist.put(
    "",
    name="document_checklist_update",
    summary="Replace the CoC's acceptable document types",
    response_model=ChecklistRead,
    openapi_extra=documented(Visibility.ACTING_COC),
)
async def update_checklist(
    body: ChecklistUpdate, actor: Configurer, session: Session
) -> dict[str, Any]:
    """Replace the CoC's acceptable document types (CAS and system admins). Items left out use
    the defaults; an empty list restores all defaults."""
    items = await svc.replace_checklist(session, actor, body)
    return {"items": [vars(i) for i in items]}
