"""The service process's garbage collector, set once the app is built (both entry points:
``uvicorn app.asgi:app`` and ``cas serve``).

The heap as it stands once the app is built (modules, models, schemas, routes: about 280,000
objects living as long as the process) is frozen out of the collector's reach (``gc.freeze``):
a full collection no longer walks it (about 100 ms on the development machine, once every few
hundred pages of candidates). A young collection runs after 7,000 net allocations of tracked
objects instead of 700: a page of 50 candidates holds more than 700 at once, so nearly every
such request paid for one (about 80 us). Cyclic garbage is still collected; the older
generations keep their thresholds.
"""

import gc

YOUNG_COLLECTION_AFTER = 7000


def settle_heap() -> None:
    """Freeze what is alive now and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_AFTER, middle, old)
