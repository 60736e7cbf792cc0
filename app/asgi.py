"""ASGI entry point for process managers: ``uvicorn app.asgi:app``.

Migrations are not run here; run ``cas db upgrade`` first (the container image does). The heap
built here is settled for the garbage collector (``app.http.heap``), as ``cas serve`` does.
"""

from app.config import get_settings
from app.http.heap import YOUNG_COLLECTION_AFTER, settle_heap
from app.http.logging import configure_logging
from app.main import create_app

__all__ = ["YOUNG_COLLECTION_AFTER", "app"]

configure_logging(get_settings().log_level)
app = create_app()
settle_heap()
