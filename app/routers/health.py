from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from app.schemas.common import problems

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


@router.get("/health/live", name="health_live", response_model=Health)
async def live() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/health/ready",
    name="health_ready",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database is unreachable"}},
)
async def ready(request: Request) -> Health | JSONResponse:
    """The database answers."""
    try:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return Health(status="ok")


__all__ = ["problems", "router"]
