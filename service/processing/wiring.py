"""Build the worker for a process's role and register its readiness report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.processing.worker import Worker

if TYPE_CHECKING:
    from service.bootstrap import Component, Services


def worker(services: Services) -> list[Component]:
    settings = services.settings
    built = Worker(
        store=services.store,
        database=services.database,
        jobs=services.jobs,
        clock=services.clock,
        storage=services.storage,
        scratch_dir=settings.scratch_dir,
        ffmpeg_path=settings.ffmpeg_path,
        concurrency=settings.worker_concurrency,
        threads=settings.ffmpeg_threads,
        poll_interval_s=settings.poll_interval_s,
    )
    services.readiness[built.name] = built.readiness
    services.job_view_waiter.on_advance(built.wake)  # new jobs show up there, not in a NOTIFY
    return [built]
