"""Failed-login limiter: at most N failures per key (username, client address) per window.

In-process: each instance counts its own failures, so with K instances behind a balancer
an attacker gets up to K x N tries per window. Memory is bounded by `max_keys`.
"""

from __future__ import annotations

from collections import OrderedDict, deque

MAX_KEYS = 100_000  # beyond this the least recently failed keys are forgotten


class LoginLimiter:
    """Sliding window of failure times per key; times are seconds on any monotonic scale."""

    def __init__(self, max_failures: int, window_s: float, *, max_keys: int = MAX_KEYS) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, keys: list[str], now: float) -> float | None:
        """Seconds until any of `keys` may try again, or None if all may try now."""
        waits = []
        for key in keys:
            times = self._recent(key, now)
            if len(times) >= self.max_failures:
                waits.append(times[-self.max_failures] + self.window_s - now)
        return max(waits) if waits else None

    def failed(self, keys: list[str], now: float) -> None:
        for key in keys:
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times
            self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times
