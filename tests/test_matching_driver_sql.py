"""Candidates and explanations run ``eligibility_sql``'s statements compiled once for the
driver (``driver_sql``): the SQL exactly as SQLAlchemy compiles it, each positional argument
from the request's values or a constant of the statement, and a cache that never grows
without bound."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from app.reference.matching import Polarity, RequirementKind
from app.services.matching import eligibility_sql as sql
from app.services.platform import audit

DIALECT = asyncpg_dialect()
SHAPE: sql.Shape = (
    sql.RuleShape(RequirementKind.CHRONIC, Polarity.MUST),
    sql.RuleShape(RequirementKind.AREA_TIE, Polarity.MUST, has_area=True),
    sql.RuleShape(RequirementKind.FITS_BEDROOMS, Polarity.MUST),
)


def _entry_values() -> dict[str, Any]:
    return {
        "coc_id": uuid.uuid4(),
        "project_id": uuid.uuid4(),
        "client_id": uuid.uuid4(),
        "area_1": "north",
        "people_2": 2,
    }


def _expected(stmt: Any, values: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    compiled = stmt.compile(dialect=DIALECT, compile_kwargs={"render_postcompile": True})
    args = tuple({**compiled.params, **values}[n] for n in compiled.positiontup)
    return str(compiled), args


def test_the_sql_and_arguments_are_the_compiled_statements() -> None:
    values = _entry_values()
    stmt = sql.entry_row(SHAPE, True)
    driver = sql.driver_sql(DIALECT, stmt, values)
    assert (driver.sql, driver.args(values)) == _expected(stmt, values)
    # A constant of the statement (the rank's "+ 1") is kept, not asked of the request.
    assert any(not named for named, _ in driver.sources)
    # Other values, the same compiled statement: only the arguments change.
    other = _entry_values()
    again = sql.driver_sql(DIALECT, stmt, other)
    assert again is driver
    assert again.args(other) == _expected(stmt, other)[1]

    # The explanation's first read, writing its read event in the same statement.
    recorded = {**values, **{sql.READ + c: f"{c}-value" for c in audit._READ_COLUMNS}}
    stmt = sql.entry_row_recorded(SHAPE)
    driver = sql.driver_sql(DIALECT, stmt, recorded)
    assert (driver.sql, driver.args(recorded)) == _expected(stmt, recorded)
    assert driver.sql.startswith("WITH read_event AS \n(INSERT INTO audit_events")

    page_values = {
        **sql.page_params(uuid.uuid4(), uuid.uuid4(), date(2026, 6, 1), 50, ([1, 2], uuid.uuid4())),
        "area_1": "south",
        "people_2": 4,
    }
    page = sql.candidate_page(SHAPE, True)
    driver = sql.driver_sql(DIALECT, page, page_values)
    assert (driver.sql, driver.args(page_values)) == _expected(page, page_values)


def test_the_unit_with_the_client_for_each_visibility() -> None:
    for visibility in ("nothing", "coc", "granted"):
        values = {
            "unit_id": uuid.uuid4(),
            "coc_id": uuid.uuid4(),
            "client_id": uuid.uuid4(),
            "visible_coc_id": uuid.uuid4(),
            "visible_organization_id": uuid.uuid4(),
            "visible_user_id": uuid.uuid4(),
            "visible_today": date(2026, 6, 1),
        }
        stmt = sql.target_with_client(visibility)  # type: ignore[arg-type]
        driver = sql.driver_sql(DIALECT, stmt, values)
        assert (driver.sql, driver.args(values)) == _expected(stmt, values)


def test_a_parameter_not_named_is_an_error_not_a_null(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql, "_DRIVER_SQL", {})  # compiled here, not found compiled before
    values = _entry_values()
    del values["area_1"]
    with pytest.raises(KeyError):
        sql.driver_sql(DIALECT, sql.entry_row(SHAPE, False), {**values, "entry_id": uuid.uuid4()})


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql, "DRIVER_SQL_LIMIT", 3)
    monkeypatch.setattr(sql, "_DRIVER_SQL", {})
    values = _entry_values()
    statements = [
        sql.entry_row(SHAPE[:n], by_head) for n in range(1, 4) for by_head in (True, False)
    ]
    for stmt in statements:
        driver = sql.driver_sql(DIALECT, stmt, {**values, "entry_id": uuid.uuid4()})
        assert len(sql._DRIVER_SQL) <= 3
        # Whatever was emptied, each statement still gets its own SQL.
        assert driver.sql == _expected(stmt, {})[0]
