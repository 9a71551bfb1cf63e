"""`audit verify --objects`: the store is asked, through the service's storage interface,
whether every upload and output the log names is stored as recorded."""

from __future__ import annotations

import uuid

from service.bootstrap import job_view_runner, running_services
from service.settings import Settings
from tests.audit.support import command
from tests.storage.jobs import put_bytes, stored_job
from tests.support import running


async def test_a_missing_and_a_replaced_object_are_reported_and_fail_the_audit(
    s3_settings: Settings,
) -> None:
    async with running_services(s3_settings, with_components=False) as services:
        # Given two jobs whose objects are in the bucket, as the log records them
        async with running(job_view_runner(services)[0]):
            intact, _ = await stored_job(services, uuid.uuid4(), [100, 200])
            damaged, outputs = await stored_job(services, uuid.uuid4(), [300, 400])
        status, out = await command(services, "audit", "verify", "--objects")
        assert status == 0, out
        assert "objects: 6 the log names: all as recorded" in out
        # When one output is deleted and another replaced behind the service's back
        await services.storage.delete([outputs[0].key])
        await put_bytes(services.storage, outputs[1].key, b"z" * 400)
        # Then the audit names both, and fails
        status, out = await command(services, "audit", "verify", "--objects")
    assert status == 1
    assert f"job {damaged}: {outputs[0].key}: missing" in out
    assert f"job {damaged}: {outputs[1].key}: ETag" in out and "(replaced)" in out
    assert str(intact) not in out
