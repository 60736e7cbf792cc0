"""The shared candidate and explanation statements hold no request's values: every parameter
they bind by value is a fixed code, the rest are named and given at each execution."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects import postgresql

from app.reference.matching import Polarity, RequirementKind
from app.services.matching import eligibility_sql as sql

SHAPE = (
    sql.RuleShape(RequirementKind.CHRONIC, Polarity.MUST),
    sql.RuleShape(RequirementKind.SEX_OFFENDER_REGISTRY, Polarity.MUST_NOT),
    sql.RuleShape(RequirementKind.AREA_TIE, Polarity.MUST, has_area=True),
    sql.RuleShape(RequirementKind.AREA_TIE, Polarity.MUST_NOT),
    sql.RuleShape(RequirementKind.HOUSEHOLD_SIZE, Polarity.MUST, has_min=True, has_max=True),
    sql.RuleShape(RequirementKind.FITS_BEDROOMS, Polarity.MUST),
    sql.RuleShape(RequirementKind.INCOME_CEILING, Polarity.MUST, has_max=True),
    sql.RuleShape(RequirementKind.VERIFIED_DISABILITY, Polarity.MUST),
)
# Values bound by the queue's helpers and the rank (the parked status, the first bound of the
# rank count, the one added to the entries ahead).
FIXED = {"parked", uuid.UUID(int=0), 1}
NAMED = {
    "coc_id",
    "project_id",
    "today",
    "limit_plus_one",
    "after_key",
    "after_id",
    "entry_id",
    "client_id",
}
NAMED |= {"area_2", "min_4", "max_4", "people_5", "max_6"}


def _binds(stmt: object) -> dict[str, object]:
    compiled = stmt.compile(dialect=postgresql.dialect())  # type: ignore[attr-defined]
    return {b.key: b.value for b in compiled.binds.values()}


def test_templates_bind_no_request_value() -> None:
    for stmt in (
        sql.candidate_page(SHAPE, False),
        sql.candidate_page(SHAPE, True),
        sql.entry_row(SHAPE, True),
        sql.entry_row(SHAPE, False),
        sql.entry_passes(SHAPE),
    ):
        for key, value in _binds(stmt).items():
            if key in NAMED:
                assert value is None, key
            else:
                assert value in FIXED, (key, value)


def test_built_once_per_shape() -> None:
    assert sql.candidate_page(SHAPE, False) is sql.candidate_page(SHAPE, False)
    assert sql.candidate_page(SHAPE, False) is not sql.candidate_page(SHAPE, True)
    other = (sql.RuleShape(RequirementKind.VETERAN, Polarity.MUST),)
    assert sql.entry_row(other, True) is not sql.entry_row(SHAPE, True)


def test_parameters_of_the_rules() -> None:
    assert sql.rule_params(5, RequirementKind.FITS_BEDROOMS, None, None, None, 0) == {"people_5": 2}
    assert sql.rule_params(5, RequirementKind.FITS_BEDROOMS, None, None, None, 3) == {"people_5": 6}
    assert sql.rule_params(2, RequirementKind.AREA_TIE, None, None, None, 1) == {}
    assert sql.rule_params(2, RequirementKind.AREA_TIE, "coc_area", None, None, 1) == {
        "area_2": "coc_area"
    }
    assert sql.rule_params(4, RequirementKind.HOUSEHOLD_SIZE, None, 1, None, 1) == {"min_4": 1}
