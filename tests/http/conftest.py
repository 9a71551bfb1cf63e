"""HTTP fixtures: a movable clock and a test client for the whole app."""

from __future__ import annotations

from typing import Any

import pytest

from service.clock import FixedClock
from service.http.app import create_app
from service.http.keys import SERVICES
from service.settings import Role, Settings


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings, clock: FixedClock) -> Any:
    """The API role: the job view follows the log, but no worker or reactor acts on the
    jobs a test builds by hand (tests/http/test_end_to_end.py runs every role)."""
    api = settings.model_copy(update={"role": Role.API})
    return await aiohttp_client(create_app(api, clock=clock))


@pytest.fixture
def app_pool(client: Any) -> Any:
    """The pool the app under test uses."""
    return client.app[SERVICES].database.pool


@pytest.fixture
async def alice(app_pool: Any) -> Any:
    from tests.accounts.support import make_user

    return await make_user(app_pool, "alice")


@pytest.fixture
async def alice_headers(client: Any, alice: Any) -> dict[str, str]:
    from tests.accounts.support import bearer, log_in

    return bearer(await log_in(client, "alice"))
