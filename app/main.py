"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from app import jobs
from app.config import Settings, get_settings
from app.db import create_engine, create_sessionmaker, resolve_database_url
from app.http.client_address import ClientAddressMiddleware
from app.http.docs import install_docs
from app.http.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from app.http.problems import install_exception_handlers
from app.http.ratelimit import SlidingWindowLimiter
from app.openapi import build_openapi
from app.routers import all_routers
from app.services.platform.crypto import FieldCipher
from app.unit_of_work import unit_of_work

log = logging.getLogger("app")


def _operation_id(route: APIRoute) -> str:
    return route.name


def _dev_origins() -> list[str]:
    return [
        f"http://{host}:{port}"
        for host in ("localhost", "127.0.0.1")
        for port in (3000, 4200, 5173, 8080)
    ]


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    owns_engine = getattr(app.state, "engine", None) is None
    if owns_engine:
        url = resolve_database_url(settings)
        app.state.engine = create_engine(url, settings)
        app.state.sessionmaker = create_sessionmaker(app.state.engine)
    tasks: list[asyncio.Task[None]] = []
    if settings.email_delivery_interval_seconds > 0:
        tasks.append(
            asyncio.create_task(
                _every(app, settings.email_delivery_interval_seconds, _deliver_emails)
            )
        )
    if settings.maintenance_interval_seconds > 0:
        tasks.append(
            asyncio.create_task(_every(app, settings.maintenance_interval_seconds, _maintain))
        )
    if settings.queue_refresh_interval_seconds > 0:
        tasks.append(
            asyncio.create_task(
                _every(app, settings.queue_refresh_interval_seconds, _refresh_queue)
            )
        )
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if owns_engine:
            await app.state.engine.dispose()


async def _deliver_emails(app: FastAPI, session: AsyncSession) -> None:
    await jobs.deliver_emails(session, app.state.settings)


async def _maintain(app: FastAPI, session: AsyncSession) -> None:
    counts = await jobs.maintain(session, app.state.settings)
    log.info("maintenance run", extra=counts)


async def _refresh_queue(app: FastAPI, session: AsyncSession) -> None:
    # A unit of work per chunk of entries (its own sessions), not the one handed in.
    refreshed = await jobs.refresh_queue(app.state.sessionmaker)
    log.info("queue facts refreshed", extra={"entries": refreshed})


async def _every(
    app: FastAPI,
    interval: float,
    job: Callable[[FastAPI, AsyncSession], Awaitable[None]],
) -> None:
    """Run ``job`` in its own unit of work every ``interval`` seconds, surviving failures."""
    while True:
        await asyncio.sleep(interval)
        try:
            async with unit_of_work(app.state.sessionmaker) as session:
                await job(app, session)
        except Exception as exc:  # keep the loop alive; the work is retried next time
            log.warning(
                "background job failed",
                extra={"job": job.__name__, "error_type": type(exc).__name__},
            )


def create_app(settings: Settings | None = None, *, demo: bool = False) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Coordinated Access System API",
        version="1.0.0",
        description="The open Coordinated Access System (CAS) API for HUD Continuums of Care.",
        generate_unique_id_function=_operation_id,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.cipher = FieldCipher(settings.field_encryption_key)
    app.state.auth_limiter = SlidingWindowLimiter()

    install_exception_handlers(app)
    install_docs(app)
    for router in all_routers():
        app.include_router(router)

    origins = list(settings.cors_origins) + (_dev_origins() if demo else [])
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "Idempotency-Key",
                "X-Request-ID",
            ],
            expose_headers=[
                "ETag",
                "Location",
                "X-Request-ID",
                "Idempotent-Replayed",
                "Content-Disposition",
                "X-Merged-Into",
                "Content-Location",
                "Retry-After",
            ],
            max_age=600,
        )
    app.add_middleware(
        BodySizeLimitMiddleware,
        json_limit=settings.max_json_body_bytes,
        upload_limit=settings.max_upload_bytes,
    )
    # Outermost: every response, 413s included, carries the request id and security headers.
    app.add_middleware(RequestContextMiddleware, hsts=settings.environment == "production")
    # Before anything reads the client address (rate limits, audit trail).
    app.add_middleware(ClientAddressMiddleware, trusted_proxies=settings.trusted_proxies)

    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app, settings)
        return app.openapi_schema

    app.openapi = custom_openapi  # type: ignore[method-assign]
    return app
