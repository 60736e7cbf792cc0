"""Background jobs of the server process (HMIS CSV exports and imports, until a job runner takes
them over): asyncio tasks started after the request that creates them commits, kept on
``app.state.background`` so they are not garbage-collected, cancelled when the server stops.

A job is one awaitable function of its id (``services.hmis.imports.run_import``,
``services.hmis.exports.run_export``); moving it onto a job runner means enqueueing that call
instead of ``launch_after_commit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from app.unit_of_work import on_commit

log = logging.getLogger("app.background")


class BackgroundJobs:
    """The running job tasks of this process. ``deferred``: jobs wait until ``drain`` runs them
    one after the other (tests sharing one database connection with the app)."""

    def __init__(self, *, deferred: bool = False) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self.deferred = deferred
        self._pending: list[tuple[str, Callable[[], Awaitable[Any]]]] = []

    def launch(self, name: str, job: Callable[[], Awaitable[Any]]) -> None:
        if self.deferred:
            self._pending.append((name, job))
            return
        self._start(name, job)

    def _start(self, name: str, job: Callable[[], Awaitable[Any]]) -> asyncio.Task[Any]:
        async def guarded() -> Any:
            try:
                return await job()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the job records its own failure; keep the server alive
                log.warning(
                    "background job failed", extra={"job": name, "error_type": type(exc).__name__}
                )
                return None

        task = asyncio.get_running_loop().create_task(guarded(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait until every job started so far (and those they start) is over; deferred jobs
        run now, one after the other."""
        while self._pending:
            name, job = self._pending.pop(0)
            await self._start(name, job)
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    @property
    def running(self) -> int:
        return len(self._tasks) + len(self._pending)


def background_jobs(app: Any) -> BackgroundJobs:
    jobs: BackgroundJobs | None = getattr(app.state, "background", None)
    if jobs is None:
        jobs = BackgroundJobs()
        app.state.background = jobs
    return jobs


def launch_after_commit(
    request: Request, session: AsyncSession, name: str, job: Callable[[], Awaitable[Any]]
) -> None:
    """Start ``job`` once the request's unit of work has committed (a job started before would
    not find the row the request created)."""
    jobs = background_jobs(request.app)
    on_commit(session, lambda: jobs.launch(name, job))
