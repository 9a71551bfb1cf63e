"""Audit test helpers: a job with its whole life in the log, and commands run in-process."""

from __future__ import annotations

import contextlib
import io
import uuid
from dataclasses import dataclass

from service.bootstrap import Services
from service.cli import build_parser
from service.events.base import Event, EventMetadata, NewEvent
from service.events.job import UploadReceived, job_stream
from service.events.log_reader import Checkpoint, head
from service.events.store import ANY, NO_STREAM, AppendResult
from service.projections import job_view
from service.projections.runner import SubscriptionRunner
from tests.builders import (
    expired,
    outputs_deleted,
    processing_finished,
    processing_started,
    upload_received,
    uploads_purged,
    variation_rendered,
)
from tests.support import eventually

LIFECYCLE = [
    "UploadReceived",
    "ProcessingStarted",
    "VariationRendered",
    "VariationRendered",
    "VariationRendered",
    "VariationRendered",
    "ProcessingFinished",
    "UploadsPurged",
    "Expired",
    "OutputsDeleted",
]


@dataclass
class LoggedJob:
    received: UploadReceived
    appended: list[AppendResult]  # one append per event, in lifecycle order

    @property
    def job_id(self) -> uuid.UUID:
        return self.received.job_id

    @property
    def stream(self) -> str:
        return job_stream(self.job_id)


def lifecycle(received: UploadReceived) -> list[tuple[Event, str]]:
    """Each event of a full life with the component that writes it."""
    job = received.job_id
    renders = [variation_rendered(job, f.file_id, i) for f in received.files for i in (1, 2)]
    return [
        (received, "user:alice"),
        (processing_started(job), "worker"),
        *[(r, "worker") for r in renders],
        (processing_finished(job), "worker"),
        (uploads_purged(received), "upload_purger"),
        (expired(job), "expiry_scheduler"),
        (outputs_deleted(job, len(renders), sum(r.size for r in renders)), "output_reaper"),
    ]


async def logged_job(services: Services, *, events: int = len(LIFECYCLE)) -> LoggedJob:
    """A job whose first `events` lifecycle events are appended one at a time, as the
    components would: each has its own transaction, position and recorded time."""
    received = upload_received(names=("intro.mp4", "outro.mov"), variations=2)
    appended = []
    for n, (event, actor) in enumerate(lifecycle(received)[:events]):
        item = NewEvent.of(event, metadata=EventMetadata(actor=actor))
        expected = NO_STREAM if n == 0 else ANY
        appended.append(await services.store.append(job_stream(received.job_id), [item], expected))
    return LoggedJob(received, appended)


def job_view_runner(services: Services) -> SubscriptionRunner:
    return SubscriptionRunner(
        job_view.NAME,
        job_view.JobViewProjection(),
        services.database,
        poll_interval_s=0.02,
        on_advance=services.job_view_waiter.advanced,
    )


async def command(services: Services, *argv: str) -> tuple[int, str]:
    """Run a `video-refresher` command in this process; (exit status, stdout)."""
    args = build_parser().parse_args(argv)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = await args.run(services.settings, args)
    return int(status or 0), out.getvalue()


_LAST_COMMITTED = """
SELECT transaction_id, position FROM events
ORDER BY transaction_id DESC, position DESC
LIMIT 1
"""


async def last_committed(services: Services) -> Checkpoint:
    """The last committed event in commit order, whether readers can see it yet or not."""
    row = await services.database.pool.fetchrow(_LAST_COMMITTED)
    return Checkpoint(row["transaction_id"], row["position"]) if row else Checkpoint()


async def log_visible(services: Services) -> None:
    """Wait until readers that stop at the in-flight horizon see every committed event.

    The horizon (`pg_snapshot_xmin`) is server-wide: on a shared test server a transaction
    open in another database holds it back for a while.
    """
    target = await last_committed(services)

    async def visible() -> bool:
        return await head(services.database.pool) >= target

    await eventually(visible, within=30)
