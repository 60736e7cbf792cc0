"""Small in-process sliding-window limiters for the unauthenticated auth endpoints.

Per client IP, one budget for all of them together (``auth_rate_limit``; the address is decided
by ``app.http.client_address``); per account for failed logins (``account_login_budget``); per
email address for reset requests (``reset_request_within_budget``: beyond it a request is
dropped without a word). They protect one process; deployments with several replicas should also
limit at the proxy. Lockout (per account, in the database) is the durable protection.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request

from app.errors import TooManyRequests, Unauthorized


class SlidingWindowLimiter:
    # Every this many hits, keys with no hit inside their window are dropped, so addresses seen
    # once do not accumulate for the life of the process.
    SWEEP_EVERY = 1024

    def __init__(self) -> None:
        # key -> (window, hit times); keys of different windows share one limiter.
        self._hits: dict[str, tuple[float, deque[float]]] = {}
        self._since_sweep = 0

    def hit(self, key: str, limit: int, window: float) -> float | None:
        """Record a hit; return seconds to wait when over the limit, else None."""
        now = time.monotonic()
        self._since_sweep += 1
        if self._since_sweep >= self.SWEEP_EVERY:
            self._since_sweep = 0
            for stale in [k for k, (w, h) in self._hits.items() if not h or h[-1] <= now - w]:
                del self._hits[stale]
        entry = self._hits.get(key)
        hits: deque[float] = entry[1] if entry else deque()
        self._hits[key] = (window, hits)
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return window - (now - hits[0])
        hits.append(now)
        return None

    def refund(self, key: str) -> None:
        """Take back the latest hit of ``key`` (the attempt turned out not to count)."""
        entry = self._hits.get(key)
        if entry and entry[1]:
            entry[1].pop()

    def reset(self) -> None:
        self._hits.clear()


def _too_many(detail: str, wait: float) -> TooManyRequests:
    return TooManyRequests(detail, headers={"Retry-After": str(max(1, int(wait) + 1))})


async def auth_rate_limit(request: Request) -> None:
    """One budget per client address for every endpoint that takes it (login, refresh, the
    password reset and invitation endpoints): spreading attempts over them opens no new
    window."""
    settings = request.app.state.settings
    limiter: SlidingWindowLimiter = request.app.state.auth_limiter
    ip = request.client.host if request.client else "unknown"
    wait = limiter.hit(f"auth-ip:{ip}", settings.auth_rate_limit, settings.auth_rate_window_seconds)
    if wait is not None:
        raise _too_many("Too many attempts from this address; wait and try again.", wait)


def _address_key(kind: str, email_address: str) -> str:
    return f"{kind}:" + hashlib.sha256(email_address.strip().lower().encode()).hexdigest()


def reset_request_within_budget(request: Request, email_address: str) -> bool:
    """A reset request for this email address (from any client) within its budget
    (``password_reset_address_limit`` per window). Beyond it the request is to be dropped
    silently: the same answer, no email -- counted by the address as typed, so an address with
    an account and one without are treated alike."""
    settings = request.app.state.settings
    limiter: SlidingWindowLimiter = request.app.state.auth_limiter
    wait = limiter.hit(
        _address_key("reset-requests", email_address),
        settings.password_reset_address_limit,
        settings.password_reset_address_window_seconds,
    )
    return wait is None


@contextmanager
def account_login_budget(request: Request, email_address: str) -> Iterator[None]:
    """Failed logins per account, from any address: slows guessing spread over many IPs.

    Keyed by the email as typed (normalized), so an address without an account is counted and
    answered exactly like one with an account. The attempt is counted before the login runs (so
    parallel guesses cannot slip past) and given back unless it fails with 401.
    """
    settings = request.app.state.settings
    limiter: SlidingWindowLimiter = request.app.state.auth_limiter
    key = _address_key("login-failures", email_address)
    wait = limiter.hit(
        key, settings.account_login_failure_limit, settings.account_login_failure_window_seconds
    )
    if wait is not None:
        raise _too_many("Too many failed sign-ins for this email; wait and try again.", wait)
    failed = False
    try:
        yield
    except Unauthorized:
        failed = True
        raise
    finally:
        if not failed:
            limiter.refund(key)
