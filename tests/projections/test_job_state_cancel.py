"""The fold of a cancel: cancelling while a worker holds the job, cancelled when it ends,
what was rendered kept, and a second request changing nothing."""

from __future__ import annotations

from service.projections.job_state import FINISHED, fold
from tests.builders import (
    cancellation_requested,
    expired,
    processing_finished,
    processing_started,
    upload_received,
    variation_rendered,
)
from tests.projections.test_job_state import recorded


def test_a_cancel_of_a_processing_job_is_cancelling_until_the_worker_finishes_it() -> None:
    created = upload_received(variations=2)
    a, b = (f.file_id for f in created.files)
    job_id = created.job_id
    history = [
        created,
        processing_started(job_id),
        variation_rendered(job_id, a, 1),
        cancellation_requested(job_id, by="alice"),
    ]
    # Given a cancel asked for after one render
    cancelling = fold(recorded(history))
    assert cancelling is not None
    assert cancelling.status == "cancelling" and cancelling.outcome is None
    assert cancelling.cancel_requested_by == "alice" and cancelling.cancel_requested_at
    # When a second cancel and then the worker's cancelled finish follow
    done = fold(
        recorded(
            [
                *history,
                cancellation_requested(job_id, by="bob"),
                processing_finished(job_id, "cancelled"),
            ]
        )
    )
    # Then the job is cancelled, keeps its output, and the first request is the one kept
    assert done is not None and done.status == "cancelled" and done.outcome == "cancelled"
    assert [(o.file_id, o.variation_index) for o in done.outputs] == [(a, 1)]
    assert {f.file_id: f.status for f in done.files} == {a: "rendered", b: "cancelled"}
    assert done.cancel_requested_by == "alice" and done.is_finished
    assert "cancelled" in FINISHED


def test_a_new_claimant_of_a_cancelling_job_leaves_it_cancelling() -> None:
    created = upload_received()
    job_id = created.job_id
    state = fold(
        recorded(
            [
                created,
                processing_started(job_id),
                cancellation_requested(job_id),
                processing_started(job_id, attempt=2),
            ]
        )
    )
    assert state is not None and state.status == "cancelling" and state.attempt == 2


def test_a_received_job_cancelled_at_once_and_later_expired() -> None:
    created = upload_received()
    job_id = created.job_id
    events = [
        created,
        cancellation_requested(job_id),
        processing_finished(job_id, "cancelled"),
    ]
    state = fold(recorded(events))
    assert state is not None and state.status == "cancelled" and not state.outputs
    expired_state = fold(recorded([*events, expired(job_id)]))
    assert expired_state is not None and expired_state.status == "expired"
    assert expired_state.outcome == "cancelled"
