"""Reactor fixtures: the purger and the reaper with retries fast enough for tests."""

from __future__ import annotations

import pytest

from service.bootstrap import Services
from service.reactors.file_reactor import FileReactor
from service.reactors.output_reaper import OutputReap
from service.reactors.retry import RetryQueue
from service.reactors.upload_purger import UploadPurge


def fast_retry() -> RetryQueue:
    return RetryQueue(base_delay_s=0.05, max_delay_s=0.2)


def file_reactor(services: Services, cleanup: object, **kwargs: object) -> FileReactor:
    return FileReactor(
        cleanup,  # type: ignore[arg-type]
        store=services.store,
        database=services.database,
        storage=services.storage,
        poll_interval_s=0.05,
        retry=fast_retry(),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def purger(services: Services) -> FileReactor:
    return file_reactor(services, UploadPurge())


@pytest.fixture
def reaper(services: Services) -> FileReactor:
    return file_reactor(services, OutputReap())
