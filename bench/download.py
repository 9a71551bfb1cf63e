"""The job download against aiohttp's FileResponse and `zip -0`, in one run.

    .venv/bin/python bench/download.py [--outputs 20] [--mib 50] [--repeat 3] [--storage s3]

A job of 20 outputs x 50 MiB (incompressible) in 4 folders is served by `serve` in a
subprocess; curl fetches it. Printed (medians of `--repeat` alternating downloads): MiB/s
and the ratio to FileResponse serving one file of the same total size, the server's CPU
seconds per download, and its largest peak-RSS growth during one,
4 concurrent downloads' aggregate rate, and a resume from the middle: its time to first
byte and the bytes the server read for it (page cache or disk; the read-ahead thread and
sendfile each count the bytes sent, so 2x what was sent means nothing before the range
was read). The load average is printed before and after: the machine is shared.

With `--storage s3` the same job is also stored in SeaweedFS (started here on loopback)
and served by a second `serve` whose storage is that bucket; the two are downloaded in
turn and compared: rate, server CPU, peak RSS growth, and a resume's first byte.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from statistics import median

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._db import fresh_database, server_label  # noqa: E402
from bench._seed import MIB, seed_job, write_random  # noqa: E402
from bench._serve import free_port, load_average  # noqa: E402
from service.storage.s3 import S3Storage  # noqa: E402

FILE_SERVER = """
import sys
from aiohttp import web
path = sys.argv[1]
async def handler(request):
    return web.FileResponse(path)
app = web.Application()
app.router.add_get("/file", handler)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), print=None, access_log=None)
"""


class Sampler:
    """Peak RSS and CPU time of a process while a block runs."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)

    def __enter__(self) -> Sampler:
        self.rss0 = self.proc.memory_info().rss
        self.peak = self.rss0
        times = self.proc.cpu_times()
        self.cpu0 = times.user + times.system
        self.read0 = self.proc.io_counters().read_chars
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        times = self.proc.cpu_times()
        self.cpu = times.user + times.system - self.cpu0
        self.growth_mib = (self.peak - self.rss0) / MIB
        self.read = self.proc.io_counters().read_chars - self.read0


def curl(url: str, headers: list[str], out: str = "/dev/null") -> tuple[float, float, int]:
    """(seconds total, seconds to first byte, bytes) for one fetch."""
    args = ["curl", "-s", "-o", out, "-w", "%{time_total} %{time_starttransfer} %{size_download}"]
    for header in headers:
        args += ["-H", header]
    result = subprocess.run([*args, url], capture_output=True, text=True, check=True)
    total, first, size = result.stdout.split()
    return float(total), float(first), int(size)


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 60
    while subprocess.run(["curl", "-sf", "-o", "/dev/null", url], check=False).returncode:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} never became ready")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", type=int, default=20)
    parser.add_argument("--mib", type=int, default=50, help="size of each output")
    parser.add_argument("--repeat", type=int, default=3, help="downloads of each kind")
    parser.add_argument("--storage", choices=["disk", "s3"], default="disk")
    args = parser.parse_args()
    if args.storage == "s3":
        asyncio.run(run_s3(args.outputs, args.mib * MIB, args.repeat))
    else:
        asyncio.run(run(args.outputs, args.mib * MIB, args.repeat))


async def run(outputs: int, size: int, repeat: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="vr-bench-download-"))
    try:
        async with fresh_database() as url:
            job_id, token = await seed_job(url, work / "data", outputs, size)
            await asyncio.to_thread(measure, url, work, job_id, token, outputs, size, repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(
    db_url: str, work: Path, job_id: uuid.UUID, token: str, outputs: int, size: int, repeat: int
) -> None:
    """Runs in a thread: it only drives subprocesses and waits."""
    data_dir = work / "data"
    total_mib = outputs * size / MIB
    big = work / "one.bin"
    write_random(big, outputs * size)

    port, file_port = free_port(), free_port()
    env = {**os.environ, "VR_DATABASE_URL": db_url, "VR_DATA_DIR": str(data_dir),
           "VR_PORT": str(port), "VR_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}  # fmt: skip
    service = subprocess.Popen([sys.executable, "-m", "service", "serve"], env=env, cwd=ROOT)
    files = subprocess.Popen([sys.executable, "-c", FILE_SERVER, str(big), str(file_port)])
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz")
        wait_ready(f"http://127.0.0.1:{file_port}/file")
        auth = [f"Authorization: Bearer {token}"]
        job_url = f"http://127.0.0.1:{port}/api/jobs/{job_id}/download"
        file_url = f"http://127.0.0.1:{file_port}/file"
        print(f"Download benchmark on {server_label()}: {outputs} x {size // MIB} MiB "
              f"= {total_mib:.0f} MiB in 4 folders; load average {load_average()}")  # fmt: skip
        # warm the page cache and both servers
        curl(job_url, auth)
        curl(file_url, [])

        # Alternate the two, `repeat` times each, and take medians: a single download's
        # CPU swings by 3x here, with where the kernel happens to charge loopback work.
        file_rates, file_cpus, job_rates, job_cpus, growths = [], [], [], [], []
        for _ in range(repeat):
            with Sampler(files.pid) as file_stats:
                file_time, _, file_bytes = curl(file_url, [])
            with Sampler(service.pid) as job_stats:
                job_time, _, job_bytes = curl(job_url, auth)
            file_rates.append(file_bytes / MIB / file_time)
            file_cpus.append(file_stats.cpu)
            job_rates.append(job_bytes / MIB / job_time)
            job_cpus.append(job_stats.cpu)
            growths.append(job_stats.growth_mib)
        zip_start = time.perf_counter()
        sources = sorted(str(p) for p in (data_dir / "outputs").rglob("*.mp4"))
        subprocess.run(["zip", "-0", "-q", "-", *sources], stdout=subprocess.DEVNULL, check=True)
        zip_time = time.perf_counter() - zip_start

        file_rate, file_cpu = median(file_rates), median(file_cpus)
        job_rate, job_cpu = median(job_rates), median(job_cpus)
        print(f"  medians of {repeat} downloads each, alternating:")
        print(f"  FileResponse, one file          {file_rate:8.0f} MiB/s   cpu {file_cpu:.2f} s")
        print(f"  service ZIP download            {job_rate:8.0f} MiB/s   cpu {job_cpu:.2f} s"
              f"   ratio {job_rate / file_rate:.2f}x")  # fmt: skip
        print(f"  zip -0 to /dev/null             {total_mib / zip_time:8.0f} MiB/s")
        print(
            f"  server CPU per download: {job_cpu:.2f} s "
            f"({job_cpu / max(file_cpu, 1e-9):.2f}x FileResponse)"
        )
        print(f"  server peak RSS growth during a download: {max(growths):.1f} MiB (largest)")

        with Sampler(service.pid):
            start = time.perf_counter()
            threads = [threading.Thread(target=curl, args=(job_url, auth)) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - start
        aggregate = 4 * job_bytes / MIB / elapsed
        print(f"  4 concurrent downloads          {aggregate:8.0f} MiB/s aggregate")

        half = job_bytes // 2
        with Sampler(service.pid) as resume:
            _, first_byte, got = curl(job_url, [*auth, f"Range: bytes={half}-"])
        print(f"  resume from the middle: first byte after {first_byte * 1000:.1f} ms, "
              f"{got / MIB:.0f} MiB sent, {resume.read / MIB:.0f} MiB read "
              f"({resume.read / max(got, 1):.2f}x sent)")  # fmt: skip
        print(f"  load average after: {load_average()}")
    finally:
        for proc in (service, files):
            proc.terminate()
            proc.wait(timeout=30)


async def run_s3(outputs: int, size: int, repeat: int) -> None:
    from bench._s3 import seaweed_env

    work = Path(tempfile.mkdtemp(prefix="vr-bench-download-"))
    try:
        with seaweed_env(f"bench-{uuid.uuid4().hex}") as s3_env:
            bucket = S3Storage(
                s3_env["VR_STORAGE_URL"].split("/")[2], s3_env["VR_STORAGE_URL"].split("/", 3)[3],
                endpoint=s3_env["VR_S3_ENDPOINT"], region="us-east-1",
            )  # fmt: skip
            async with fresh_database() as url:
                disk_job = await seed_job(url, work / "data", outputs, size)
                s3_job = await seed_job(url, work / "staging", outputs, size, bucket)
                await asyncio.to_thread(
                    measure_s3, url, work, disk_job, s3_job, s3_env, outputs, size, repeat
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure_s3(
    db_url: str,
    work: Path,
    disk_job: tuple[uuid.UUID, str],
    s3_job: tuple[uuid.UUID, str],
    s3_env: dict[str, str],
    outputs: int,
    size: int,
    repeat: int,
) -> None:
    """Runs in a thread: two `serve`s (local disk, SeaweedFS), downloads in turn."""
    total_mib = outputs * size / MIB
    ports = {"disk": free_port(), "s3": free_port()}
    base = {**os.environ, "VR_DATABASE_URL": db_url, "VR_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT), "VR_ROLE": "api"}  # fmt: skip
    services = {
        "disk": subprocess.Popen(
            [sys.executable, "-m", "service", "serve"], cwd=ROOT,
            env={**base, "VR_DATA_DIR": str(work / "data"), "VR_PORT": str(ports["disk"])},
        ),
        "s3": subprocess.Popen(
            [sys.executable, "-m", "service", "serve"], cwd=ROOT,
            env={**base, **s3_env, "VR_DATA_DIR": str(work / "api-s3"),
                 "VR_PORT": str(ports["s3"])},
        ),
    }  # fmt: skip
    jobs = {"disk": disk_job, "s3": s3_job}
    try:
        for port in ports.values():
            wait_ready(f"http://127.0.0.1:{port}/readyz")
        print(f"Download benchmark, local disk vs SeaweedFS on loopback, {server_label()}: "
              f"{outputs} x {size // MIB} MiB = {total_mib:.0f} MiB; "
              f"load average {load_average()}")  # fmt: skip
        urls = {k: f"http://127.0.0.1:{ports[k]}/api/jobs/{jobs[k][0]}/download" for k in jobs}
        auth = {k: [f"Authorization: Bearer {jobs[k][1]}"] for k in jobs}
        for kind in jobs:
            curl(urls[kind], auth[kind])  # warm up
        rates: dict[str, list[float]] = {"disk": [], "s3": []}
        cpus: dict[str, list[float]] = {"disk": [], "s3": []}
        growths: dict[str, list[float]] = {"disk": [], "s3": []}
        for _ in range(repeat):
            for kind in jobs:
                with Sampler(services[kind].pid) as stats:
                    took, _, got = curl(urls[kind], auth[kind])
                rates[kind].append(got / MIB / took)
                cpus[kind].append(stats.cpu)
                growths[kind].append(stats.growth_mib)
        print(f"  medians of {repeat} downloads each, alternating:")
        for kind, label in (("disk", "local disk (sendfile)"), ("s3", "SeaweedFS (ranged GETs)")):
            half = got // 2
            _, first, _ = curl(urls[kind], [*auth[kind], f"Range: bytes={half}-"])
            print(f"  {label:26} {median(rates[kind]):7.0f} MiB/s   cpu {median(cpus[kind]):.2f} s"
                  f"   peak RSS growth {max(growths[kind]):.1f} MiB"
                  f"   resume first byte {first * 1000:.1f} ms")  # fmt: skip
        print(f"  ratio S3 / disk: {median(rates['s3']) / median(rates['disk']):.2f}x; "
              f"load average after: {load_average()}")  # fmt: skip
    finally:
        for proc in services.values():
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
