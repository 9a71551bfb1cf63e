"""A render job through the service against the same ffmpeg commands in a shell loop.

    .venv/bin/python bench/render.py [--clips 3] [--variations 5] [--seconds 5] [--storage s3]
    .venv/bin/python bench/render.py pipelines [...]   # the render itself: see _pipelines.py
    .venv/bin/python bench/render.py floor [...]       # the fastest it can get: _render_floor.py

Makes the clips with ffmpeg's test sources, starts `serve` (every role) on
VR_DATABASE_URL or the embedded server, posts one job of every clip, and times it from
the POST to the moment `GET /api/jobs/{id}` says completed. The direct run is a bash
script of exactly the ffmpeg commands the worker ran (same arguments, same effects, same
disk, as many at once as the worker's default render slots), run before and after the
service; its mean is the ceiling. Prints both times and
the ratio ceiling / service (the issue's target: >= 0.9, i.e. under 10% overhead).
With `--storage s3` the same job also runs with uploads and outputs in SeaweedFS (started
here on loopback), alternating with the local disk, and the ratio disk / S3 is printed
(the target: >= 0.9).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._db import fresh_database, server_label  # noqa: E402
from service.accounts import passwords, tokens, users  # noqa: E402
from service.events.job import VariationRendered, job_stream  # noqa: E402
from service.events.store import EventStore  # noqa: E402
from service.processing.effects import Effects  # noqa: E402
from service.processing.ffmpeg_binary import locate_ffmpeg  # noqa: E402
from service.processing.render import ffmpeg_args  # noqa: E402
from service.processing.worker import default_concurrency, ffmpeg_threads  # noqa: E402

POLL_S = 0.05  # how often the job's status is asked for: the service time is this precise


def make_clips(ffmpeg: str, folder: Path, count: int, seconds: int) -> list[Path]:
    """Count distinct 640x360 25 fps H.264 + AAC clips (a different test picture each)."""
    sources = ["testsrc", "testsrc2", "smptebars", "rgbtestsrc", "smptehdbars"]
    clips = []
    for n in range(count):
        clip = folder / f"clip{n + 1}.mp4"
        subprocess.run(
            [ffmpeg, "-v", "error", "-y",
             "-f", "lavfi",
             "-i", f"{sources[n % len(sources)]}=size=640x360:rate=25:duration={seconds}",
             "-f", "lavfi", "-i", f"sine=frequency={220 * (n + 1)}:duration={seconds}",
             "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac",
             str(clip)],
            check=True,
        )  # fmt: skip
        clips.append(clip)
    return clips


async def bench_user(url: str) -> str:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    now = datetime.now(UTC)
    user = await users.create_user(
        pool, "bench", await passwords.hash_password("pw"), is_admin=False, now=now
    )
    token, _ = await tokens.issue(pool, user.id, now=now, ttl_s=3600)
    await pool.close()
    return token


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} never became ready") from None
            time.sleep(0.2)


def get_json(url: str, token: str) -> dict[str, object]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)  # type: ignore[no-any-return]


def through_the_service(
    base: str, token: str, clips: list[Path], variations: int
) -> tuple[str, float]:
    """(job id, seconds from the POST to 'completed')."""
    form = [arg for clip in clips for arg in ("-F", f"videos=@{clip};type=video/mp4")]
    started = time.perf_counter()
    posted = subprocess.run(
        ["curl", "-sf", "-H", f"Authorization: Bearer {token}", *form,
         "-F", f"variations={variations}", f"{base}/api/jobs"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    job_id = json.loads(posted.stdout)["job_id"]
    while True:
        status = get_json(f"{base}/api/jobs/{job_id}", token)["status"]
        if status != "received" and status != "processing":
            break
        time.sleep(POLL_S)
    elapsed = time.perf_counter() - started
    if status != "completed":
        raise RuntimeError(f"the job ended {status}")
    return job_id, elapsed


def run_service(
    url: str,
    data_dir: Path,
    token: str,
    clips: list[Path],
    variations: int,
    storage_env: dict[str, str] | None = None,
) -> tuple[str, float, dict[str, object]]:
    """Start `serve`, run the job through it, stop it. Blocking: runs in a thread."""
    port = _free_port()
    env = {**os.environ, "VR_DATABASE_URL": url, "VR_DATA_DIR": str(data_dir),
           "VR_PORT": str(port), "VR_LOG_LEVEL": "WARNING", **(storage_env or {})}  # fmt: skip
    service = subprocess.Popen([sys.executable, "-m", "service", "serve"], env=env, cwd=ROOT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/readyz")
        job_id, seconds = through_the_service(base, token, clips, variations)
        return job_id, seconds, get_json(f"{base}/api/jobs/{job_id}", token)
    finally:
        service.terminate()
        service.wait(30)


async def rendered_outputs(url: str, job_id: str) -> list[VariationRendered]:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    events = await EventStore(pool).read_stream(job_stream(__import__("uuid").UUID(job_id)))
    await pool.close()
    return [e.event for e in events if isinstance(e.event, VariationRendered)]


def shell_loop(
    ffmpeg: str, uploads: dict[str, Path], outputs: list[VariationRendered], out: Path
) -> float:
    """Seconds for a bash script of the worker's exact ffmpeg commands, as many at once as
    the worker runs by default (its render slots, each with its share of the threads)."""
    out.mkdir(parents=True, exist_ok=True)
    slots = default_concurrency(os.cpu_count())
    threads = ffmpeg_threads(None, slots)
    lanes: list[list[str]] = [[] for _ in range(slots)]
    for n, rendered in enumerate(outputs):
        effects = Effects(**rendered.effects.model_dump())
        source = uploads[str(rendered.file_id)]
        argv = ffmpeg_args(ffmpeg, source, out / f"{n}.mp4", effects, threads=threads)
        lanes[n % slots].append(shlex.join(argv))
    script = out / "loop.sh"
    body = "\n".join(f"( set -e; {'; '.join(lane)} ) & pids+=($!)" for lane in lanes if lane)
    script.write_text(f'pids=()\n{body}\nfor p in "${{pids[@]}}"; do wait "$p" || exit 1; done\n')
    started = time.perf_counter()
    subprocess.run(["bash", str(script)], check=True)
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=3)
    parser.add_argument("--variations", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5, help="length of each clip")
    parser.add_argument("--storage", choices=["disk", "s3"], default="disk")
    args = parser.parse_args()
    if args.storage == "s3":
        await compare_storage(args.clips, args.variations, args.seconds)
        return

    ffmpeg = locate_ffmpeg(None)
    work = Path(tempfile.mkdtemp(prefix="vr-bench-render-"))
    try:
        clips = make_clips(ffmpeg, work, args.clips, args.seconds)
        async with fresh_database() as url:
            token = await bench_user(url)
            job_id, service_s, job = await asyncio.to_thread(
                run_service, url, work / "data", token, clips, args.variations
            )
            outputs = await rendered_outputs(url, job_id)
        # The uploads are purged once the job ends: the direct run reads the original clips,
        # which hold the same bytes.
        by_id = {f["id"]: clips[n] for n, f in enumerate(job["files"])}  # type: ignore[index,arg-type]
        before = await asyncio.to_thread(shell_loop, ffmpeg, by_id, outputs, work / "direct1")
        after = await asyncio.to_thread(shell_loop, ffmpeg, by_id, outputs, work / "direct2")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    direct = (before + after) / 2
    renders = args.clips * args.variations
    print(f"Render benchmark on {server_label()}: {args.clips} clips x {args.variations} "
          f"variations, 640x360 {args.seconds} s each, {os.cpu_count()} cores")  # fmt: skip
    print(f"  shell loop of the same ffmpeg commands  {direct:7.2f} s  "
          f"(runs: {before:.2f} s, {after:.2f} s)")  # fmt: skip
    print(f"  service, POST to completed              {service_s:7.2f} s  "
          f"({service_s / renders:.2f} s per variation)")  # fmt: skip
    print(f"  ratio shell / service                   {direct / service_s:7.2f}x  (target >= 0.9)")
    print(json.dumps({"direct_s": round(direct, 3), "service_s": round(service_s, 3),
                      "ratio": round(direct / service_s, 3)}))  # fmt: skip


async def compare_storage(clip_count: int, variations: int, seconds: int, rounds: int = 2) -> None:
    """The same job through the service on the local disk and on SeaweedFS, alternating."""
    from bench._s3 import seaweed_env

    ffmpeg = locate_ffmpeg(None)
    work = Path(tempfile.mkdtemp(prefix="vr-bench-render-"))
    times: dict[str, list[float]] = {"disk": [], "s3": []}
    try:
        clips = make_clips(ffmpeg, work, clip_count, seconds)
        with seaweed_env(f"bench-{time.time_ns()}") as s3_env:
            async with fresh_database() as url:
                token = await bench_user(url)
                for n in range(rounds):
                    for kind, env in (("disk", None), ("s3", s3_env)):
                        _, took, _ = await asyncio.to_thread(
                            run_service, url, work / f"data-{kind}-{n}", token, clips,
                            variations, env,
                        )  # fmt: skip
                        times[kind].append(took)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    disk, s3 = sum(times["disk"]) / rounds, sum(times["s3"]) / rounds
    print(f"Render benchmark, local disk vs SeaweedFS on loopback, {server_label()}: "
          f"{clip_count} clips x {variations} variations, 640x360 {seconds} s each, "
          f"{os.cpu_count()} cores, {rounds} alternating rounds")  # fmt: skip
    print(f"  local disk, POST to completed   {disk:7.2f} s  (runs: "
          f"{', '.join(f'{t:.2f}' for t in times['disk'])})")  # fmt: skip
    print(f"  S3, POST to completed           {s3:7.2f} s  (runs: "
          f"{', '.join(f'{t:.2f}' for t in times['s3'])})")  # fmt: skip
    print(f"  ratio disk / S3                 {disk / s3:7.2f}x  (target >= 0.9)")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    if sys.argv[1:2] == ["pipelines"]:
        from bench import _pipelines

        _pipelines.main(sys.argv[2:])
    elif sys.argv[1:2] == ["floor"]:
        from bench import _render_floor

        _render_floor.main(sys.argv[2:])
    else:
        asyncio.run(main())
