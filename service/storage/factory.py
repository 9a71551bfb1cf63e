"""Choose the backend from `VR_STORAGE_URL`: unset or `file:` is the data directory."""

from __future__ import annotations

from urllib.parse import urlsplit

from service.errors import ConfigurationError
from service.settings import Settings
from service.storage.disk import DiskStorage
from service.storage.interface import ObjectStorage
from service.storage.s3 import S3Storage


def open_storage(settings: Settings) -> ObjectStorage:
    url = settings.storage_url
    if not url or url == "file:":
        return DiskStorage(settings.data_dir)
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ConfigurationError("VR_STORAGE_URL: must be unset, file: or s3://bucket[/prefix]")
    return S3Storage(
        parts.netloc, parts.path, endpoint=settings.s3_endpoint, region=settings.s3_region
    )
