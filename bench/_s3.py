"""A SeaweedFS S3 server for benchmarks: the suite's own fixture code, outside pytest."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.seaweed import BUCKET, start_weed, stop_weed, wait_until_serving


@contextlib.contextmanager
def seaweed_env(prefix: str) -> Iterator[dict[str, str]]:
    """Start `weed mini` on loopback; yield the VR_/AWS_ variables of a bucket prefix."""
    root = Path(tempfile.mkdtemp(prefix="vr-bench-weed-"))
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    process, endpoint = start_weed(root)
    try:
        wait_until_serving(process, endpoint, root)
        yield {
            "VR_STORAGE_URL": f"s3://{BUCKET}/{prefix}",
            "VR_S3_ENDPOINT": endpoint,
            "VR_S3_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        }
    finally:
        stop_weed(process)
        shutil.rmtree(root, ignore_errors=True)
