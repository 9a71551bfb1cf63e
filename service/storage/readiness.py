"""The storage line of `/readyz`: is the store reachable right now."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from service.errors import StorageUnavailable
from service.storage.interface import ObjectStorage

CHECK_TIMEOUT_S = 2.0  # a readiness probe must answer even when the store hangs


def storage_readiness(storage: ObjectStorage) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def probe() -> dict[str, Any]:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                await storage.check()
        except (StorageUnavailable, TimeoutError) as exc:
            detail = getattr(exc, "detail", None) or "no answer in time"
            return {"ok": False, "backend": storage.kind, "error": detail}
        return {"ok": True, "backend": storage.kind}

    return probe
