"""``app.asgi:app`` with a cProfile switch, for ``bench/request_cpu.py`` (never deployed).

``POST /__profile/start`` enables a ``cProfile.Profile`` on the server's thread (the event loop:
with requests sent one at a time, everything it records belongs to them), ``POST
/__profile/stop`` disables it and writes the statistics (``pstats``) to
``$BENCH_PROFILE_DIR/<name>.pstats``, ``name`` being the query string.
"""

from __future__ import annotations

import cProfile
import os
import time
from pathlib import Path

from starlette.types import Receive, Scope, Send

from app.asgi import app as service

_profile: cProfile.Profile | None = None


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    global _profile
    path = scope.get("path", "") if scope["type"] == "http" else ""
    if not path.startswith("/__profile/"):
        await service(scope, receive, send)
        return
    if path == "/__profile/start":
        _profile = cProfile.Profile(time.thread_time)  # CPU only
        _profile.enable()
    elif path == "/__profile/stop" and _profile is not None:
        _profile.disable()
        name = scope.get("query_string", b"").decode() or "profile"
        out = Path(os.environ["BENCH_PROFILE_DIR"]) / f"{name}.pstats"
        _profile.dump_stats(str(out))
        _profile = None
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})
