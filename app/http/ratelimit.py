"""A small in-process sliding-window limiter for the unauthenticated auth endpoints.

Per client IP. It protects one process; deployments with several replicas should also limit at
the proxy. Lockout (per account, in the database) is the durable protection.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

from fastapi import Request

from app.errors import TooManyRequests


class SlidingWindowLimiter:
    # Every this many hits, keys with no hit inside their window are dropped, so addresses seen
    # once do not accumulate for the life of the process.
    SWEEP_EVERY = 1024

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._since_sweep = 0

    def hit(self, key: str, limit: int, window: float) -> float | None:
        """Record a hit; return seconds to wait when over the limit, else None."""
        now = time.monotonic()
        self._since_sweep += 1
        if self._since_sweep >= self.SWEEP_EVERY:
            self._since_sweep = 0
            for stale in [k for k, h in self._hits.items() if not h or h[-1] <= now - window]:
                del self._hits[stale]
        hits = self._hits[key]
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return window - (now - hits[0])
        hits.append(now)
        return None

    def reset(self) -> None:
        self._hits.clear()


async def auth_rate_limit(request: Request) -> None:
    settings = request.app.state.settings
    limiter: SlidingWindowLimiter = request.app.state.auth_limiter
    ip = request.client.host if request.client else "unknown"
    wait = limiter.hit(
        f"{ip}:{request.url.path}", settings.auth_rate_limit, settings.auth_rate_window_seconds
    )
    if wait is not None:
        raise TooManyRequests(
            "Too many attempts from this address; wait and try again.",
            headers={"Retry-After": str(max(1, int(wait) + 1))},
        )
