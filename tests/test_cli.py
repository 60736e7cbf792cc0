from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings


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
