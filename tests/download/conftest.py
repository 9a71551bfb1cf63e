import time

import pytest


@pytest.fixture
def utc_local_time(monkeypatch: pytest.MonkeyPatch):
    """zipstream-ng stamps entries with the file's mtime in local time; the plan uses UTC."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
