"""Running a benchmark script at a tiny size from a test: the script as its own process against
the test's PostgreSQL server (a throw-away database of its own), its JSON read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent.parent


def run_bench(script: str, args: list[str], database_url: str) -> dict[str, Any]:
    """``python bench/<script> <args>`` with ``BENCH_DATABASE_URL`` naming the test's server;
    fails the test with the script's error output if it does not finish cleanly."""
    server = make_url(database_url).set(drivername="postgresql", database="postgres")
    env = {**os.environ, "BENCH_DATABASE_URL": server.render_as_string(hide_password=False)}
    done = subprocess.run(
        [sys.executable, f"bench/{script}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result
