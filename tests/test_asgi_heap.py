"""The process manager's entry point (``uvicorn app.asgi:app``) leaves the heap it built out of
the garbage collector's reach and collects the young generation less often (see
``app.asgi``). Run in a process of its own: the test process keeps its own collector."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_entry_point_freezes_the_startup_heap() -> None:
    code = (
        "import gc, json, app.asgi; "
        "print(json.dumps([gc.get_threshold(), gc.get_freeze_count(), "
        "app.asgi.YOUNG_COLLECTION_AFTER, type(app.asgi.app).__name__]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    threshold, frozen, young, app_type = json.loads(done.stdout.strip().splitlines()[-1])
    assert threshold[0] == young == 7000
    assert threshold[1:] == [10, 10]  # the older generations as Python sets them
    assert frozen > 10_000  # the app's modules, models, schemas and routes
    assert app_type == "FastAPI"
