"""The pure fold: what each event does to a job."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from service.events.base import EventMetadata, RecordedEvent
from service.events.job import job_stream
from service.projections.job_state import fold
from tests.builders import (
    expired,
    processing_finished,
    processing_started,
    upload_received,
    variation_rendered,
)


def recorded(events: list[object]) -> list[RecordedEvent]:
    job_id = events[0].job_id  # type: ignore[attr-defined]
    return [
        RecordedEvent(
            position=10 + i,
            transaction_id=100 + i,
            stream_id=job_stream(job_id),
            version=i + 1,
            event_id=uuid.uuid4(),
            type=e.TYPE,  # type: ignore[attr-defined]
            schema_version=1,
            event=e,  # type: ignore[arg-type]
            metadata=EventMetadata(),
            recorded_at=datetime.now(UTC),
        )
        for i, e in enumerate(events)
    ]


def test_a_full_lifecycle_folds_to_an_expired_job_with_its_outputs() -> None:
    created = upload_received(variations=2)
    a, b = (f.file_id for f in created.files)
    job_id = created.job_id
    state = fold(
        recorded(
            [
                created,
                processing_started(job_id),
                variation_rendered(job_id, b, 1),
                variation_rendered(job_id, a, 2),
                variation_rendered(job_id, a, 1),
                processing_finished(job_id),
                expired(job_id),
            ]
        )
    )
    assert state is not None
    assert state.status == "expired" and state.outcome == "completed"
    assert state.expiry_reason == "retention"
    # outputs in upload order, then variation index, whatever order they were rendered in
    assert [(o.file_id, o.variation_index) for o in state.outputs] == [(a, 1), (a, 2), (b, 1)]
    assert [f.status for f in state.files] == ["rendered", "rendered"]
    assert state.version == 7 and state.last_position == 16


def test_a_variation_rendered_twice_is_kept_once() -> None:
    created = upload_received(variations=1)
    file_id = created.files[0].file_id
    first = variation_rendered(created.job_id, file_id, 1, crc32=1)
    again = variation_rendered(created.job_id, file_id, 1, crc32=2)
    state = fold(recorded([created, processing_started(created.job_id), first, again]))
    assert state is not None
    assert [o.crc32 for o in state.outputs] == [1]


def test_a_failed_file_records_its_error_and_the_job_is_partial() -> None:
    from service.events.job import FileError, ProcessingFinished

    created = upload_received()
    good, bad = (f.file_id for f in created.files)
    finished = ProcessingFinished(
        job_id=created.job_id,
        outcome="partial",
        errors=(FileError(file_id=bad, message="moov atom not found"),),
        finished_at=datetime.now(UTC),
    )
    state = fold(
        recorded(
            [
                created,
                processing_started(created.job_id),
                variation_rendered(created.job_id, good, 1),
                finished,
            ]
        )
    )
    assert state is not None
    assert state.status == "partial"
    assert [(f.status, f.error) for f in state.files] == [
        ("rendered", None),
        ("failed", "moov atom not found"),
    ]


def test_an_event_for_a_job_never_received_changes_nothing() -> None:
    # Given a stray event on a job stream with no UploadReceived
    stray = recorded([processing_started(upload_received().job_id)])
    # Then folding it yields no job rather than an error that would wedge the projection
    assert fold(stray) is None
