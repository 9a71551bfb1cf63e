"""Every storage test runs against both backends: the data directory and SeaweedFS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.settings import Settings
from service.storage.factory import open_storage
from service.storage.interface import ObjectStorage
from tests.seaweed import SeaweedS3


def storage_settings(kind: str, data_dir: Path, seaweed: SeaweedS3 | None) -> Settings:
    if kind == "disk":
        return Settings(data_dir=data_dir)
    assert seaweed is not None
    return Settings(
        data_dir=data_dir, storage_url=seaweed.url(), s3_endpoint=seaweed.endpoint,
        s3_region="us-east-1",
    )  # fmt: skip


@pytest.fixture(params=["disk", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStorage]:
    seaweed = request.getfixturevalue("seaweed") if request.param == "s3" else None
    (tmp_path / "data").mkdir()
    built = open_storage(storage_settings(request.param, tmp_path / "data", seaweed))
    yield built
    await built.close()
