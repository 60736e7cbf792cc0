"""Shared schema pieces: write/read bases, bounded dates, the problem document, declared error
responses."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from app.errors import PROBLEM_CONTENT_TYPE
from app.security import utcnow


def _offer_no_null(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The contract of ``NOT_NULL`` fields: the value's own type, without the null option."""
    for name in getattr(model, "NOT_NULL", ()):
        prop = schema.get("properties", {}).get(name)
        if prop is None or "anyOf" not in prop:
            continue
        options = [o for o in prop["anyOf"] if o.get("type") != "null"]
        if len(options) == 1:
            del prop["anyOf"]
            prop.update(options[0])
        else:
            prop["anyOf"] = options
        if prop.get("default", 0) is None:
            del prop["default"]


class WriteModel(BaseModel):
    """Request bodies reject unknown fields, so typos are errors rather than silently lost, and
    text PostgreSQL cannot store (NUL characters, unpaired surrogates) is a 422, not a 500.

    ``NOT_NULL``: fields an update may leave out but not set to null (the record always has a
    value): null is a 422 on the field, and the contract does not offer it."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra=_offer_no_null
    )
    NOT_NULL: ClassVar[tuple[str, ...]] = ()

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name in cls.NOT_NULL:
            raise ValueError("may be left out, but not null")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        for text in _strings(value):
            if "\x00" in text:
                raise ValueError("must not contain NUL characters")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("must be valid Unicode text") from None
        return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple | set | frozenset):
        return [v for v in value if isinstance(v, str)]
    return []


# --- bounded dates ---------------------------------------------------------------------------
# Every date and date-time the API accepts uses one of these types, so a year 1 or 9999 is a 422
# rather than nonsense stored or, for date-times, an overflow (a 500) when converted to UTC.

DATE_MIN = date(1900, 1, 1)
MAX_YEARS_AHEAD = 10
DATETIME_MIN = datetime(1900, 1, 1, tzinfo=UTC)
DATETIME_MAX = datetime(2200, 1, 1, tzinfo=UTC)


def years_ahead(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year + years)
    except ValueError:  # 29 February
        return today.replace(year=today.year + years, day=28)


def _bounded_date(value: date) -> date:
    if value < DATE_MIN:
        raise ValueError(f"must be on or after {DATE_MIN.isoformat()}")
    if value > years_ahead(utcnow().date(), MAX_YEARS_AHEAD):
        raise ValueError(f"must be at most {MAX_YEARS_AHEAD} years from today")
    return value


def datetime_in_range(value: datetime) -> bool:
    """Whether ``value`` (naive = UTC) is within the accepted range. Aware date-times are compared
    without converting them to UTC, which overflows at the ends of the calendar."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return DATETIME_MIN <= aware <= DATETIME_MAX


def _iso(value: datetime) -> str:
    return f"{value:%Y-%m-%dT%H:%M:%SZ}"


def _bounded_datetime(value: datetime) -> datetime:
    if not datetime_in_range(value):
        raise ValueError(f"must be between {_iso(DATETIME_MIN)} and {_iso(DATETIME_MAX)}")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class _JsonSchemaBounds:
    """Documents the bounds in the JSON schema: ``x-format-minimum``/``x-format-maximum``
    (extension keywords: OpenAPI's schema dialect has none for date bounds); a bound relative to
    today as ``x-max-years-ahead``."""

    def __init__(self, **keywords: Any) -> None:
        self.keywords = keywords

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.update(self.keywords)
        return schema


RecordDate = Annotated[
    date,
    AfterValidator(_bounded_date),
    _JsonSchemaBounds(
        **{"x-format-minimum": DATE_MIN.isoformat(), "x-max-years-ahead": MAX_YEARS_AHEAD}
    ),
]
"""A date recorded about a person or a record: from 1900-01-01 to ten years from today."""

FilterDateTime = Annotated[
    datetime,
    AfterValidator(_bounded_datetime),
    _JsonSchemaBounds(
        **{"x-format-minimum": _iso(DATETIME_MIN), "x-format-maximum": _iso(DATETIME_MAX)}
    ),
]
"""A date-time in a filter: from 1900 to 2200; without an offset it is UTC."""


class _NumberInJson:
    """A decimal is a JSON number both ways: the contract offers no string form for it
    (pydantic's default for ``Decimal`` input), and responses send it as a number, not the
    string pydantic would."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        options = [o for o in schema.get("anyOf", []) if o.get("type") != "string"]
        if len(options) == 1:
            del schema["anyOf"]
            schema.update(options[0])
        if schema.get("type") == "string":  # the serialization schema
            schema["type"] = "number"
            schema.pop("pattern", None)
        return schema


JsonDecimal = Annotated[
    Decimal, PlainSerializer(float, return_type=float, when_used="json"), _NumberInJson()
]
"""A decimal amount or count read and written as a JSON number."""


class ReadModel(BaseModel):
    # Every field of a response is sent (null when empty): the contract marks each one required,
    # so generated clients do not type a field that is always there as optional.
    model_config = ConfigDict(
        from_attributes=True, json_schema_serialization_defaults_required=True
    )


class ProblemError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["/problems/not-found"])
    title: str
    status: int
    detail: str
    instance: str
    errors: list[ProblemError] | None = None


_DESCRIPTIONS = {
    400: "Malformed request (e.g. invalid JSON)",
    401: "Missing, invalid or expired credentials",
    403: "Not permitted for the caller's role or organization",
    404: "Not found, or not visible to the caller",
    409: "Conflicts with the current state",
    412: "If-Match does not match the current version",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Too many requests",
    503: "Temporarily unavailable; retry after the Retry-After delay",
}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    }
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS[status],
            "content": {PROBLEM_CONTENT_TYPE: {}},
            **({"headers": _RETRY_AFTER} if status == 503 else {}),
        }
        for status in statuses
    }


# Every API route may answer these.
COMMON_PROBLEMS = problems(400, 401, 403, 404, 413, 422, 429, 503)
