"""Document Check and Client Files vocabularies (DOMAIN 6)."""

from __future__ import annotations

from typing import Literal, get_args

from typing_extensions import TypeAliasType

# The checklist's fixed shape (DOMAIN 6, seeds' "Uploading Documents"): category -> items.
# Which document types are acceptable for each item is configurable per CoC.
CHECKLIST: dict[str, tuple[str, ...]] = {
    "homeless": ("housing_status", "identity", "homeless"),
    "disability": ("disability",),
}

ClientFileType = TypeAliasType(
    "ClientFileType",
    Literal[
        "photo_id",
        "drivers_license",
        "state_id",
        "passport",
        "social_security_card",
        "birth_certificate",
        "military_discharge",
        "immigration_document",
        "insurance_card",
        "income_verification",
        "other",
    ],
)
CLIENT_FILE_TYPES: tuple[str, ...] = get_args(ClientFileType.__value__)
