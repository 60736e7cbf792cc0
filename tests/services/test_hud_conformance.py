"""HUD FY2026 pure rules (``app.reference``) and the named policies of issue 11, without HTTP:
income totals and sources, 4.11, data-quality kinds, the annual window, diversion exits, who
runs the intake, who sees DV answers, a case manager's own case."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from app.errors import ValidationFailed
from app.permissions import Role
from app.reference import YES_NO_REASONS, codes
from app.reference.ce import check_annual_window, nearest_anniversary
from app.reference.data_quality import (
    age_on,
    client_issues,
    enrollment_issues,
    ssn_is_sequential_or_repeated,
)
from app.reference.income import (
    DV_WHEN_OCCURRED,
    NO_INSURANCE_REASONS,
    check_domestic_violence,
    check_income_benefits,
)
from app.reference.living_situations import (
    DESTINATIONS,
    DIVERSION_DESTINATIONS,
    EXIT_CLS_FOR_DESTINATION,
    check_destination,
    check_diversion_exit,
)
from app.schemas.enrollments import DomesticViolenceIn, IncomeBenefitsIn
from app.services.ce.policy import (
    EnrollmentFacts,
    can_run_intake,
    can_see_domestic_violence,
    can_write_enrollment,
)
from tests.services.test_reference import _literal
from tests.support.actors import COC, make_actor


def _field(exc: pytest.ExceptionInfo[ValidationFailed]) -> str:
    assert exc.value.errors is not None
    return ".".join(str(p) for p in exc.value.errors[0]["loc"][1:])


# --- 4.02-4.04 -----------------------------------------------------------------------------------


def test_income_total_is_the_sum_and_unanswered_sources_are_no() -> None:
    v = check_income_benefits(
        {
            "income_from_any_source": 1,
            "earned": 1,
            "earned_amount": Decimal("100.25"),
            "pension": 1,
            "pension_amount": Decimal("50"),
            "benefits_from_any_source": 0,
        }
    )
    assert v["total_monthly_income"] == Decimal("150.25")
    assert v["ssi"] == 0 and v["snap"] == 0 and v["wic"] == 0
    assert v.get("medicaid") is None  # 4.04 not answered: its sources stay empty
    assert check_income_benefits({"income_from_any_source": 0})["total_monthly_income"] == 0
    assert check_income_benefits({"income_from_any_source": 99})["total_monthly_income"] is None


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({}, "income_from_any_source"),
        ({"income_from_any_source": 1}, "income_from_any_source"),
        ({"income_from_any_source": 0, "alimony": 1}, "alimony"),
        ({"income_from_any_source": 9, "alimony": 0}, "alimony"),
        ({"income_from_any_source": 1, "alimony": 1}, "alimony_amount"),
        (
            {
                "income_from_any_source": 1,
                "alimony": 1,
                "alimony_amount": 1,
                "total_monthly_income": 2,
            },
            "total_monthly_income",
        ),
        ({"insurance_from_any_source": 1, "cobra": 1, "no_cobra_reason": 1}, "no_cobra_reason"),
        ({"insurance_from_any_source": 1, "other_insurance": 1}, "other_insurance_identify"),
        ({"income_from_any_source": 0, "snap": 1}, "benefits_from_any_source"),
    ],
)
def test_income_inconsistencies_name_the_field(values: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_income_benefits(values, "income_benefits")
    assert _field(caught) == f"income_benefits.{field}"
    assert "HUD 4.0" in caught.value.detail


def test_domestic_violence_follow_ups() -> None:
    assert check_domestic_violence({"domestic_violence_survivor": 0}).get("when_occurred") is None
    full = {"domestic_violence_survivor": 1, "when_occurred": 4, "currently_fleeing": 8}
    assert check_domestic_violence(full) == full
    for values, field in (
        ({"domestic_violence_survivor": 1, "currently_fleeing": 0}, "when_occurred"),
        ({"domestic_violence_survivor": 1, "when_occurred": 1}, "currently_fleeing"),
        ({"domestic_violence_survivor": 9, "when_occurred": 1}, "when_occurred"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            check_domestic_violence(values)
        assert _field(caught) == field


def test_request_codes_are_the_hud_lists() -> None:
    assert _literal(IncomeBenefitsIn.model_fields["no_medicaid_reason"].annotation) == (
        NO_INSURANCE_REASONS
    )
    assert _literal(DomesticViolenceIn.model_fields["when_occurred"].annotation) == DV_WHEN_OCCURRED
    assert codes("4.04.A") == NO_INSURANCE_REASONS and codes("1.8") == YES_NO_REASONS


# --- data quality, ages, the annual window ----------------------------------------------------


@pytest.mark.parametrize(
    ("ssn", "flagged"),
    [
        ("123456789", True),
        ("987654321", True),
        ("012345678", True),
        ("111111111", True),
        ("000000000", True),
        ("234567890", False),  # no wrap-around
        ("123456780", False),
        ("12345678x", False),
        (None, False),
    ],
)
def test_placeholder_ssns(ssn: str | None, flagged: bool) -> None:
    assert ssn_is_sequential_or_repeated(ssn) is flagged


def test_dob_issues() -> None:
    assert client_issues(None, date(1914, 12, 31)) == {"dob_before_1915"}
    assert client_issues("123456789", date(1915, 1, 1)) == {"ssn_sequential_or_repeated"}
    assert enrollment_issues(date(2026, 1, 2), date(2026, 1, 1)) == {"dob_after_entry"}
    assert enrollment_issues(date(1915, 1, 1), date(2021, 1, 1)) == {"age_over_105"}
    assert enrollment_issues(date(1915, 1, 2), date(2021, 1, 1)) == set()
    assert age_on(date(2008, 6, 15), date(2026, 6, 14)) == 17
    assert age_on(date(2008, 6, 15), date(2026, 6, 15)) == 18


@pytest.mark.parametrize(
    ("entry", "on", "ok"),
    [
        (date(2025, 3, 10), date(2026, 3, 10), True),
        (date(2025, 3, 10), date(2026, 2, 8), True),  # 30 days before
        (date(2025, 3, 10), date(2026, 2, 7), False),
        (date(2025, 3, 10), date(2026, 4, 9), True),  # 30 days after
        (date(2025, 3, 10), date(2026, 4, 10), False),
        (date(2025, 3, 10), date(2025, 3, 30), False),  # the entry itself is no anniversary
        (date(2024, 2, 29), date(2025, 2, 28), True),
        (date(2023, 12, 20), date(2026, 1, 10), True),  # the second anniversary, across new year
    ],
)
def test_annual_window(entry: date, on: date, ok: bool) -> None:
    if ok:
        check_annual_window(entry, on, "assessment_date")
    else:
        with pytest.raises(ValidationFailed) as caught:
            check_annual_window(entry, on, "assessment_date")
        assert "HUD 5.03" in caught.value.detail
    assert nearest_anniversary(entry, on) > entry


# --- diversion exits ------------------------------------------------------------------------------


def test_every_diversion_destination_has_its_exit_situation() -> None:
    assert set(EXIT_CLS_FOR_DESTINATION) == DIVERSION_DESTINATIONS
    assert DIVERSION_DESTINATIONS <= DESTINATIONS
    assert not {c for c in DIVERSION_DESTINATIONS if c // 100 in (1, 2)}
    assert {207, 99, 8, 9, 17, 24, 30, 302} & DIVERSION_DESTINATIONS == set()


def test_diversion_exit_situation_corresponds() -> None:
    check_diversion_exit(422, None, {"current_living_situation": 335}, "diversion", "cls")
    check_diversion_exit(
        435, 439, {"current_living_situation": 435, "cls_subsidy_type": 439}, "d", "cls"
    )
    for destination, subsidy, cls, field in (
        (410, None, {"current_living_situation": 116}, "d.cls.current_living_situation"),
        (207, None, None, "d.destination"),
        (
            435,
            439,
            {"current_living_situation": 435, "cls_subsidy_type": 440},
            "d.cls.cls_subsidy_type",
        ),
    ):
        with pytest.raises(ValidationFailed) as caught:
            check_diversion_exit(destination, subsidy, cls, "d", "cls")
        assert _field(caught) == field
    with pytest.raises(ValidationFailed) as caught:
        check_destination({"destination": 17}, "")
    assert _field(caught) == "other_destination" and "3.12.B" in caught.value.detail


# --- policies ---------------------------------------------------------------------------------


def test_who_runs_the_intake() -> None:
    ap = make_actor()  # make_actor acts for an approved access point
    assert can_run_intake(ap, member_of_approved_access_point=False)
    cas = make_actor(kind="cas")
    not_ap = _without_access_point(cas)
    assert can_run_intake(not_ap, member_of_approved_access_point=True)
    assert not can_run_intake(not_ap, member_of_approved_access_point=False)
    agency = _without_access_point(make_actor())
    assert not can_run_intake(agency, member_of_approved_access_point=True)
    assert not can_run_intake(_without_access_point(make_actor(vsp=True)), True)


def _without_access_point(actor: Any) -> Any:
    return replace(actor, organization=replace(actor.organization, access_point=False))


def test_who_sees_domestic_violence_answers() -> None:
    enrolling = uuid.uuid4()
    assert can_see_domestic_violence(make_actor(org=enrolling), enrolling)
    assert can_see_domestic_violence(make_actor(kind="cas"), enrolling)
    assert can_see_domestic_violence(make_actor(Role.CAS_ADMIN), enrolling)
    assert can_see_domestic_violence(make_actor(Role.SYSTEM_ADMIN), enrolling)
    assert not can_see_domestic_violence(make_actor(), enrolling)
    assert not can_see_domestic_violence(make_actor(Role.AGENCY_ADMIN), enrolling)
    assert not can_see_domestic_violence(make_actor(org=enrolling, vsp=True), enrolling)


def test_an_assigned_case_manager_writes_their_case() -> None:
    me = uuid.uuid4()
    facts = EnrollmentFacts(
        coc_id=COC,
        project_organization_id=uuid.uuid4(),
        is_coordinated_entry=True,
        created_by_organization_id=uuid.uuid4(),
        assigned_organization_ids=frozenset({uuid.uuid4()}),
        assigned_user_ids=frozenset({me}),
    )
    assert can_write_enrollment(make_actor(user_id=me), facts)
    assert not can_write_enrollment(make_actor(), facts)
    assert not can_write_enrollment(make_actor(user_id=me, vsp=True), facts)
