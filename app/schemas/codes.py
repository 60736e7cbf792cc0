"""The HUD FY2026 code lists as named schema types, defined once and used by request AND
response models, so a generated client has one type per list (read types equal write types).

Each is an ``int`` to Python and mypy; to pydantic it accepts only the list's codes (422
naming the field otherwise), and in the OpenAPI document it is a component (``#/components/
schemas/LivingSituation``) with ``enum``, ``x-enum-varnames`` (member names for generated enums)
and ``x-enum-descriptions`` (HUD's labels). ``GET /api/v1/reference/code-lists`` serves the same
lists with their labels. A field whose rules exclude some codes of its list (3.917 and 4.12 of
3.12.1, say) keeps the list's type; the service refuses the excluded codes, naming the field.

Add a list: ``Name = TypeAliasType("Name", Annotated[int, HudList("x.y")])`` here, then use
``Name`` in both the request and the response models.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema
from typing_extensions import TypeAliasType

from app.reference import hud_lists

HUD_LIST_EXTENSION = "x-hud-list"


def enum_varnames(labels: list[str], values: list[int]) -> list[str]:
    """Identifiers for generated enum members, from HUD's labels: ``Client doesn't know`` ->
    ``CLIENT_DOESNT_KNOW``; a long label keeps its first words (before a parenthesis or a
    comma), and names that would clash get their code."""
    names: list[str] = []
    for label in labels:
        text = label.split("(")[0]
        if len(text.split(",")[0].split()) >= 2:
            text = text.split(",")[0]
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        upper = ascii_text.replace("'", "").upper()  # curly apostrophes are gone already
        words = re.sub(r"[^A-Z0-9]+", " ", upper).split()
        name = "_".join(words[:6]) or "CODE"
        if not name[0].isalpha():
            name = "NUMBER_" + name
        names.append(name)
    return [
        f"{name}_{value}" if names.count(name) > 1 else name
        for name, value in zip(names, values, strict=True)
    ]


class HudList:
    """``Annotated[int, HudList("1.8")]``: only the codes of HUD list 1.8, documented with their
    labels."""

    def __init__(self, list_id: str, *, description: str = "") -> None:
        self.list_id = list_id
        self.description = description

    @property
    def labels(self) -> dict[int, str]:
        return dict(sorted(hud_lists()[self.list_id].items()))

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        allowed = frozenset(self.labels)
        message = f"must be a HUD {self.list_id} code: {', '.join(str(c) for c in sorted(allowed))}"

        def check(value: int) -> int:
            if value not in allowed:
                raise ValueError(message)
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        values = list(self.labels)
        labels = list(self.labels.values())
        json_schema.update(
            {
                "enum": values,
                "description": " ".join(
                    part
                    for part in (
                        f"HUD HMIS CSV FY2026 list {self.list_id}.",
                        self.description,
                        "Labels: `GET /api/v1/reference/code-lists/" + self.list_id + "`.",
                    )
                    if part
                ),
                "x-enum-varnames": enum_varnames(labels, values),
                "x-enum-descriptions": labels,
                HUD_LIST_EXTENSION: self.list_id,
            }
        )
        return json_schema


# mypy reads each of these as ``int``; pydantic as the list's codes.
YesNo = TypeAliasType("YesNo", Annotated[int, HudList("1.7", description="No/Yes/Missing.")])
YesNoReasons = TypeAliasType(
    "YesNoReasons",
    Annotated[int, HudList("1.8", description="No/Yes/Reasons for missing data.")],
)
ReasonsMissing = TypeAliasType(
    "ReasonsMissing", Annotated[int, HudList("1.6", description="Reasons for missing data.")]
)
NameDataQuality = TypeAliasType("NameDataQuality", Annotated[int, HudList("3.01.5")])
SsnDataQuality = TypeAliasType("SsnDataQuality", Annotated[int, HudList("3.02.2")])
DobDataQuality = TypeAliasType("DobDataQuality", Annotated[int, HudList("3.03.2")])
Sex = TypeAliasType("Sex", Annotated[int, HudList("4.21")])
RelationshipToHoH = TypeAliasType("RelationshipToHoH", Annotated[int, HudList("3.15.1")])
LivingSituation = TypeAliasType(
    "LivingSituation",
    Annotated[
        int,
        HudList(
            "3.12.1",
            description="Prior living situation (3.917) excludes 312, 313, 327, 422, 423, 426, "
            "30, 17, 24, 37; current living situation (4.12) excludes 312, 313, 327, 422, 423, "
            "426, 30, 24; destination (3.12) excludes 335, 336, 37.",
        ),
    ],
)
RentalSubsidyType = TypeAliasType(
    "RentalSubsidyType",
    Annotated[int, HudList("3.12.A", description="Only with living situation 435.")],
)
LengthOfStay = TypeAliasType("LengthOfStay", Annotated[int, HudList("3.917.2")])
TimesHomeless = TypeAliasType("TimesHomeless", Annotated[int, HudList("3.917.4")])
MonthsHomeless = TypeAliasType("MonthsHomeless", Annotated[int, HudList("3.917.5")])
DisabilityType = TypeAliasType("DisabilityType", Annotated[int, HudList("1.3")])
DisabilityResponse = TypeAliasType(
    "DisabilityResponse",
    Annotated[
        int,
        HudList(
            "4.10.2",
            description="Substance use disorder (type 10) answers 0-3, 8, 9, 99; every other "
            "type 0, 1, 8, 9, 99.",
        ),
    ],
)
CeAssessmentType = TypeAliasType("CeAssessmentType", Annotated[int, HudList("4.19.3")])
CeAssessmentLevel = TypeAliasType("CeAssessmentLevel", Annotated[int, HudList("4.19.4")])
PrioritizationStatus = TypeAliasType("PrioritizationStatus", Annotated[int, HudList("4.19.7")])
CeEventType = TypeAliasType("CeEventType", Annotated[int, HudList("4.20.2")])
ReferralResult = TypeAliasType("ReferralResult", Annotated[int, HudList("4.20.D")])
DataCollectionStage = TypeAliasType("DataCollectionStage", Annotated[int, HudList("5.03.1")])
NoInsuranceReason = TypeAliasType(
    "NoInsuranceReason",
    Annotated[int, HudList("4.04.A", description="Why a health insurance source is No.")],
)
DvWhenOccurred = TypeAliasType("DvWhenOccurred", Annotated[int, HudList("4.11.A")])
ProjectType = TypeAliasType("ProjectType", Annotated[int, HudList("2.02.6")])
FundingSource = TypeAliasType("FundingSource", Annotated[int, HudList("2.06.1")])

NAMED_LISTS: tuple[Any, ...] = (
    YesNo,
    YesNoReasons,
    ReasonsMissing,
    NameDataQuality,
    SsnDataQuality,
    DobDataQuality,
    Sex,
    RelationshipToHoH,
    LivingSituation,
    RentalSubsidyType,
    LengthOfStay,
    TimesHomeless,
    MonthsHomeless,
    DisabilityType,
    DisabilityResponse,
    CeAssessmentType,
    CeAssessmentLevel,
    PrioritizationStatus,
    CeEventType,
    ReferralResult,
    DataCollectionStage,
    NoInsuranceReason,
    DvWhenOccurred,
    ProjectType,
    FundingSource,
)


def schema_names() -> dict[str, str]:
    """HUD list id -> the name of its schema component, for the lists the API publishes."""
    names: dict[str, str] = {}
    for alias in NAMED_LISTS:
        hud = next(m for m in alias.__value__.__metadata__ if isinstance(m, HudList))
        names[hud.list_id] = alias.__name__
    return names
