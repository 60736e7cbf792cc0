"""Liveness and readiness answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel
from typing_extensions import TypeAliasType

CheckResult = TypeAliasType("CheckResult", Literal["ok", "unavailable", "timeout"])
ReadinessStatus = TypeAliasType("ReadinessStatus", Literal["ok", "unavailable"])


class Health(BaseModel):
    status: str


class ReadinessChecks(BaseModel):
    database: CheckResult
    file_store: CheckResult


class Readiness(BaseModel):
    status: ReadinessStatus
    checks: ReadinessChecks
