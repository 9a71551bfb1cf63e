"""The log's figures are read at scrape time: head, each subscription's position and lag,
jobs by status."""

from __future__ import annotations

import asyncio

from service.bootstrap import Services
from service.events.job import job_stream
from service.metrics.catalogue import REGISTRY
from service.metrics.refresh import refresh
from service.projections import checkpoints, job_view
from tests.builders import new, upload_received
from tests.support import eventually


def _gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_the_lag_gauges_show_a_stopped_projection_falling_behind(services: Services) -> None:
    # Given the job view's subscription, not running (its checkpoint stays at the start)
    await checkpoints.load(services.database.pool, job_view.NAME)
    # When three jobs are uploaded, and time passes
    positions = []
    for _ in range(3):
        received = upload_received()
        result = await services.store.append(job_stream(received.job_id), [new(received)], 0)
        positions.append(result.last_position)
    await asyncio.sleep(0.3)

    # Then a scrape shows it three events behind the head, by the age of the oldest one
    async def three_behind() -> bool:
        await refresh(services.database.pool)
        return _gauge("vr_subscription_lag_events", subscription=job_view.NAME) == 3

    await eventually(three_behind, within=20)
    assert _gauge("vr_log_head_position") == positions[-1]
    assert _gauge("vr_subscription_position", subscription=job_view.NAME) == 0
    lag_s = _gauge("vr_subscription_lag_seconds", subscription=job_view.NAME)
    assert lag_s is not None and lag_s >= 0.3

    # And a fourth upload puts it further behind
    received = upload_received()
    await services.store.append(job_stream(received.job_id), [new(received)], 0)

    async def four_behind() -> bool:
        await refresh(services.database.pool)
        return _gauge("vr_subscription_lag_events", subscription=job_view.NAME) == 4

    await eventually(four_behind, within=20)
    assert (_gauge("vr_subscription_lag_seconds", subscription=job_view.NAME) or 0) >= lag_s


async def test_appends_are_counted_by_event_type(services: Services) -> None:
    before = _gauge("vr_events_appended_total", type="UploadReceived") or 0
    for _ in range(2):
        received = upload_received()
        await services.store.append(job_stream(received.job_id), [new(received)], 0)
    assert _gauge("vr_events_appended_total", type="UploadReceived") == before + 2
