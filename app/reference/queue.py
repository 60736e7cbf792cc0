"""The CAS queue's vocabularies (DOMAIN 7)."""

from __future__ import annotations

from enum import StrEnum


class IntakeStatus(StrEnum):
    """Where a queue entry's documentation review stands: CAS administrators mark it approved
    or incomplete_documentation; the case manager sends incomplete documentation back as
    pending_second_review."""

    PENDING = "pending"
    INCOMPLETE_DOCUMENTATION = "incomplete_documentation"
    PENDING_SECOND_REVIEW = "pending_second_review"
    APPROVED = "approved"


# Why a queue entry was closed.
CLOSE_REASONS = ("exited",)
