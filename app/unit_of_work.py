"""One unit of work for everything that changes the database: HTTP requests (the route class,
``app.http.uow``), background jobs (``app.main``), the CLI and batch importers.

A unit of work owns one ``AsyncSession``, made when first asked for. Its work is committed once,
at the end, when nothing failed, and rolled back otherwise; services inside it ``flush``, never
``commit``. Work done outside the database (bytes written to the file store) registers an undo
with ``on_rollback``: it runs once the unit of work is over if its work was not committed; work
that needs the committed rows (a background job started on a row the request created)
registers with ``on_commit``.

    async with unit_of_work(sessionmaker) as session:
        await do_something(session)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger("app.unit_of_work")

_UNDO = "cas_on_rollback"
_AFTER = "cas_on_commit"


def on_rollback(session: AsyncSession, undo: Callable[[], Awaitable[None]]) -> None:
    """Run ``undo`` once the unit of work is over if its transaction was not committed
    (refused, failed, or lost a race at commit). For work the transaction cannot take back, such
    as bytes written to the file store; ``undo`` must not raise."""
    session.info.setdefault(_UNDO, []).append(undo)


def on_commit(session: AsyncSession, then: Callable[[], None]) -> None:
    """Call ``then`` once the unit of work's transaction is committed (never when it is not):
    for work that must see the committed rows, such as starting a background job on a row the
    request created. ``then`` must not raise and must not block (start a task, at most)."""
    session.info.setdefault(_AFTER, []).append(then)


class UnitOfWork:
    """A lazily made session, committed or rolled back once, then closed."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self._sessionmaker()
        return self._session

    @property
    def started(self) -> bool:
        """Whether anyone asked for the session (a request that never did has nothing to end)."""
        return self._session is not None

    async def commit(self) -> None:
        if self._session is not None:
            await self._session.commit()
            self._session.info.pop(_UNDO, None)  # the work is kept
            for then in self._session.info.pop(_AFTER, []):
                try:
                    then()
                except Exception:
                    log.exception("after-commit callback failed")

    async def rollback(self) -> None:
        if self._session is not None:
            await self._session.rollback()
            self._session.info.pop(_AFTER, None)

    async def close(self) -> None:
        """Close the session; undo what was registered for work that was not committed."""
        session, self._session = self._session, None
        if session is None:
            return
        session.info.pop(_AFTER, None)
        await session.close()
        for undo in session.info.pop(_UNDO, []):
            try:
                await undo()
            except Exception:
                log.exception("undo after rollback failed")


@contextlib.asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session committed when the block ends without an error, rolled back otherwise."""
    uow = UnitOfWork(sessionmaker)
    try:
        yield uow.session
        await uow.commit()
    except BaseException:
        await uow.rollback()
        raise
    finally:
        await uow.close()
