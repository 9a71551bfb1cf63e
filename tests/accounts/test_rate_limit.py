"""The failed-login limiter: a sliding window per key."""

from __future__ import annotations

from service.accounts.rate_limit import LoginLimiter


def test_a_key_is_blocked_after_max_failures_until_the_oldest_leaves_the_window() -> None:
    # Given 3 failures allowed per 60 s
    limiter = LoginLimiter(3, 60.0)
    for t in (0.0, 10.0, 20.0):
        assert limiter.retry_after(["user:a"], t) is None
        limiter.failed(["user:a"], t)
    # Then the fourth try waits until the first failure is 60 s old
    assert limiter.retry_after(["user:a"], 30.0) == 30.0
    # And other keys are untouched
    assert limiter.retry_after(["user:b"], 30.0) is None
    # And once the first failure ages out, one more try is allowed
    assert limiter.retry_after(["user:a"], 60.0) is None


def test_any_blocked_key_blocks_and_reset_clears_one_key() -> None:
    limiter = LoginLimiter(2, 60.0)
    limiter.failed(["user:a", "addr:x"], 0.0)
    limiter.failed(["user:a", "addr:x"], 1.0)
    assert limiter.retry_after(["user:b", "addr:x"], 2.0) == 58.0
    limiter.reset("user:a")
    assert limiter.retry_after(["user:a", "addr:y"], 2.0) is None


def test_memory_is_bounded_by_forgetting_the_least_recent_keys() -> None:
    limiter = LoginLimiter(1, 60.0, max_keys=2)
    for i, key in enumerate(("a", "b", "c")):
        limiter.failed([key], float(i))
    assert limiter.retry_after(["a"], 3.0) is None
    assert limiter.retry_after(["c"], 3.0) is not None
