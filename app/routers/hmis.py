"""HUD HMIS CSV FY2026: exports (a zip of every FY2026 file for a period and project set) and
scripted imports (a zip validated, then loaded). Both run as jobs after the request that starts
them: the answer is the job (202), polled with ``GET`` until its ``status`` is final.

The import's upload is read from the multipart body as it arrives, straight into the encrypting
store (never a plaintext temporary file, never whole in memory).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from app.context import Actor
from app.deps import Cipher, ExportRateLimited, Session, require_for_clients
from app.errors import ValidationFailed
from app.http.contract import COMPONENTS_EXTRA, CONTENT_DISPOSITION, LOCATION, documented
from app.http.multipart import MultipartReader
from app.http.pagination import Pages
from app.http.uow import get_session
from app.permissions import Permission
from app.reference.hmis_jobs import IssueSeverity
from app.routers import api_router
from app.schemas.common import problems
from app.schemas.hmis import ExportCreate, ExportRead, ImportForm, ImportIssueRead, ImportRead
from app.schemas.pagination import Page
from app.services.hmis import exports as export_svc
from app.services.hmis import imports as import_svc
from app.services.hmis import runtime as hmis_runtime_svc
from app.services.hmis.runtime import HmisRuntime
from app.storage import hmis_file_store_from_settings

HMIS_IMPORT_PATH = "/api/v1/imports/hmis-csv"

exports = api_router("/exports/hmis-csv", "hmis-csv")
imports = api_router("/imports", "hmis-csv")

Exporter = Annotated[Actor, Depends(require_for_clients(Permission.HMIS_EXPORT))]
Importer = Annotated[Actor, Depends(require_for_clients(Permission.HMIS_IMPORT))]


async def hmis_runtime(request: Request, cipher: Cipher) -> HmisRuntime:
    """The jobs' runtime: the app's sessions and cipher, the HMIS file store (tests set
    ``app.state.hmis_store``)."""
    state = request.app.state
    store = getattr(state, "hmis_store", None)
    if store is None:
        store = hmis_file_store_from_settings(state.settings)
        state.hmis_store = store
    return HmisRuntime.from_settings(state.settings, state.sessionmaker, cipher, store)


Runtime = Annotated[HmisRuntime, Depends(hmis_runtime)]

EXPORT_VISIBILITY = (
    "Exports of the CoC you act for: system and CAS admins see every one (and export any "
    "project); agency admins those requested acting for their organization that hold only "
    "its projects (not an admin's export of other projects). Others 404."
)
IMPORT_VISIBILITY = "Imports into the CoC you act for (the HMIS lead's system admins)."
ZIP_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The zip of the export's FY2026 CSV files, streamed, as `attachment`.",
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    **problems(409, 503),
}


def _export(job: Any) -> ExportRead:
    return ExportRead.model_validate(job)


# --- exports ------------------------------------------------------------------------------------


@exports.post(
    "",
    name="hmis_exports_create",
    summary="Start an HMIS CSV export",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExportRead,
    dependencies=[ExportRateLimited],
    openapi_extra=documented(EXPORT_VISIBILITY, sends=(LOCATION,), idempotent=True),
)
async def create_export(
    body: ExportCreate, actor: Exporter, session: Session, response: Response
) -> ExportRead:
    """Start a HUD HMIS CSV FY2026 export of the period and projects (every FY2026 file, HUD's
    headers in order, CSVVersion 2026, one ExportID; the enrollments open during the period,
    their clients and records; 4.11 answers only those you may read). The export runs as a job:
    poll `GET /api/v1/exports/hmis-csv/{export_id}` until `status` is `succeeded`, then
    download the zip. Every exported project needs its Geocode (422 otherwise). Audited."""
    job = await export_svc.create_export(
        session,
        actor,
        start_date=body.start_date,
        end_date=body.end_date,
        project_ids=body.project_ids,
        hashed=body.hashed,
    )
    hmis_runtime_svc.queue_run(session, hmis_runtime_svc.EXPORT_JOB, job.id, job.coc_id)
    response.headers["Location"] = f"/api/v1/exports/hmis-csv/{job.id}"
    return _export(job)


@exports.get(
    "",
    name="hmis_exports_list",
    summary="HMIS CSV exports",
    response_model=Page[ExportRead],
    openapi_extra=documented(EXPORT_VISIBILITY),
)
async def list_exports(actor: Exporter, session: Session, page: Pages) -> dict[str, object]:
    """Exports of the CoC, newest first (an agency admin's: their organization's)."""
    found = await export_svc.list_exports(session, actor, page)
    return found.map(_export).body()


@exports.get(
    "/{export_id}",
    name="hmis_exports_get",
    summary="An HMIS CSV export's status",
    response_model=ExportRead,
    openapi_extra=documented(EXPORT_VISIBILITY),
)
async def get_export(export_id: uuid.UUID, actor: Exporter, session: Session) -> ExportRead:
    """The export's status (`queued`, `running`, `succeeded`, `failed`, `expired`), its
    progress (rows written per file) and, once written, the zip's size and SHA-256."""
    return _export(await export_svc.get_export(session, actor, export_id))


@exports.get(
    "/{export_id}/file",
    name="hmis_exports_download",
    summary="Download an HMIS CSV export",
    response_class=StreamingResponse,
    responses=ZIP_RESPONSE,
    openapi_extra=documented(EXPORT_VISIBILITY, sends=(CONTENT_DISPOSITION,)),
)
async def download_export(
    export_id: uuid.UUID, actor: Exporter, session: Session, runtime: Runtime
) -> StreamingResponse:
    """The zip (decrypted, streamed) of a `succeeded` export until it expires (409 before
    or after). Every download is audited."""
    job = await export_svc.get_export(session, actor, export_id)
    found = await export_svc.download(session, actor, runtime.store, job)
    return StreamingResponse(
        found.chunks,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{found.file_name}"',
            "Content-Length": str(found.size_bytes),
        },
    )


# --- imports ------------------------------------------------------------------------------------


def _import_body() -> dict[str, Any]:
    schema = ImportForm.model_json_schema(ref_template="#/components/schemas/{model}")
    properties: dict[str, Any] = dict(schema["properties"])
    properties["file"] = {
        "type": "string",
        "format": "binary",
        "contentMediaType": "application/octet-stream",
        "description": "The zip of the FY2026 CSV files (at the top of the archive or in one "
        "folder). Sent as a file part, with a file name.",
    }
    body = {
        "properties": properties,
        "type": "object",
        "required": ["file"],
        "title": "HmisImportUpload",
        "description": ImportForm.__doc__,
    }
    return {
        COMPONENTS_EXTRA: {"HmisImportUpload": body},
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"$ref": "#/components/schemas/HmisImportUpload"},
                    "encoding": {
                        "file": {"contentType": "application/zip, application/octet-stream"}
                    },
                }
            },
        },
    }


def _form(texts: dict[str, str]) -> ImportForm:
    try:
        return ImportForm.model_validate(texts)
    except ValidationError as exc:
        raise RequestValidationError(
            [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        )


@imports.post(
    "/hmis-csv",
    name="hmis_imports_create",
    summary="Load an HMIS CSV zip",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ImportRead,
    openapi_extra={
        **documented(IMPORT_VISIBILITY, sends=(LOCATION,), idempotent=True),
        **_import_body(),
    },
    responses=problems(415),
)
async def create_import(
    request: Request, actor: Importer, session: Session, runtime: Runtime, response: Response
) -> ImportRead:
    """Load a HUD HMIS CSV FY2026 zip (the HMIS lead's system admins). The load runs as a job:
    first every file is validated (files present, header names and order, types, date formats,
    lengths, nullability, code lists, ExportID, duplicate and orphan keys, identifiable data in
    a victim service provider's projects); a high-severity finding refuses the load before
    anything is written (`status` `refused`). Then the rows are upserted by (data source,
    source ids): a newer DateUpdated wins, an equal one changes nothing, DateDeleted voids or
    removes; all in one transaction. Poll `GET /api/v1/imports/{import_id}` for progress; the
    report's findings are at `/api/v1/imports/{import_id}/issues`. Loading the same zip again
    changes nothing."""
    reader = MultipartReader.from_request(request)
    texts: dict[str, str] = {}
    stored: import_svc.StoredUpload | None = None
    file_name: str | None = None
    seen: set[str] = set()
    while (part := await reader.next_part()) is not None:
        if part.name != "file" and part.name not in ImportForm.model_fields:
            continue
        if part.name in seen:
            raise ValidationFailed("The part was sent more than once.", field=part.name)
        seen.add(part.name)
        if part.name == "file":
            _form(texts)  # what came before the file is checked before it is stored
            if not part.filename:
                raise ValidationFailed("The file part needs a file name.", field="file")
            file_name = part.filename

            async def chunks(current: Any = part) -> Any:
                while chunk := await current.read(65536):
                    yield chunk

            stored = await import_svc.store_upload(
                await get_session(request),
                actor,
                runtime.store,
                chunks(),
                max_bytes=request.app.state.settings.hmis_max_upload_bytes,
            )
        elif value := await part.text():
            texts[part.name] = value
    form = _form(texts)
    if stored is None:
        raise ValidationFailed("The zip is required (a file part named file).", field="file")
    options: dict[str, Any] = {"allow_missing_files": form.allow_missing_files}
    if form.data_source is not None:
        options["data_source"] = form.data_source
    job = await import_svc.create_import(
        session, actor, stored, file_name=file_name, options=options
    )
    hmis_runtime_svc.queue_run(session, hmis_runtime_svc.IMPORT_JOB, job.id, job.coc_id)
    response.headers["Location"] = f"/api/v1/imports/{job.id}"
    return ImportRead.model_validate(import_svc.import_view(job))


@imports.get(
    "",
    name="hmis_imports_list",
    summary="HMIS CSV imports",
    response_model=Page[ImportRead],
    openapi_extra=documented(IMPORT_VISIBILITY),
)
async def list_imports(actor: Importer, session: Session, page: Pages) -> dict[str, object]:
    """Imports into the CoC, newest first."""
    found = await import_svc.list_imports(session, actor, page)
    return found.map(lambda j: ImportRead.model_validate(import_svc.import_view(j))).body()


@imports.get(
    "/{import_id}",
    name="hmis_imports_get",
    summary="An HMIS CSV import's status and report",
    response_model=ImportRead,
    openapi_extra=documented(IMPORT_VISIBILITY),
)
async def get_import(import_id: uuid.UUID, actor: Importer, session: Session) -> ImportRead:
    """The import's status (`queued`, `validating`, `loading`, `succeeded`, `refused`,
    `failed`), its progress while it runs (rows validated and loaded per file), the report's
    summary (findings by file, column and rule, with counts) and what the load did."""
    job = await import_svc.get_import(session, actor, import_id)
    return ImportRead.model_validate(import_svc.import_view(job))


@imports.get(
    "/{import_id}/issues",
    name="hmis_imports_issues",
    summary="An HMIS CSV import's findings",
    response_model=Page[ImportIssueRead],
    openapi_extra=documented(IMPORT_VISIBILITY),
)
async def list_import_issues(
    import_id: uuid.UUID,
    actor: Importer,
    session: Session,
    page: Pages,
    severity: Annotated[IssueSeverity | None, Query()] = None,
    file: Annotated[str | None, Query(max_length=60, description="A HUD file name.")] = None,
) -> dict[str, object]:
    """The report, machine-readable: one item per finding (file, row, column, rule, severity,
    message), in the order found; at most 100 rows per file, column and rule."""
    job = await import_svc.get_import(session, actor, import_id)
    found = await import_svc.list_issues(session, job, page, severity=severity, file=file)
    return found.map(ImportIssueRead.model_validate).body()
