"""The retry queue: capped exponential backoff, one entry per job, bounded."""

from __future__ import annotations

import uuid

from service.reactors.deletion import FailedFile
from service.reactors.retry import RetryQueue


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_each_failure_doubles_the_delay_up_to_the_cap() -> None:
    clock = Ticks()
    queue = RetryQueue(base_delay_s=1, max_delay_s=5, monotonic=clock)
    job = uuid.uuid4()
    failure = [FailedFile("uploads/x", "EPERM")]
    assert [queue.failed(job, failure) for _ in range(5)] == [1, 2, 4, 5, 5]
    assert queue.due() == [] and queue.seconds_until_due() == 5
    clock.now = 5
    assert queue.due() == [job]
    assert queue.stuck() == [
        {"job_id": str(job), "file": "uploads/x", "error": "EPERM", "attempts": 5}
    ]


def test_a_full_queue_refuses_new_jobs_but_keeps_retrying_its_own() -> None:
    queue = RetryQueue(capacity=1, monotonic=Ticks())
    first, second = uuid.uuid4(), uuid.uuid4()
    assert queue.failed(first, []) is not None
    assert queue.failed(second, []) is None and queue.overflowed
    queue.enqueue(second)
    assert second not in queue and queue.failed(first, []) is not None
    queue.done(first)
    queue.enqueue(second)
    assert second in queue and not queue.overflowed
