"""Background work, composed from the domain packages: the job kinds the runner knows, what runs
on a schedule, and the runner ``cas worker`` and ``cas serve`` start. Like ``app.main`` and
``app.cli``, this is a composition root: it may call any package, so the packages themselves
never call upward (the email outbox does not know about password resets, housekeeping does not
know about documents, events do not know who receives them).

Kinds (``registry``):

* ``email.deliver`` -- one outbox message (queued with it by ``platform.email.enqueue``);
* ``notifications.fan_out`` -- one notification event to inboxes, emails and webhooks (queued
  with it by ``platform.events.emit``);
* ``webhooks.deliver`` -- one try of a webhook delivery (queued by the fan-out, retried with
  backoff, redelivered on request);
* ``maintenance`` -- housekeeping (every ``CAS_MAINTENANCE_INTERVAL_SECONDS``);
* ``notifications.scan`` -- the scans in ``SCANS`` (every
  ``CAS_NOTIFICATION_SCAN_INTERVAL_SECONDS``);
* ``notifications.sweep`` -- fan-outs for events recorded without one (every
  ``CAS_NOTIFICATION_SWEEP_INTERVAL_SECONDS``);
* ``hmis.export`` / ``hmis.import`` -- one HUD HMIS CSV export or import (queued with it by
  ``services.hmis.runtime.queue_run``). They run for minutes, so a worker runs them in a lane
  of their own (``runners``): a long import never holds up emails and notifications.

**Registering more**: a scan is an ``async def scan(session, now) -> int`` in its package,
added to ``scans_for`` (matching's "about to stall", "stalled" and park expiry are); a new kind
of notification event is an entry in ``app.services.notifications.kinds.KINDS``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.config import Settings
from app.models import EmailMessage
from app.services.documents import core as documents
from app.services.hmis import exports as hmis_exports
from app.services.hmis import housekeeping as hmis_housekeeping
from app.services.hmis import imports as hmis_imports
from app.services.hmis import runtime as hmis_runtime_svc
from app.services.hmis.runtime import HmisRuntime
from app.services.identity import auth
from app.services.matching import notices as match_notices
from app.services.notifications import fanout, scans, webhooks
from app.services.platform import email, events, jobs, maintenance
from app.services.platform.crypto import cipher_for
from app.services.platform.jobs import JobContext, JobKind, JobRunner, Schedule
from app.services.queue import facts as queue_facts
from app.storage import FileStore, file_store_from_settings, hmis_file_store_from_settings
from app.unit_of_work import unit_of_work

MAINTENANCE = "maintenance"
SCAN = "notifications.scan"
SWEEP = "notifications.sweep"
QUEUE_REFRESH = "queue.refresh"
# Kinds that run for minutes: a lane of their own (``runners``).
LONG_KINDS = frozenset(hmis_runtime_svc.JOB_KINDS)

# A scheduled scan: finds events in the data and records them (``platform.events.emit_from``
# or ``emit_once``, keyed so a second run records nothing); how many it recorded.
Scan = Callable[[AsyncSession, datetime], Awaitable[int]]


def scans_for(settings: Settings) -> dict[str, Scan]:
    """The scans ``notifications.scan`` runs, by name. Matching registers its own here."""
    lookback = settings.document_expiry_lookback_days
    return {
        "inactive_clients": scans.inactive_clients,
        "expired_documents": partial(scans.expired_documents, lookback_days=lookback),
        "queue_entries_to_review": partial(
            scans.approved_entries_with_expired_documents, lookback_days=lookback
        ),
        # Matching (DOMAIN 9): each notice once per match (keyed events).
        "matches_about_to_stall": match_notices.about_to_stall,
        "matches_stalled": match_notices.stalled,
        "parks_ended": match_notices.parks_ended,
    }


# --- the kinds' handlers ------------------------------------------------------------------------


def _resolvers(settings: Settings) -> dict[str, email.Resolver]:
    """Outbox requests resolved into messages by their owner before delivery."""

    async def reset(session: AsyncSession, row: EmailMessage) -> bool:
        return await auth.resolve_password_reset_request(session, settings, row)

    return {auth.RESET_REQUEST_TEMPLATE: reset}


def registry(settings: Settings, *, hmis_store: FileStore | None = None) -> dict[str, JobKind]:
    """Every kind the runners know. ``hmis_store``: where HMIS CSV zips are kept (the
    settings' store unless given)."""

    async def deliver_email(ctx: JobContext) -> None:
        await email.deliver(
            ctx.sessionmaker,
            settings,
            uuid.UUID(ctx.payload["email_id"]),
            resolvers=_resolvers(settings),
        )

    async def fan_out(ctx: JobContext) -> None:
        await fanout.fan_out(ctx.sessionmaker, settings, uuid.UUID(ctx.payload["event_id"]))

    async def deliver_webhook(ctx: JobContext) -> None:
        requested = ctx.payload.get("requested_by")
        await webhooks.deliver(
            ctx.sessionmaker,
            settings,
            uuid.UUID(ctx.payload["delivery_id"]),
            last_attempt=ctx.last_attempt,
            # The person who asked for a redelivery is named on its first try only.
            requested_by=uuid.UUID(requested) if requested and ctx.attempt == 1 else None,
        )

    async def run_maintenance(ctx: JobContext) -> None:
        async with unit_of_work(ctx.sessionmaker) as session:
            await maintain(session, settings)

    async def run_scans(ctx: JobContext) -> None:
        now = clock.now()
        for scan in scans_for(settings).values():
            async with unit_of_work(ctx.sessionmaker) as session:
                await scan(session, now)

    async def sweep(ctx: JobContext) -> None:
        async with unit_of_work(ctx.sessionmaker) as session:
            await fanout.queue_stray_events(session, clock.now(), older_than=timedelta(minutes=1))

    async def refresh_queue_facts(ctx: JobContext) -> None:
        # A unit of work per chunk of entries (its own sessions).
        await refresh_queue(ctx.sessionmaker)

    def hmis_runtime(ctx: JobContext) -> HmisRuntime:
        cipher = cipher_for(settings)
        return HmisRuntime.from_settings(settings, ctx.sessionmaker, cipher, hmis_store)

    async def run_hmis_export(ctx: JobContext) -> None:
        # Its own failures are recorded on the export; an exception here is retried.
        await hmis_exports.run_export(hmis_runtime(ctx), uuid.UUID(ctx.payload["export_id"]))

    async def run_hmis_import(ctx: JobContext) -> None:
        await hmis_imports.run_import(hmis_runtime(ctx), uuid.UUID(ctx.payload["import_id"]))

    handlers = {
        email.DELIVER: deliver_email,
        events.FAN_OUT: fan_out,
        webhooks.DELIVER: deliver_webhook,
        MAINTENANCE: run_maintenance,
        SCAN: run_scans,
        SWEEP: sweep,
        QUEUE_REFRESH: refresh_queue_facts,
        hmis_runtime_svc.EXPORT_JOB: run_hmis_export,
        hmis_runtime_svc.IMPORT_JOB: run_hmis_import,
    }
    return {name: JobKind(name, handler) for name, handler in handlers.items()}


def schedules(settings: Settings) -> list[Schedule]:
    return [
        Schedule(MAINTENANCE, settings.maintenance_interval_seconds),
        Schedule(SCAN, settings.notification_scan_interval_seconds),
        Schedule(SWEEP, settings.notification_sweep_interval_seconds),
        Schedule(QUEUE_REFRESH, settings.queue_refresh_interval_seconds),
    ]


def runner(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    worker_id: str | None = None,
    scheduled: bool = True,
    hmis_store: FileStore | None = None,
    kinds: Collection[str] | None = None,
) -> JobRunner:
    """A job runner of every kind (or of ``kinds``): ``cas worker --once``, the CLI and tests
    (``scheduled=False``: no schedules)."""
    known = registry(settings, hmis_store=hmis_store)
    if kinds is not None:
        known = {name: kind for name, kind in known.items() if name in kinds}
    return JobRunner(
        sessionmaker,
        known,
        settings,
        schedules=schedules(settings) if scheduled else (),
        worker_id=worker_id,
    )


def runners(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    worker_id: str | None = None,
    hmis_store: FileStore | None = None,
) -> list[JobRunner]:
    """The lanes of ``cas worker`` and ``cas serve``: the short jobs with the schedules, and
    the long ones (HMIS CSV exports and imports) on their own, so a batch of short jobs never
    waits for an import to end. Both share the worker's id."""
    worker_id = worker_id or jobs.default_worker_id()
    short = [name for name in registry(settings) if name not in LONG_KINDS]
    return [
        runner(sessionmaker, settings, worker_id=worker_id, hmis_store=hmis_store, kinds=short),
        runner(
            sessionmaker,
            settings,
            worker_id=worker_id,
            scheduled=False,
            hmis_store=hmis_store,
            kinds=LONG_KINDS,
        ),
    ]


# --- on demand (CLI) ----------------------------------------------------------------------------


async def deliver_emails(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """Send every queued email now, retries waiting for their backoff included (``cas outbox
    deliver``); how many were sent. Password-reset requests are resolved first (an email, or
    dropped)."""
    async with unit_of_work(sessionmaker) as session:
        await jobs.make_due(session, email.DELIVER)
        before = await email.sent_count(session)
    await runner(sessionmaker, settings, scheduled=False).run_until_idle([email.DELIVER])
    async with unit_of_work(sessionmaker) as session:
        return await email.sent_count(session) - before


async def maintain(session: AsyncSession, settings: Settings) -> dict[str, int]:
    """Purge deleted documents' bytes past retention and orphaned stored objects, expire
    idempotency keys, remove ended sessions, old finished jobs, sent emails and finished
    webhook deliveries past their retention, delete expired HMIS CSV
    exports and orphaned HMIS files, recompute queue entries whose facts went stale; the counts
    by name."""
    store = file_store_from_settings(settings)
    hmis_store = hmis_file_store_from_settings(settings)
    ttl = timedelta(hours=settings.idempotency_ttl_hours)
    tasks: Mapping[str, maintenance.MaintenanceTask] = {
        "documents_purged": lambda s, now: documents.purge_deleted(
            s, store, now, retention_days=settings.document_retention_days
        ),
        "orphans_removed": lambda s, now: documents.sweep_orphans(s, store, now),
        "idempotency_keys_expired": lambda s, now: maintenance.expire_idempotency_keys(
            s, now, ttl=ttl
        ),
        "auth_sessions_removed": auth.remove_ended_sessions,
        "jobs_removed": lambda s, now: jobs.purge_finished(
            s, now, retention_days=settings.job_retention_days
        ),
        "emails_removed": lambda s, now: email.purge_sent(
            s, now, retention_days=settings.email_retention_days
        ),
        "webhook_deliveries_removed": lambda s, now: webhooks.purge_deliveries(
            s, now, retention_days=settings.webhook_delivery_retention_days
        ),
        "queue_entries_refreshed": lambda s, now: queue_facts.refresh_stale(s),
        "hmis_exports_expired": lambda s, now: hmis_housekeeping.expire_hmis_exports(
            s, hmis_store, now
        ),
        "hmis_files_removed": lambda s, now: hmis_housekeeping.sweep_hmis_files(s, hmis_store, now),
        "hmis_runs_abandoned": hmis_housekeeping.fail_abandoned_runs,
        "rate_limits_expired": maintenance.expire_rate_limits,
    }
    return await maintenance.run_maintenance(session, tasks)


async def refresh_queue(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Recompute the household facts (and so the priority key) of every open queue entry, a
    chunk per unit of work: nights homeless and chronic status change with the date alone.
    The job runner runs it every ``CAS_QUEUE_REFRESH_INTERVAL_SECONDS`` (a day); ``cas
    queue-refresh`` on demand. How many entries."""
    return await queue_facts.refresh_all(sessionmaker)
