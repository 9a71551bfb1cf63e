"""The quickstart: the first API start with no accounts creates `admin` and says so once."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from service.http.app import create_app
from service.http.keys import SERVICES
from service.settings import Role, Settings


async def test_the_first_start_creates_admin_and_logs_its_password_once(
    aiohttp_client: Any, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a database with no accounts, when the app starts
    with caplog.at_level(logging.WARNING, logger="service.accounts.first_admin"):
        client = await aiohttp_client(create_app(settings))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    # Then one warning names the account and its password
    assert len(warnings) == 1
    password = re.search(r"Password: (\S+)", warnings[0]).group(1)  # type: ignore[union-attr]
    # And that password logs in as an admin
    response = await client.post(
        "/api/auth/login", json={"username": "admin", "password": password}
    )
    assert response.status == 200
    # And a second start creates nothing and logs no password
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="service.accounts.first_admin"):
        await aiohttp_client(create_app(settings))
    assert not [r for r in caplog.records if "Password" in r.getMessage()]


async def test_a_worker_only_process_creates_no_account(
    aiohttp_client: Any, settings: Settings
) -> None:
    worker = settings.model_copy(update={"role": Role.WORKER})
    client = await aiohttp_client(create_app(worker))
    pool = client.app[SERVICES].database.pool
    assert await pool.fetchval("SELECT count(*) FROM users") == 0
