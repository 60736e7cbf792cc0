"""Sliding-window rate limits kept in PostgreSQL, so every instance of the service shares them.

Per client IP, one budget for all the unauthenticated auth endpoints together
(``auth_rate_limit``; the address is decided by ``app.http.client_address``); per account for
failed logins (``account_login_budget``); per email address for reset requests
(``reset_request_within_budget``: beyond it a request is dropped without a word); per user for
the expensive exports (``export_rate_limit``: the queue's and caseloads' CSV/XLSX, HUD HMIS CSV).

Each budget is one row of the UNLOGGED table ``rate_limit_buckets`` keyed by a SHA-256 of its
name (never an address or an email in clear), holding the times of its hits inside the window.
A hit is one statement, ``SELECT * FROM cas_rate_limit_hit(key, limit, window)`` (a SQL function
of migration 0019: the row is locked while it is pruned, checked and appended to), run in a
transaction of its own on a small connection pool of its own (a request holding a connection
never waits for a second one of the same pool): a hit counts even when the request's own unit of
work is rolled back (a failed login), and two instances, or two requests of one instance, never
both take the last place. Times are the database's clock, the same for every instance.
Housekeeping removes expired rows. Lockout (per account, on ``users``) is the durable protection.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.context import Actor
from app.errors import TooManyRequests, Unauthorized

_HIT = text("SELECT wait_seconds, hit_at FROM cas_rate_limit_hit(:key, :limit, :window)")
_REFUND = text(
    "UPDATE rate_limit_buckets SET hits = array_remove(hits, CAST(:hit_at AS timestamptz)) "
    "WHERE key = :key"
)


@dataclass(frozen=True)
class Hit:
    """The outcome of one hit: ``wait`` seconds when over the limit (nothing was recorded),
    else ``None`` and the time recorded (what ``refund`` takes back)."""

    key: str
    wait: float | None
    at: datetime | None


class RateLimiter:
    """The budgets in ``rate_limit_buckets``, through the app's engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @staticmethod
    def key(name: str) -> str:
        return hashlib.sha256(name.encode()).hexdigest()

    async def hit(self, name: str, limit: int, window: float) -> Hit:
        key = self.key(name)
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(_HIT, {"key": key, "limit": limit, "window": float(window)})
            ).one()
        return Hit(key=key, wait=row.wait_seconds, at=row.hit_at)

    async def refund(self, hit: Hit) -> None:
        """Take back ``hit`` (the attempt turned out not to count)."""
        if hit.at is None:
            return
        async with self.engine.begin() as conn:
            await conn.execute(_REFUND, {"key": hit.key, "hit_at": hit.at})

    async def reset(self) -> None:
        """Forget every budget (tests)."""
        async with self.engine.begin() as conn:
            await conn.execute(text("DELETE FROM rate_limit_buckets"))


def limiter(request: Request) -> RateLimiter:
    """The app's limiter: on the small pool made for it at startup, else on the app's engine
    (an engine given to the app, as tests do)."""
    engine: AsyncEngine = (
        getattr(request.app.state, "rate_limit_engine", None) or request.app.state.engine
    )
    return RateLimiter(engine)


def _too_many(detail: str, wait: float) -> TooManyRequests:
    return TooManyRequests(detail, headers={"Retry-After": str(max(1, int(wait) + 1))})


async def auth_rate_limit(request: Request) -> None:
    """One budget per client address for every endpoint that takes it (login, refresh, the
    password reset and invitation endpoints): spreading attempts over them opens no new
    window."""
    settings = request.app.state.settings
    ip = request.client.host if request.client else "unknown"
    hit = await limiter(request).hit(
        f"auth-ip:{ip}", settings.auth_rate_limit, settings.auth_rate_window_seconds
    )
    if hit.wait is not None:
        raise _too_many("Too many attempts from this address; wait and try again.", hit.wait)


async def export_hit(request: Request, actor: Actor) -> None:
    """One export (the queue's and caseloads' files, HUD HMIS CSV) by ``actor``, counted from
    any instance: ``export_rate_limit`` per ``export_rate_window_seconds`` (the dependency is
    ``app.deps.export_rate_limit``)."""
    settings = request.app.state.settings
    hit = await limiter(request).hit(
        f"exports:{actor.user_id}", settings.export_rate_limit, settings.export_rate_window_seconds
    )
    if hit.wait is not None:
        raise _too_many("Too many exports; wait and try again.", hit.wait)


def _address_key(kind: str, email_address: str) -> str:
    return f"{kind}:" + hashlib.sha256(email_address.strip().lower().encode()).hexdigest()


async def reset_request_within_budget(request: Request, email_address: str) -> bool:
    """A reset request for this email address (from any client) within its budget
    (``password_reset_address_limit`` per window). Beyond it the request is to be dropped
    silently: the same answer, no email -- counted by the address as typed, so an address with
    an account and one without are treated alike."""
    settings = request.app.state.settings
    hit = await limiter(request).hit(
        _address_key("reset-requests", email_address),
        settings.password_reset_address_limit,
        settings.password_reset_address_window_seconds,
    )
    return hit.wait is None


@asynccontextmanager
async def account_login_budget(request: Request, email_address: str) -> AsyncIterator[None]:
    """Failed logins per account, from any address: slows guessing spread over many IPs.

    Keyed by the email as typed (normalized), so an address without an account is counted and
    answered exactly like one with an account. The attempt is counted before the login runs (so
    parallel guesses cannot slip past, on any instance) and given back unless it fails with 401.
    """
    settings = request.app.state.settings
    limits = limiter(request)
    hit = await limits.hit(
        _address_key("login-failures", email_address),
        settings.account_login_failure_limit,
        settings.account_login_failure_window_seconds,
    )
    if hit.wait is not None:
        raise _too_many("Too many failed sign-ins for this email; wait and try again.", hit.wait)
    failed = False
    try:
        yield
    except Unauthorized:
        failed = True
        raise
    finally:
        if not failed:
            await limits.refund(hit)


__all__ = [
    "Hit",
    "RateLimiter",
    "account_login_budget",
    "auth_rate_limit",
    "export_hit",
    "reset_request_within_budget",
]
