"""The code lists models, schemas and services share are HUD's lists, defined once."""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

import pytest

from app.models.ce_records import HousingNeedsAssessment
from app.models.clients import Client
from app.reference import (
    DATA_QUALITY,
    RELATIONSHIP_TO_HOH,
    YES_NO,
    YES_NO_REASONS,
    YesNoReasons,
    codes,
    sql_list,
)
from app.reference.ce import (
    CE_ASSESSMENT_LEVELS,
    CE_ASSESSMENT_TYPES,
    DISABILITY_TYPES,
    PRIORITIZATION_STATUSES,
    REFERRAL_RESULTS,
    SUBSTANCE_USE_RESPONSES,
)
from app.schemas.codes import HudList
from app.schemas.enrollments import BarrierIn, CeAssessmentCreate, CeEventCreate, Relationship


def test_yes_no_reasons_is_list_1_8_everywhere() -> None:
    assert frozenset(get_args(YesNoReasons)) == YES_NO_REASONS == codes("1.8")
    assert sql_list(YES_NO_REASONS) == "(0, 1, 8, 9, 99)"


def test_name_ssn_and_dob_data_quality_share_one_list() -> None:
    assert DATA_QUALITY == codes("3.01.5") == codes("3.02.2") == codes("3.03.2")
    assert sql_list(DATA_QUALITY) == "(1, 2, 8, 9, 99)"


def test_check_constraints_use_the_reference_lists() -> None:
    texts = {
        str(c.sqltext)
        for table in (Client.__table__, HousingNeedsAssessment.__table__)
        for c in table.constraints
        if hasattr(c, "sqltext")
    }
    assert f"name_data_quality IN {sql_list(DATA_QUALITY)}" in texts
    assert f"veteran_status IN {sql_list(YES_NO_REASONS)}" in texts


def _literal(annotation: Any) -> frozenset[Any]:
    """The values a field accepts: a named HUD list of ``app.schemas.codes`` (or one ``| None``),
    or ``Literal[...]``."""
    args = get_args(annotation)
    if args and get_origin(annotation) is not Literal and type(None) in args:
        (annotation,) = (a for a in args if a is not type(None))
        args = get_args(annotation)
    if hasattr(annotation, "__value__"):  # a named type (TypeAliasType)
        value = annotation.__value__
        lists = [m for m in getattr(value, "__metadata__", ()) if isinstance(m, HudList)]
        if lists:
            return frozenset(lists[0].labels)
        args = get_args(value)
    return frozenset(args)


@pytest.mark.parametrize(
    ("annotation", "codes_"),
    [
        (Relationship, RELATIONSHIP_TO_HOH),
        (BarrierIn.model_fields["disability_type"].annotation, DISABILITY_TYPES),
        (BarrierIn.model_fields["disability_response"].annotation, SUBSTANCE_USE_RESPONSES),
        (CeAssessmentCreate.model_fields["assessment_type"].annotation, CE_ASSESSMENT_TYPES),
        (CeAssessmentCreate.model_fields["assessment_level"].annotation, CE_ASSESSMENT_LEVELS),
        (
            CeAssessmentCreate.model_fields["prioritization_status"].annotation,
            PRIORITIZATION_STATUSES,
        ),
        (CeEventCreate.model_fields["referral_result"].annotation, REFERRAL_RESULTS),
        (CeEventCreate.model_fields["prob_sol_div_rr_result"].annotation, YES_NO),
    ],
)
def test_request_fields_accept_exactly_the_reference_codes(
    annotation: Any, codes_: frozenset[int]
) -> None:
    assert _literal(annotation) == codes_
