"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from app import jobs
from app.config import Settings, get_settings
from app.db import create_engine, create_replica, create_sessionmaker, resolve_database_url
from app.http import params
from app.http.client_address import ClientAddressMiddleware
from app.http.docs import install_docs
from app.http.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from app.http.problems import install_exception_handlers
from app.openapi import build_openapi
from app.routers import all_routers
from app.routers.hmis import HMIS_IMPORT_PATH
from app.services.notifications import inbox
from app.services.platform.crypto import cipher_for
from app.services.platform.listen import Listener

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
        # Rate limits on a small pool of their own: a request holding a connection of the main
        # pool never waits for another one of it to count or refund a hit.
        app.state.rate_limit_engine = create_engine(
            url, settings.model_copy(update={"db_pool_size": 4, "db_max_overflow": 0})
        )
    owns_replica = getattr(app.state, "replica_engine", None) is None
    if owns_replica:
        replica = create_replica(settings)
        if replica is not None:
            app.state.replica_engine, app.state.replica_sessionmaker = replica
    app.state.notification_listener = Listener(app.state.engine, inbox.CHANNEL)
    stop = asyncio.Event()
    lanes: list[asyncio.Task[None]] = []
    if settings.run_jobs_in_server:
        # The one-machine default: this process also runs the background jobs (several servers
        # may: jobs are claimed with a lease, schedules run once per slot).
        runners = jobs.runners(
            app.state.sessionmaker, settings, hmis_store=getattr(app.state, "hmis_store", None)
        )
        lanes = [asyncio.create_task(r.run_forever(stop)) for r in runners]
    try:
        yield
    finally:
        stop.set()
        if lanes:
            short, long = lanes
            # An HMIS CSV run may take minutes: it is stopped now, and runs again (from the
            # start) wherever its job is claimed once its lease lapses.
            long.cancel()
            try:
                await asyncio.wait_for(short, timeout=settings.job_lease_seconds)
            except (TimeoutError, asyncio.CancelledError):
                log.warning("background jobs did not finish in time; their leases will expire")
            with contextlib.suppress(asyncio.CancelledError):
                await long
        await app.state.notification_listener.close()
        if owns_replica and app.state.replica_engine is not None:
            await app.state.replica_engine.dispose()
            app.state.replica_engine = app.state.replica_sessionmaker = None
        if owns_engine:
            await app.state.rate_limit_engine.dispose()
            app.state.rate_limit_engine = None
            await app.state.engine.dispose()


def create_app(settings: Settings | None = None, *, demo: bool = False) -> FastAPI:
    settings = settings or get_settings()
    params.install()
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
    app.state.cipher = cipher_for(settings)
    app.state.notification_listener = None  # made with the engine (lifespan)
    app.state.rate_limit_engine = None  # made with the engine (lifespan); else the engine's
    # The read replica's (CAS_DATABASE_REPLICA_URL; lifespan): None, every read on the primary.
    app.state.replica_engine = None
    app.state.replica_sessionmaker = None

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
        upload_limits={HMIS_IMPORT_PATH: settings.hmis_max_upload_bytes},
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
