"""Client vocabularies that are not HUD CSV lists."""

from __future__ import annotations

from typing import Literal, get_args

from typing_extensions import TypeAliasType

# FY2024 gender multi-select (3.06.1), kept as optional data next to FY2026 Sex (4.21); stored
# as these codes in ``clients.gender``.
Gender = TypeAliasType(
    "Gender",
    Literal[
        "woman",
        "man",
        "non_binary",
        "culturally_specific",
        "transgender",
        "questioning",
        "different_identity",
    ],
)
GENDER_CODES: tuple[str, ...] = get_args(Gender.__value__)
