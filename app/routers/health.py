from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.deps import get_file_store
from app.http.contract import Visibility, documented
from app.schemas.common import problems
from app.schemas.health import CheckResult, Health, Readiness, ReadinessChecks
from app.services.platform.health import ping_database

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


@router.get(
    "/health/live",
    name="health_live",
    summary="Liveness",
    response_model=Health,
    openapi_extra=documented(Visibility.PUBLIC),
)
async def live() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/health/ready",
    name="health_ready",
    summary="Readiness",
    openapi_extra=documented(Visibility.PUBLIC),
    response_model=Readiness,
    responses={
        503: {"model": Readiness, "description": "The database or the file store is unavailable"}
    },
)
async def ready(request: Request) -> Readiness | JSONResponse:
    """The database answers and the file store takes a write; each check is given
    `CAS_HEALTH_TIMEOUT_SECONDS`, and `checks` says which part failed."""
    timeout = request.app.state.settings.health_timeout_seconds
    database, file_store = await asyncio.gather(
        _check(request, "database", _database, timeout),
        _check(request, "file_store", _file_store, timeout),
    )
    result = Readiness(
        status="ok" if database == file_store == "ok" else "unavailable",
        checks=ReadinessChecks(database=database, file_store=file_store),
    )
    if result.status != "ok":
        return JSONResponse(result.model_dump(), status_code=503)
    return result


async def _database(request: Request) -> None:
    await ping_database(request.app.state.engine)


async def _file_store(request: Request) -> None:
    async def probe() -> AsyncIterator[bytes]:
        yield b"readiness probe"

    store = await get_file_store(request)
    key = await store.save(probe())
    await store.delete(key)


async def _check(
    request: Request,
    name: str,
    probe: Callable[[Request], Awaitable[None]],
    seconds: float,
) -> CheckResult:
    """Run ``probe`` for at most ``seconds``. A probe that overruns is not cancelled (it
    ends on the database or store's own timeouts) but reused by the next call, so a hung
    dependency never piles up probes."""
    state = request.app.state
    if not hasattr(state, "readiness_probes"):
        state.readiness_probes = {}
    running: dict[str, asyncio.Task[None]] = state.readiness_probes
    task = running.get(name)
    if task is None or task.done():
        task = asyncio.ensure_future(probe(request))
        task.add_done_callback(_observe)
        running[name] = task
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        log.warning("readiness check timed out", extra={"check": name})
        return "timeout"
    error = task.exception()
    if error is not None:
        log.warning(
            "readiness check failed", extra={"check": name, "error_type": type(error).__name__}
        )
        return "unavailable"
    return "ok"


def _observe(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved here; reported by ``_check`` when someone is waiting


__all__ = ["problems", "router"]
