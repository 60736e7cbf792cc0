"""ASGI entry point for process managers: ``uvicorn app.asgi:app``.

Migrations are not run here; run ``cas db upgrade`` first (the container image does).

The heap as it stands once the app is built (modules, models, schemas, routes: about 280,000
objects living as long as the process) is frozen out of the garbage collector's reach
(``gc.freeze``): a full collection no longer walks it (about 100 ms on the development machine,
once every few hundred pages of candidates). A young collection runs after 7,000 net
allocations of tracked objects instead of 700: a page of 50 candidates holds more than 700 at
once, so nearly every such request paid for one (about 80 us). Cyclic garbage is still
collected; the older generations keep their thresholds.
"""

import gc

from app.config import get_settings
from app.http.logging import configure_logging
from app.main import create_app

configure_logging(get_settings().log_level)
app = create_app()

YOUNG_COLLECTION_AFTER = 7000
gc.collect()
gc.freeze()
_, _middle, _old = gc.get_threshold()
gc.set_threshold(YOUNG_COLLECTION_AFTER, _middle, _old)
