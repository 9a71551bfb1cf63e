"""HTTP fixtures: a movable clock and a test client for the whole app."""

from __future__ import annotations

from typing import Any

import pytest

from service.clock import FixedClock
from service.http.app import create_app
from service.http.keys import SERVICES
from service.settings import Settings


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings, clock: FixedClock) -> Any:
    return await aiohttp_client(create_app(settings, clock=clock))


@pytest.fixture
def app_pool(client: Any) -> Any:
    """The pool the app under test uses."""
    return client.app[SERVICES].database.pool
