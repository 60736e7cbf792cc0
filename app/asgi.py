"""ASGI entry point for process managers: ``uvicorn app.asgi:app``.

Migrations are not run here; run ``cas db upgrade`` first (the container image does).
"""

from app.config import get_settings
from app.http.logging import configure_logging
from app.main import create_app

configure_logging(get_settings().log_level)
app = create_app()
