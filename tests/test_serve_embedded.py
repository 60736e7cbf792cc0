"""``cas serve`` on the embedded PostgreSQL, as real processes: stopping the server (SIGTERM or
Ctrl-C) stops the database it started, a second server on the same data directory is refused
while the first runs, and a database left running by a killed server is taken over."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CAS = str(Path(sys.executable).parent / "cas")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_pids(pgdata: Path) -> list[int]:
    """PostgreSQL processes working on ``pgdata``: its postmaster and that one's children."""
    processes: dict[int, tuple[int, list[bytes]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        processes[int(entry.name)] = (ppid, cmdline)
    masters = {
        pid
        for pid, (_, cmdline) in processes.items()
        if cmdline[0].endswith(b"/postgres") and str(pgdata).encode() in cmdline
    }
    return sorted(masters | {pid for pid, (ppid, _) in processes.items() if ppid in masters})


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("CAS_DATABASE_URL", "DATABASE_URL")}
        env.update(
            CAS_DATA_DIR=str(data_dir),
            CAS_EMAIL_DELIVERY_INTERVAL_SECONDS="0",
            CAS_MAINTENANCE_INTERVAL_SECONDS="0",
        )
        self.process = subprocess.Popen(
            [CAS, "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_ready(self, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"cas serve did not become ready:\n{self.output()}")

    def wait_exit(self, seconds: float = 30) -> int:
        return self.process.wait(seconds)

    def output(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        assert self.process.stdout is not None
        return self.process.stdout.read()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("serve")
    yield path
    # Whatever a failed test left behind: the processes it started and their database.
    for pid in postgres_pids(path / "pgdata"):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def servers(data_dir: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


def test_sigterm_stops_the_database_and_a_second_server_is_refused(
    data_dir: Path, servers: list[Server]
) -> None:
    pgdata = data_dir / "pgdata"
    first = Server(data_dir)
    servers.append(first)
    first.wait_ready()
    assert postgres_pids(pgdata)

    second = Server(data_dir)
    servers.append(second)
    code = second.wait_exit()
    output = second.output()
    assert code != 0
    assert "already in use by another process" in output, output
    assert str(first.process.pid) in output
    assert "Traceback" not in output
    first.wait_ready(5)  # the refused server did not stop the first one's database

    first.process.send_signal(signal.SIGTERM)
    assert first.wait_exit() == 0, first.output()
    assert postgres_pids(pgdata) == []


def test_ctrl_c_stops_the_database_and_a_leftover_database_is_taken_over(
    data_dir: Path, servers: list[Server]
) -> None:
    pgdata = data_dir / "pgdata"
    killed = Server(data_dir)
    servers.append(killed)
    killed.wait_ready()
    killed.process.kill()  # no chance to clean up: its database keeps running
    killed.wait_exit()
    assert postgres_pids(pgdata)

    server = Server(data_dir)
    servers.append(server)
    server.wait_ready()  # the leftover has no live owner: not a reason to refuse
    server.process.send_signal(signal.SIGINT)
    assert server.wait_exit() == 0, server.output()
    assert postgres_pids(pgdata) == []
