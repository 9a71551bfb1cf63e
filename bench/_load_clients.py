"""The load benchmark's clients: each request as the page or a script sends it, checked
(status, and every byte of a download against the archive), and timed from the moment
it was meant to be sent.

A lane is one client with a fixed schedule: request k is due at `times[k]`, whether or
not the one before has finished (as wrk2 does: a late request starts as soon as the lane
is free, and its latency still counts from its due time, so a stalled server cannot hide
its stall by slowing the clients down: no coordinated omission).
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import aiohttp

CHUNK = 256 * 1024  # download read size: the bytes are compared as they come
SNAPSHOT_LINE_LIMIT = 4 * 1024 * 1024  # a snapshot of 100 jobs is one long `data:` line


class Unexpected(Exception):
    """An answer other than the one the request must get; the message is its tally key."""


@dataclass
class Tally:
    """One kind of request: latencies (seconds from due time) of the good ones, errors."""

    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.errors.total()


@dataclass(frozen=True)
class Target:
    """What the clients talk to, and what they must get back."""

    url: str
    job_id: uuid.UUID  # the finished job every download fetches
    job_token: str
    archive: bytes  # its ZIP, as one full download returned it
    etag: str
    upload_body: bytes


def describe(error: BaseException) -> str:
    if isinstance(error, Unexpected):
        return str(error)
    return type(error).__name__


async def sleep_until(when: float) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, when - loop.time()))


async def run_lane(
    times: list[float], tallies: Sequence[Tally], request: Callable[[int], Awaitable[None]]
) -> None:
    """Send request k at `times[k]` (or as soon as the lane is free, if later), tallied
    in `tallies[k % len(tallies)]` (a lane may mix kinds: downloads and resumes)."""
    loop = asyncio.get_running_loop()
    for k, due in enumerate(times):
        tally = tallies[k % len(tallies)]
        await sleep_until(due)
        try:
            await request(k)
        except Exception as error:  # every failure is a figure, not a crash of the bench
            tally.errors[describe(error)] += 1
        else:
            tally.latencies.append(loop.time() - due)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def download(session: aiohttp.ClientSession, target: Target, offset: int | None) -> None:
    """The whole ZIP, or (a resume) from `offset` to the end with `If-Range`; every byte
    must equal the archive's."""
    headers = bearer(target.job_token)
    if offset is not None:
        headers |= {"Range": f"bytes={offset}-", "If-Range": target.etag}
    url = f"{target.url}/api/jobs/{target.job_id}/download"
    async with session.get(url, headers=headers) as response:
        if response.status != (200 if offset is None else 206):
            raise Unexpected(f"status {response.status}")
        expected = memoryview(target.archive)
        position = offset or 0
        async for chunk in response.content.iter_chunked(CHUNK):
            if expected[position : position + len(chunk)] != chunk:
                raise Unexpected("bytes differ from the archive")
            position += len(chunk)
        if position != len(target.archive):
            raise Unexpected("short body")


async def upload_multipart(
    session: aiohttp.ClientSession, url: str, token: str, body: bytes
) -> str:
    """One job of one video by `POST /api/jobs` multipart; its job id."""
    form = aiohttp.FormData()
    form.add_field("videos", body, filename="clip.mp4", content_type="video/mp4")
    form.add_field("variations", "2")
    async with session.post(f"{url}/api/jobs", data=form, headers=bearer(token)) as response:
        return await _job_id(response)


async def upload_tus(session: aiohttp.ClientSession, url: str, token: str, body: bytes) -> str:
    """The same job through the tus door: create, one PATCH, then the JSON job request."""
    tus = {**bearer(token), "Tus-Resumable": "1.0.0"}
    name = base64.b64encode(b"clip.mp4").decode()
    created = await session.post(
        f"{url}/api/uploads",
        headers={**tus, "Upload-Length": str(len(body)), "Upload-Metadata": f"filename {name}"},
    )
    async with created:
        if created.status != 201:
            raise Unexpected(f"tus create: status {created.status}")
        location = created.headers["Location"]
    patched = await session.patch(
        f"{url}{location}",
        data=body,
        headers={**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    async with patched:
        if patched.status != 204:
            raise Unexpected(f"tus PATCH: status {patched.status}")
    upload_id = location.rsplit("/", 1)[1]
    job = {"uploads": [upload_id], "variations": 2}
    async with session.post(f"{url}/api/jobs", json=job, headers=bearer(token)) as response:
        return await _job_id(response)


async def _job_id(response: aiohttp.ClientResponse) -> str:
    if response.status != 202:
        raise Unexpected(f"status {response.status}")
    return (await response.json())["job_id"]


async def list_jobs(session: aiohttp.ClientSession, url: str, token: str) -> None:
    """The page's job list: the newest 20."""
    async with session.get(f"{url}/api/jobs?limit=20", headers=bearer(token)) as response:
        if response.status != 200:
            raise Unexpected(f"status {response.status}")
        if "jobs" not in await response.json():
            raise Unexpected("no jobs in the list")


@dataclass
class LiveLane:
    """One page's `/api/live`, reopened on schedule from its last id (as EventSource does
    on reconnect); remembers every position and every new job it was told of."""

    owner: str
    token: str
    last_id: str | None = None
    positions: Counter[int] = field(default_factory=Counter)
    jobs: Counter[str] = field(default_factory=Counter)  # told of by `UploadReceived`
    shown: set[str] = field(default_factory=set)  # in the snapshot: already there

    async def run(
        self,
        session: aiohttp.ClientSession,
        url: str,
        opens: list[float],
        leave: asyncio.Event,
        tallies: tuple[Tally, Tally],
    ) -> None:
        """Open at each time in `opens`, hold the stream until the next (the last one until
        `leave`), then close it. tallies: (fresh opens, resumed opens)."""
        for k, due in enumerate(opens):
            await sleep_until(due)
            tally = tallies[0] if self.last_id is None else tallies[1]
            reading = asyncio.create_task(self._read(session, url, due, tally))
            if k + 1 < len(opens):
                await asyncio.wait([reading], timeout=max(0.0, opens[k + 1] - _now()))
            else:
                leaving = asyncio.ensure_future(leave.wait())
                await asyncio.wait([reading, leaving], return_when=asyncio.FIRST_COMPLETED)
                leaving.cancel()
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

    async def _read(
        self, session: aiohttp.ClientSession, url: str, due: float, tally: Tally
    ) -> None:
        resumed = self.last_id is not None
        headers = bearer(self.token)
        if self.last_id is not None:
            headers["Last-Event-ID"] = self.last_id
        ready = False
        event = b""
        try:
            async with session.get(
                f"{url}/api/live", headers=headers, read_bufsize=SNAPSHOT_LINE_LIMIT
            ) as response:
                if response.status != 200:
                    raise Unexpected(f"status {response.status}")
                async for raw in response.content:
                    line = raw.rstrip(b"\r\n")
                    # Ready: a fresh stream once its snapshot is in; a resumed one at once.
                    if not ready and (resumed or line.startswith(b"id:")):
                        tally.latencies.append(_now() - due)
                        ready = True
                    if line.startswith(b"id:"):
                        self.last_id = line[3:].strip().decode()
                        self.positions[int(self.last_id)] += 1
                    elif line.startswith(b"event:"):
                        event = line[6:].strip()
                    elif line.startswith(b"data:") and event == b"UploadReceived":
                        self.jobs[json.loads(line[5:])["data"]["job_id"]] += 1
                    elif line.startswith(b"data:") and event == b"snapshot":
                        self.shown.update(j["job_id"] for j in json.loads(line[5:])["jobs"])
            raise Unexpected("stream ended early")
        except asyncio.CancelledError:
            if not ready:
                tally.errors["not ready when due to close"] += 1
            raise
        except Exception as error:
            tally.errors[describe(error)] += 1


def _now() -> float:
    return asyncio.get_running_loop().time()


def stream_check(lanes: list[LiveLane], uploaded: dict[str, list[str]]) -> tuple[int, list[str]]:
    """(lanes told of every job their owner uploaded exactly once, with no position
    repeated across reconnects; a line for each lane that was not)."""
    exact, problems = 0, []
    for n, lane in enumerate(lanes):
        want = set(uploaded.get(lane.owner, ()))
        missing = want - set(lane.jobs) - lane.shown
        repeated_jobs = [j for j, c in lane.jobs.items() if c > 1]
        repeated_ids = [p for p, c in lane.positions.items() if c > 1]
        if not missing and not repeated_jobs and not repeated_ids:
            exact += 1
        else:
            problems.append(
                f"stream {n}: {len(missing)} of {len(want)} jobs missing, "
                f"{len(repeated_jobs)} told twice, {len(repeated_ids)} ids repeated"
            )
    return exact, problems
