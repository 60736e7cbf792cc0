"""HUD code lists as served by ``/api/v1/reference/code-lists``."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CodeRead(BaseModel):
    value: int = Field(examples=[116])
    label: str = Field(
        examples=[
            "Place not meant for habitation (e.g., a vehicle, an abandoned building, "
            "bus/train/subway station/airport or anywhere outside)"
        ]
    )


class CodeListRead(BaseModel):
    element: str = Field(
        description="The HUD list id (as in the HMIS CSV FY2026 specification).",
        examples=["3.12.1"],
    )
    schema_name: str | None = Field(
        description="The schema component of the OpenAPI document that uses this list "
        "(`#/components/schemas/<name>`), when the API has fields drawn from it.",
        examples=["LivingSituation"],
    )
    codes: list[CodeRead] = Field(description="Values in ascending order, with HUD's labels.")
