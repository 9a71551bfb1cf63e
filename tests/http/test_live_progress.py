"""Render progress from a worker in another process reaches both live streams: as
`event: progress` without an id, increasing, up to the last variation; never in the log."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from service.events.base import EVENT_TYPES
from service.http.keys import SERVICES
from service.settings import Settings
from tests.http.sse import Message, SSEReader
from tests.http.upload_support import field, multipart, video
from tests.processing.worker_process import worker_process

PROGRESS_KEYS = {"job_id", "percent", "variation", "fps", "eta_s"}


async def read_until_finished(reader: SSEReader, job_id: str) -> list[Message]:
    seen = []
    while True:
        message = await reader.next(within=120)
        seen.append(message)
        if message.event == "ProcessingFinished" and message.json["data"]["job_id"] == job_id:
            return seen


async def test_progress_from_a_worker_process_reaches_the_streams_and_never_the_log(
    client: Any,
    settings: Settings,
    database_url: str,
    alice_headers: dict[str, str],
    long_clip: Path,
) -> None:
    services = client.app[SERVICES]
    everything = await client.get("/api/live", headers=alice_headers)
    page = SSEReader(everything)
    await page.next()  # the snapshot
    # One render at a time, so progress walks variation 1 then 2 (with two slots, variation
    # 2 can finish first and every report then names variation 1, the one still rendering)
    async with worker_process(database_url, settings.data_dir, VR_WORKER_CONCURRENCY="1"):
        # Given a job of two slow variations rendered by a worker in another process
        body, content_type = multipart(video("slow.mp4", long_clip), field("variations", "2"))
        created = await client.post(
            "/api/jobs", data=body, headers={**alice_headers, **content_type}
        )
        job_id = (await created.json())["job_id"]
        # When its owner watches the job and the page of all jobs until it finishes
        one = await client.get(f"/api/jobs/{job_id}/live", headers=alice_headers)
        job_reader = SSEReader(one)
        snapshot = await job_reader.next()
        job_messages, page_messages = await asyncio.gather(
            read_until_finished(job_reader, job_id), read_until_finished(page, job_id)
        )
    one.close()
    everything.close()
    # Then both streams got progress, each without an id, with every field
    for messages in (job_messages, page_messages):
        progress = [m for m in messages if m.event == "progress"]
        assert len(progress) >= 2
        assert all(m.id is None for m in progress)
        records = [m.json for m in progress]
        assert all(set(r) == PROGRESS_KEYS and r["job_id"] == job_id for r in records)
        # increasing overall, and reaching the last variation
        percents = [r["percent"] for r in records]
        assert percents == sorted(percents) and 0 < percents[-1] <= 100
        assert {r["variation"]["index"] for r in records} == {1, 2}
        assert all(0 <= r["variation"]["percent"] <= 100 for r in records)
    # And the job stream's facts are the log's, after the snapshot, in order
    history = await services.store.read_stream(f"job-{job_id}")
    facts = [m for m in job_messages if m.event != "progress"]
    shown = len(history) - len(facts)  # what the snapshot already reflected
    assert shown <= 2 and snapshot.json["status"] in ("received", "processing")
    assert [m.event for m in facts] == [e.type for e in history[shown:]]
    assert [m.id for m in facts] == [str(e.position) for e in history[shown:]]
    # And no progress was ever appended: the log holds only registered event types
    types = {r["type"] for r in await services.database.pool.fetch("SELECT type FROM events")}
    assert types <= set(EVENT_TYPES) and "progress" not in types
    assert [e.type for e in history] == [
        "UploadReceived",
        "ProcessingStarted",
        "VariationRendered",
        "VariationRendered",
        "ProcessingFinished",
    ]
