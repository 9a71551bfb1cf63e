"""Wire the service together: database, event store, read models and background runners.

Which background components run depends on the process's role; the HTTP app, the CLI
and the tests all start the same `running_services`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from service.clock import Clock, SystemClock
from service.db.database import Database, open_database
from service.events.notify import ChangeNotifier
from service.events.store import EventStore
from service.processing.wiring import worker
from service.projections import job_view
from service.projections.job_queries import JobQueries
from service.projections.runner import SubscriptionRunner
from service.projections.wait import ProjectionWaiter
from service.reactors.wiring import reactors
from service.settings import Role, Settings
from service.storage.factory import open_storage
from service.storage.interface import ObjectStorage
from service.storage.readiness import storage_readiness

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0  # how long shutdown waits for a component's current unit of work


class Component(Protocol):
    """A background loop: `run` until `stop` is called."""

    name: str

    async def run(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Services:
    """Everything a handler or a command needs, built once per process."""

    settings: Settings
    database: Database
    store: EventStore
    jobs: JobQueries
    job_view_waiter: ProjectionWaiter
    clock: Clock
    storage: ObjectStorage
    components: list[Component] = field(default_factory=list)
    readiness: dict[str, Callable[[], Any]] = field(default_factory=dict)


ComponentFactory = Callable[[Services], list[Component]]


def job_view_runner(services: Services) -> list[Component]:
    return [
        SubscriptionRunner(
            job_view.NAME,
            job_view.JobViewProjection(),
            services.database,
            poll_interval_s=services.settings.poll_interval_s,
            on_advance=services.job_view_waiter.advanced,
        )
    ]


# Which components each role runs. Every role reads the job view, so every role can feed
# it: the runner is single-active across processes, the others wait as standbys.
ROLE_COMPONENTS: dict[Role, list[ComponentFactory]] = {
    Role.ALL: [job_view_runner, reactors, worker],
    Role.API: [job_view_runner],
    Role.WORKER: [job_view_runner, worker],
    Role.REACTORS: [job_view_runner, reactors],
}


@asynccontextmanager
async def running_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    with_components: bool = True,
) -> AsyncIterator[Services]:
    """Open the database (migrating it), start the role's components, tear down in reverse."""
    await asyncio.to_thread(make_data_dirs, settings)
    async with open_database(settings, migrate_schema=True) as database:
        notifier = ChangeNotifier(database.pool)
        await notifier.start()
        services = Services(
            settings=settings,
            database=database,
            store=EventStore(database.pool, notifier),
            jobs=JobQueries(database.pool),
            job_view_waiter=ProjectionWaiter(database.pool, job_view.NAME),
            clock=clock or SystemClock(),
            storage=open_storage(settings),
        )
        services.readiness["storage"] = storage_readiness(services.storage)
        tasks: list[asyncio.Task[None]] = []
        if with_components:
            for factory in ROLE_COMPONENTS[settings.role]:
                services.components.extend(factory(services))
            tasks = [asyncio.create_task(c.run(), name=c.name) for c in services.components]
        try:
            yield services
        finally:
            await _stop(services.components, tasks)
            await notifier.stop()
            await services.storage.close()


def make_data_dirs(settings: Settings) -> None:
    """Create the uploads, outputs and scratch folders (and the data dir). Runs in a thread."""
    for directory in (settings.uploads_dir, settings.outputs_dir, settings.scratch_dir):
        directory.mkdir(parents=True, exist_ok=True)


async def _stop(components: list[Component], tasks: list[asyncio.Task[None]]) -> None:
    for component in components:
        component.stop()
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
    for task in pending:
        log.warning(
            "component %s did not stop in time; cancelling",
            task.get_name(),
            extra={"action": "service.stop_timeout"},
        )
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            exc = task.exception() if task.done() and not task.cancelled() else None
            if exc is not None:
                log.error(
                    "component %s crashed: %r",
                    task.get_name(),
                    exc,
                    extra={"action": "service.component_crashed"},
                )
    await asyncio.gather(*pending, return_exceptions=True)
