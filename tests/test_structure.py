"""The code's structure rules, so `pytest` alone (what CI runs) fails when one is broken:
import-linter's contracts (pyproject.toml), ruff's lint and format, no function-local imports
of the app (they hide cycles), routers that only parse, authorize, call a service and shape.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

APP = ROOT / "app"
CHECKED = ["app", "tests", "bench", "migrations"]


def _tool(name: str) -> str:
    """The dev tool's executable, beside this Python first (the project's virtualenv)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[dev]'")
    return found


def _run(*args: str) -> None:
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"


def test_import_contracts_hold() -> None:
    _run(_tool("lint-imports"), "--no-cache")


def test_ruff_lint_is_clean() -> None:
    _run(_tool("ruff"), "check", *CHECKED)


def test_ruff_format_is_clean() -> None:
    _run(_tool("ruff"), "format", "--check", *CHECKED)


def _modules(folder: Path) -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(), str(p))) for p in sorted(folder.rglob("*.py"))]


def _imports_app(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").startswith("app")
    if isinstance(node, ast.Import):
        return any(alias.name.startswith("app") for alias in node.names)
    return False


def test_no_function_local_imports_of_the_app() -> None:
    """An import of the app inside a function hides a dependency (usually a cycle) from the
    import contracts: import at the top of the module, or move the code."""
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, tree in _modules(APP)
        for func in ast.walk(tree)
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(func)
        if _imports_app(node)
    ]
    assert not found, found


AUDIT_WRITERS = {"record", "record_pii_read", "record_pii_reads"}


def test_routers_build_no_queries_page_nothing_and_write_no_audit() -> None:
    """Routers parse, authorize, call a service and shape the answer: queries, the page of a
    list and the audit trail belong to the services (models are kept out by the contracts)."""
    found = []
    for path, tree in _modules(APP / "routers"):
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                names = {alias.name for alias in node.names}
                if module == "sqlalchemy" or (
                    module.startswith("sqlalchemy.") and module != "sqlalchemy.ext.asyncio"
                ):
                    found.append(f"{where}:{node.lineno} imports {module}")
                if module.endswith("platform.pagination") or "paginate" in names:
                    found.append(f"{where}:{node.lineno} pages a query itself")
            elif isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in AUDIT_WRITERS:
                    found.append(f"{where}:{node.lineno} writes the audit trail ({name})")
    assert not found, found
