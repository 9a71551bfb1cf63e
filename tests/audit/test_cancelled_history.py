"""`replay`, `audit verify` and the rebuild read a cancelled job through the one fold."""

from __future__ import annotations

import uuid

from service.bootstrap import Services
from service.events.base import EventMetadata, NewEvent
from service.events.job import job_stream
from service.events.store import NO_STREAM
from service.projections import job_view
from service.projections.rebuild import rebuild
from tests import builders
from tests.audit.support import command, log_visible
from tests.audit.test_verify import project


async def cancelled_job(services: Services) -> tuple[str, int]:
    received = builders.upload_received(names=("intro.mp4",), variations=2)
    job_id = received.job_id
    rendered = builders.variation_rendered(job_id, received.files[0].file_id, 1)
    metadata = EventMetadata(actor="test")
    result = await services.store.append(
        job_stream(job_id),
        [
            NewEvent.of(e, metadata=metadata)
            for e in (
                received,
                builders.processing_started(job_id),
                rendered,
                builders.cancellation_requested(job_id, by="alice"),
                builders.processing_finished(job_id, "cancelled"),
            )
        ],
        NO_STREAM,
    )
    return str(job_id), result.last_position


async def test_replay_shows_the_cancel_and_the_cancelled_state(services: Services) -> None:
    job_id, _ = await cancelled_job(services)
    status, out = await command(services, "replay", job_id)
    assert status == 0
    lines = out.splitlines()
    [asked] = [line for line in lines if "CancellationRequested" in line]
    assert "requested by alice" in asked
    assert "  status      cancelled" in lines
    assert any(line.startswith("  cancel      requested ") for line in lines)
    assert "  file        intro.mp4 (1,000 B) rendered, 1 output(s)" in lines


async def test_audit_verify_passes_over_a_cancelled_job(services: Services) -> None:
    _, position = await cancelled_job(services)
    await project(services, position)
    status, out = await command(services, "audit", "verify")
    assert status == 0, out
    assert out.splitlines()[-1] == "verify: ok"


async def test_the_rebuild_folds_a_cancelled_job_like_the_live_view(services: Services) -> None:
    job_id, _ = await cancelled_job(services)
    await log_visible(services)
    await rebuild(services.database, job_view.NAME)
    state = await services.jobs.get(uuid.UUID(job_id))
    assert state is not None and state.status == "cancelled"
    assert state.cancel_requested_by == "alice" and len(state.outputs) == 1
