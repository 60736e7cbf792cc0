from __future__ import annotations

import asyncio
import json
import threading
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings
from tests.conftest import _admin_exec, _server_url
from tests.support.hmis import datalab_zip


def _invoke(args: list[str]) -> Any:
    """Run the CLI in its own thread: it runs its own event loops."""
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.update(r=CliRunner().invoke(cli, args)))
    worker.start()
    worker.join()
    return result["r"]


def test_openapi_command_prints_the_contract() -> None:
    r = _invoke(["openapi", "-o", "-"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["info"]["title"] == "Coordinated Access System API"
    assert "/api/v1/auth/login" in doc["paths"]


def test_create_admin_bootstraps_a_coc_and_refuses_weak_passwords(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAS_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        weak = _invoke(
            [
                "create-admin",
                "--email",
                "boot@ops.example",
                "--password",
                "short",
                "--coc-code",
                "ZZ-900",
            ]
        )
        assert weak.exit_code == 2
        assert "at least 12" in weak.output
        ok = _invoke(
            [
                "create-admin",
                "--email",
                "Boot@Ops.example",
                "--password",
                "a-long-enough-password",
                "--coc-code",
                "ZZ-900",
            ]
        )
        assert ok.exit_code == 0, ok.output
        assert "boot@ops.example" in ok.output
        bad = _invoke(
            [
                "create-admin",
                "--email",
                "x@ops.example",
                "--password",
                "a-long-enough-password",
                "--coc-code",
                "bad",
            ]
        )
        assert bad.exit_code == 2
        assert "XX-999" in bad.output
    finally:
        get_settings.cache_clear()


def test_hmis_csv_import_and_export_commands(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`cas import-hmis-csv` loads a zip (with its findings in a report file) and refuses a
    bad one with exit status 1; `cas export-hmis-csv` writes the zip. A database of their own:
    the commands commit."""
    server = _server_url()
    name = f"cas_cli_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin_exec(server, f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv("CAS_DATABASE_URL", url)
    monkeypatch.setenv("CAS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        admin = ["--user", "lead@cli.example", "--coc-code", "ZZ-901"]
        r = _invoke(
            [
                "create-admin",
                "--email",
                "lead@cli.example",
                "--password",
                "a-long-enough-password",
                "--coc-code",
                "ZZ-901",
            ]
        )
        assert r.exit_code == 0, r.output
        good = tmp_path / "good.zip"
        good.write_bytes(datalab_zip(repaired=True))
        report = tmp_path / "report.json"
        r = _invoke(["import-hmis-csv", str(good), *admin, "--report", str(report)])
        assert r.exit_code == 0, r.output
        assert "succeeded" in r.output and "Client: inserted 514" in r.output
        found = json.loads(report.read_text())
        assert found["status"] == "succeeded" and found["summary"]["high"] == 0
        assert {"file", "row", "column", "rule", "severity", "message"} == set(found["issues"][0])
        bad = tmp_path / "bad.zip"
        bad.write_bytes(datalab_zip())
        r = _invoke(["import-hmis-csv", str(bad), *admin])
        assert r.exit_code == 1, r.output
        assert "refused" in r.output and "Funder.Funder not_in_list" in r.output
        out = tmp_path / "export.zip"
        r = _invoke(
            [
                "export-hmis-csv",
                "-o",
                str(out),
                *admin,
                "--start",
                "2021-01-01",
                "--end",
                "2022-12-31",
            ]
        )
        assert r.exit_code == 0, r.output
        with zipfile.ZipFile(out) as zf:
            assert len(zf.namelist()) == 24
            assert zf.read("Client.csv").count(b"\r\n") > 400
        r = _invoke(
            ["import-hmis-csv", str(good), "--user", "nobody@cli.example", "--coc-code", "ZZ-901"]
        )
        assert r.exit_code == 1 and "Refused" in r.output
    finally:
        get_settings.cache_clear()
        asyncio.run(_admin_exec(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
