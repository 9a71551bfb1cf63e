"""A render whose store goes down waits and retries, holding its lease: the job is not
failed or reclaimed, nothing is recorded that is not stored, and it completes once the
store is back."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from service.bootstrap import running_services
from service.events.base import NewEvent
from service.events.job import StoredUpload, UploadReceived, VariationRendered, job_stream
from service.events.store import NO_STREAM
from service.settings import Settings
from service.storage.factory import open_storage
from service.storage.keys import upload_key
from tests.clips import TinyClips
from tests.processing.support import finished, make_worker, worker_running
from tests.storage.jobs import put_bytes
from tests.storage.outage import Relay
from tests.support import eventually


async def test_a_render_retries_while_the_bucket_is_unreachable_and_then_completes(
    s3_settings: Settings, tiny_clips: TinyClips, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    # Given a job whose upload is in the bucket, and a worker that reaches the bucket
    # through a network path that is down
    endpoint = urlsplit(s3_settings.s3_endpoint)
    relay = Relay(endpoint.hostname or "127.0.0.1", endpoint.port or 80)
    direct = open_storage(s3_settings)
    through_relay = s3_settings.model_copy(update={"s3_endpoint": relay.endpoint})
    async with running_services(through_relay, with_components=False) as services:
        job_id, file_id = uuid.uuid4(), uuid.uuid4()
        clip = tiny_clips.mp4.read_bytes()
        stored = await put_bytes(direct, upload_key(job_id, file_id, ".mp4"), clip)
        now = datetime.now(UTC)
        received = UploadReceived(
            job_id=job_id, owner_id=uuid.uuid4(), variations_per_video=2,
            files=(StoredUpload(file_id=file_id, name="a.mp4", size=len(clip),
                                sha256=hashlib.sha256(clip).hexdigest(), key=stored.key,
                                etag=stored.etag),),
            received_at=now, expires_at=now + timedelta(hours=1),
        )  # fmt: skip
        await services.store.append(job_stream(job_id), [NewEvent.of(received)], NO_STREAM)
        async with worker_running(services, make_worker(services)):
            # When the worker claims it while the store is unreachable
            def retried() -> bool:
                return any(
                    getattr(r, "action", "") == "worker.storage_retry" for r in caplog.records
                )

            await eventually(retried, within=30)
            # Then it waits: still attempt 1, nothing rendered recorded
            events = await services.store.read_stream(job_stream(job_id))
            assert [e.type for e in events] == ["UploadReceived", "ProcessingStarted"]
            # When the store is reachable again, the same attempt completes the job
            await relay.up()
            job = await finished(services, job_id, within=60)
    await relay.down()
    assert job.status == "completed" and job.attempt == 1
    rendered = [e.event for e in events if isinstance(e.event, VariationRendered)]
    assert rendered == []
    for output in job.outputs:
        assert (await direct.head(output.key)).etag == output.etag
