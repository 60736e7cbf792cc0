"""The caseload views' vocabularies (DOMAIN 7, seeds' "My CAS Active Cases"): which caseload,
and what it is sorted by."""

from __future__ import annotations

from enum import StrEnum


class Caseload(StrEnum):
    MINE = "mine"
    ORGANIZATION = "organization"


class CaseloadSort(StrEnum):
    """What a caseload is ordered by (ties: the enrollment id)."""

    CLIENT_ID = "client_id"
    ENROLL_DATE = "enroll_date"
    DAYS_ENROLLED = "days_enrolled"
    PRIORITIZATION_STATUS = "prioritization_status"
    LAST_ASSESSMENT_DATE = "last_assessment_date"
    LAST_SERVICE_DATE = "last_service_date"
    LAST_CLS_DATE = "last_cls_date"
    # The queue's own sorts, by the household's open entry.
    RANK = "rank"
    SCORE = "score"
    INTAKE_STATUS = "intake_status"
    HOUSEHOLD_TYPE = "household_type"
    HOUSEHOLD_SIZE = "household_size"
    REFERRAL_STATUS = "referral_status"


class CaseloadSortOrder(StrEnum):
    """A sort (``CaseloadSort``) ascending, or with a leading ``-`` exactly reversed (as the
    queue's ``sort``)."""

    CLIENT_ID = "client_id"
    CLIENT_ID_DESC = "-client_id"
    ENROLL_DATE = "enroll_date"
    ENROLL_DATE_DESC = "-enroll_date"
    DAYS_ENROLLED = "days_enrolled"
    DAYS_ENROLLED_DESC = "-days_enrolled"
    PRIORITIZATION_STATUS = "prioritization_status"
    PRIORITIZATION_STATUS_DESC = "-prioritization_status"
    LAST_ASSESSMENT_DATE = "last_assessment_date"
    LAST_ASSESSMENT_DATE_DESC = "-last_assessment_date"
    LAST_SERVICE_DATE = "last_service_date"
    LAST_SERVICE_DATE_DESC = "-last_service_date"
    LAST_CLS_DATE = "last_cls_date"
    LAST_CLS_DATE_DESC = "-last_cls_date"
    RANK = "rank"
    RANK_DESC = "-rank"
    SCORE = "score"
    SCORE_DESC = "-score"
    INTAKE_STATUS = "intake_status"
    INTAKE_STATUS_DESC = "-intake_status"
    HOUSEHOLD_TYPE = "household_type"
    HOUSEHOLD_TYPE_DESC = "-household_type"
    HOUSEHOLD_SIZE = "household_size"
    HOUSEHOLD_SIZE_DESC = "-household_size"
    REFERRAL_STATUS = "referral_status"
    REFERRAL_STATUS_DESC = "-referral_status"
