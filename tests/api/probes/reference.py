from __future__ import annotations

import uuid

from tests.api.probes import ProbeContext

PRIVATE: set[str] = set()
# HUD's code lists are the same for every CoC and every role.
SHARED = {"element"}


async def arrange(ctx: ProbeContext) -> dict[str, uuid.UUID | str]:
    return {"element": "3.12.1"}
