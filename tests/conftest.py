"""Shared fixtures: a real PostgreSQL, one migrated template database per session, and a
fresh clone of it for every test, so tests cannot see each other.

With VR_DATABASE_URL set the tests use that server; otherwise they start an embedded
PostgreSQL for the session.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from service.bootstrap import Services, running_services
from service.db.migrate import migrate
from service.settings import Settings
from tests.clips import ffmpeg, long_clip, tiny_clips  # noqa: F401  (session fixtures)
from tests.seaweed import s3_settings, seaweed, storage  # noqa: F401  (S3 server; backends)

T = TypeVar("T")
_counter = itertools.count()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a private loop in a thread (fixtures are sync)."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """An admin URL for the PostgreSQL server the suite runs against."""
    configured = os.environ.get("VR_DATABASE_URL")
    if configured:
        yield configured
        return
    from service.db.embedded import EmbeddedPostgres

    # Outside pytest's basetemp: concurrent pytest sessions prune each other's old basetemps.
    root = Path(tempfile.mkdtemp(prefix="vr-test-pg-"))
    embedded = EmbeddedPostgres(root / "pgdata")
    url = embedded.start()
    try:
        yield url
    finally:
        embedded.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def template_database(server_url: str) -> Iterator[str]:
    """A database with every migration applied, cloned by each test."""
    name = f"vr_template_{os.getpid()}"

    async def create() -> None:
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        conn = await asyncpg.connect(with_database(server_url, name))
        try:
            await migrate(conn)
        finally:
            await conn.close()

    run_sync(create())
    yield name
    run_sync(_drop(server_url, name))


async def _drop(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def create_database(server_url: str, template: str | None) -> str:
    """Create a uniquely named database (a clone of `template`, or empty); return its URL."""
    name = f"vr_test_{os.getpid()}_{next(_counter)}"

    async def create() -> None:
        admin = await asyncpg.connect(server_url)
        try:
            source = f'TEMPLATE "{template}"' if template else "TEMPLATE template0"
            await admin.execute(f'CREATE DATABASE "{name}" {source}')
        finally:
            await admin.close()

    run_sync(create())
    return with_database(server_url, name)


@pytest.fixture
def database_url(server_url: str, template_database: str) -> Iterator[str]:
    """A fresh, migrated database for this test only."""
    url = create_database(server_url, template_database)
    yield url
    run_sync(_drop(server_url, urlsplit(url).path.lstrip("/")))


@pytest.fixture
def empty_database_url(server_url: str) -> Iterator[str]:
    """A fresh database with no migrations applied."""
    url = create_database(server_url, None)
    yield url
    run_sync(_drop(server_url, urlsplit(url).path.lstrip("/")))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        poll_interval_s=0.05,
        pool_min_size=1,
        pool_max_size=5,
    )


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    """The wired services without background components; tests start what they need."""
    async with running_services(settings, with_components=False) as services:
        yield services


@pytest.fixture
async def pool(services: Services) -> asyncpg.Pool:
    return services.database.pool


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """This suite never skips: a skip (a marker, a fixture, a library's own) is reported as
    a failure with its reason, so nothing passes unproven on a machine that lacks a part."""
    report = yield
    if not hasattr(report, "wasxfail"):
        _fail_if_skipped(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    """The same for a whole module skipped as it is collected (`importorskip`)."""
    report = yield
    _fail_if_skipped(report)
    return report


def _fail_if_skipped(report: pytest.TestReport | pytest.CollectReport) -> None:
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, and this suite never skips: {reason}"
