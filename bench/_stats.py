"""Benchmark plumbing: percentiles by `statistics.quantiles`, never by hand, and the
lag of a benchmark's own event loop (its clients' figures include it)."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Sequence


def pct(values: Sequence[float], q: float) -> float:
    """The `q` quantile (0.5, 0.99: a whole percent) of `values`; NaN when there are none.
    Inclusive: the sample is the whole population of what was measured."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    cut = round(q * 100)
    if not 1 <= cut <= 99:
        raise ValueError(f"quantile {q} is not a whole percent between 1 and 99")
    return statistics.quantiles(values, n=100, method="inclusive")[cut - 1]


async def own_lag(samples: list[float], stop: asyncio.Event) -> None:
    """How late this process's loop runs a 10 ms timer: its clients' latency includes it."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        asked = loop.time()
        await asyncio.sleep(0.01)
        samples.append(max(0.0, loop.time() - asked - 0.01))
