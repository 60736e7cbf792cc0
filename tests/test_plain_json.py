"""Bodies written straight from plain data (``app.http.plain_json``): the same bytes the
declared response model would have sent, and a body drifting from the model is refused
outside production."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from types import SimpleNamespace

import pytest
from pydantic import BaseModel, TypeAdapter

from app.http.plain_json import PlainJson, ResponseDrift
from app.schemas.pagination import Page


class Colour(StrEnum):
    RED = "red"


class Item(BaseModel):
    id: uuid.UUID
    colour: Colour
    on: date
    at: datetime | None
    value: int | bool | None
    name: str | None


class DriverUuid(uuid.UUID):
    """As a database driver's own UUID type (asyncpg's subclasses uuid.UUID)."""


def _item(**changes: object) -> dict[str, object]:
    item: dict[str, object] = {
        "id": DriverUuid(int=7),
        "colour": Colour.RED,
        "on": date(2024, 2, 29),
        "at": datetime(2026, 12, 1, 15, 0, 0, 120, tzinfo=UTC),
        "value": True,
        "name": 'é "quoted" \u2028 \x01',
    }
    item.update(changes)
    return item


def _request(environment: str) -> SimpleNamespace:
    settings = SimpleNamespace(environment=environment)
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(settings=settings)))


def test_the_bytes_are_the_models() -> None:
    writer = PlainJson(Page[Item])
    adapter = TypeAdapter(Page[Item])
    items = [
        _item(),
        _item(at=None, value=3, name=None),
        _item(at=datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-5))), value=None),
    ]
    body = {"items": items, "next_cursor": "abc"}
    expected = adapter.dump_json(adapter.validate_python(body), by_alias=True)
    assert writer.dumps(body) == expected
    response = writer.response(_request("test"), body)  # type: ignore[arg-type]
    assert response.body == expected
    assert response.media_type == "application/json"


@pytest.mark.parametrize(
    "item",
    [
        {k: v for k, v in _item().items() if k != "name"},  # a field missing
        {**_item(), "extra": 1},  # a field the model does not have
        dict(reversed(list(_item().items()))),  # the model's order not kept
        _item(value="3"),  # a value the model would coerce
    ],
)
def test_a_body_drifting_from_the_model_is_refused_outside_production(
    item: dict[str, object],
) -> None:
    writer = PlainJson(Page[Item])
    body = {"items": [item], "next_cursor": None}
    for environment in ("development", "test"):
        with pytest.raises((ResponseDrift, ValueError)):
            writer.response(_request(environment), body)  # type: ignore[arg-type]
    # Production trusts the service's shape: written as it is, unchecked.
    assert writer.response(_request("production"), body).status_code == 200  # type: ignore[arg-type]
