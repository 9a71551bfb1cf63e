"""`GET /api/jobs/{id}/live`: a snapshot, then each of the job's events with its log
position as id; a reconnect resumes exactly after the last id it saw."""

from __future__ import annotations

import asyncio
from typing import Any

from service.events.append import append_batch
from service.events.job import job_stream
from service.events.store import encode_batch
from service.http.keys import SERVICES
from tests import builders
from tests.http.live_support import append, new_job, records, stream


async def test_a_job_stream_shows_the_snapshot_then_claim_renders_and_finish_in_order(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a received job
    job_id = await new_job(client, alice.id, names=("a.mp4",), variations=2)
    shown = await (await client.get(f"/api/jobs/{job_id}", headers=alice_headers)).json()
    async with stream(client, f"/api/jobs/{job_id}/live", alice_headers) as live:
        # When its owner watches it: first the job as GET shows it, at the view's position
        snapshot = await live.next()
        assert snapshot.event == "snapshot" and snapshot.json == shown
        view = client.app[SERVICES].job_view_waiter.latest
        assert snapshot.id == str(view.position)
        assert live.retry is not None and live.retry > 0
        # And a worker claims, renders twice and finishes it
        file_id = (await client.app[SERVICES].jobs.get(job_id)).files[0].file_id
        for event in (
            builders.processing_started(job_id),
            builders.variation_rendered(job_id, file_id, 1),
            builders.variation_rendered(job_id, file_id, 2),
            builders.processing_finished(job_id),
        ):
            await append(client, event)
        messages = await live.take(4)
    # Then each arrives in order, id = its log position, data = its /events record
    assert [m.event for m in messages] == [
        "ProcessingStarted",
        "VariationRendered",
        "VariationRendered",
        "ProcessingFinished",
    ]
    history = await records(client, job_id, alice_headers)
    assert [m.json for m in messages] == history[1:]
    assert [m.id for m in messages] == [str(r["position"]) for r in history[1:]]


async def test_a_reconnect_with_last_event_id_gets_exactly_the_events_it_missed(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a client that saw the claim, then went away
    job_id = await new_job(client, alice.id, names=("a.mp4",))
    async with stream(client, f"/api/jobs/{job_id}/live", alice_headers) as live:
        await live.next()
        await append(client, builders.processing_started(job_id))
        last = (await live.next()).id
    assert last is not None
    # When two renders and the finish are appended while it is away
    file_id = (await client.app[SERVICES].jobs.get(job_id)).files[0].file_id
    await append(client, builders.variation_rendered(job_id, file_id, 1))
    await append(client, builders.variation_rendered(job_id, file_id, 2))
    await append(client, builders.processing_finished(job_id))
    history = await records(client, job_id, alice_headers)
    # Then reconnecting with Last-Event-ID (or ?after) gives exactly those, no snapshot
    for path, extra in (
        (f"/api/jobs/{job_id}/live", {"Last-Event-ID": last}),
        (f"/api/jobs/{job_id}/live?after={last}", {}),
    ):
        async with stream(client, path, alice_headers, **extra) as live:
            resumed = await live.take(3)
            # and nothing more follows
            try:
                extra_message = await live.next(within=0.5)
            except TimeoutError:
                extra_message = None
        assert [m.json for m in resumed] == history[2:]
        assert extra_message is None


async def test_an_event_committed_late_at_a_lower_position_is_still_delivered(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    services = client.app[SERVICES]
    job_id = await new_job(client, alice.id)
    slow = await services.database.connect()
    try:
        async with stream(client, f"/api/jobs/{job_id}/live", alice_headers) as live:
            await live.next()
            # Given a transaction that appends the job's claim (the lower position) and waits
            tx = slow.transaction()
            await tx.start()
            stream_id = job_stream(job_id)
            claim = encode_batch(stream_id, [builders.new(builders.processing_started(job_id))])
            await append_batch(slow, stream_id, claim, 1)
            # And another job's event (a higher position) that commits first
            await append(client, builders.upload_received(owner_id=alice.id))
            await asyncio.sleep(0.3)  # the shared reader wakes and reads meanwhile
            # When the slow transaction commits
            await tx.commit()
            # Then the claim still reaches the stream
            message = await live.next()
    finally:
        await slow.close()
    assert message.event == "ProcessingStarted"
    [record] = [r for r in await records(client, job_id, alice_headers) if r["version"] == 2]
    assert message.json == record


async def test_a_stream_has_the_housekeeping_headers_and_a_heartbeat(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    job_id = await new_job(client, alice.id)
    response = await client.get(f"/api/jobs/{job_id}/live", headers=alice_headers)
    try:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Accel-Buffering"] == "no"
    finally:
        response.close()
