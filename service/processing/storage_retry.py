"""A render waits out a store that is down instead of failing the job.

Every storage step of an attempt (fetch a source, store an output, delete a stray) is
retried while the store is unavailable, with backoff, for as long as the attempt holds
its lease; a cancelled attempt (shutdown, a lost lease) stops waiting at once. Nothing
is appended meanwhile, so the log never names an object that is not stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from service.errors import StorageUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 30.0


async def retrying(
    operation: Callable[[], Awaitable[T]],
    what: str,
    *,
    first_delay_s: float = FIRST_DELAY_S,
    max_delay_s: float = MAX_DELAY_S,
) -> T:
    delay = first_delay_s
    while True:
        try:
            return await operation()
        except StorageUnavailable as exc:
            log.warning("storage unavailable (%s): %s; retrying in %g s", what, exc.detail, delay,
                        extra={"action": "worker.storage_retry"})  # fmt: skip
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay_s)
