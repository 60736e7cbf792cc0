"""The code lists models, schemas and services share are HUD's lists, defined once."""

from __future__ import annotations

from typing import get_args

from app.models.ce_records import HousingNeedsAssessment
from app.models.clients import Client
from app.reference import DATA_QUALITY, YES_NO_REASONS, YesNoReasons, codes, sql_list


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
