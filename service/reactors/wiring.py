"""Build the reactors for a process's role and register their readiness reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.reactors.expiry import ExpiryScheduler
from service.reactors.file_reactor import FileReactor
from service.reactors.orphans import OrphanSweeper
from service.reactors.output_reaper import OutputReap
from service.reactors.upload_purger import UploadPurge
from service.tus.reaper import UploadReaper

if TYPE_CHECKING:
    from service.bootstrap import Component, Services


def file_reactors(services: Services) -> list[FileReactor]:
    built = []
    for cleanup in (UploadPurge(), OutputReap()):
        reactor = FileReactor(
            cleanup,
            store=services.store,
            database=services.database,
            storage=services.storage,
            poll_interval_s=services.settings.poll_interval_s,
        )
        services.readiness[reactor.name] = reactor.readiness
        built.append(reactor)
    return built


def expiry_scheduler(services: Services) -> ExpiryScheduler:
    settings = services.settings
    return ExpiryScheduler(
        store=services.store,
        database=services.database,
        clock=services.clock,
        data_dir=settings.data_dir,
        interval_s=settings.expiry_interval_s,
        high_water=settings.disk_high_water,
        low_water=settings.disk_low_water,
        poll_interval_s=settings.poll_interval_s,
        quota_bytes=settings.storage_quota_bytes,
        measure_disk=services.storage.local_path("uploads/x") is not None,
    )


def upload_reaper(services: Services) -> UploadReaper:
    """Expired resumable uploads (issue 11), on the expiry scheduler's interval."""
    settings = services.settings
    return UploadReaper(
        services.database.pool,
        services.clock,
        settings.tus_dir,
        interval_s=settings.expiry_interval_s,
    )


def orphan_sweeper(services: Services) -> list[Component]:
    """Upload files no event or tus row names (issue 16); the local disk only."""
    settings = services.settings
    if services.storage.local_path("uploads/x") is None:
        return []
    return [
        OrphanSweeper(
            services.database.pool,
            settings.uploads_dir,
            grace_s=settings.orphan_grace_s,
            interval_s=settings.expiry_interval_s,
        )
    ]


def reactors(services: Services) -> list[Component]:
    """The upload purger, the expiry scheduler, the output reaper, the tus upload reaper
    and the orphan sweeper."""
    purger, reaper = file_reactors(services)
    return [purger, expiry_scheduler(services), reaper, upload_reaper(services),
            *orphan_sweeper(services)]  # fmt: skip
