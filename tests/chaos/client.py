"""The chaos client: keeps submitting small jobs (multipart and tus), cancels some,
follows them and downloads finished ones with a Range resume, recording every request
in the history. It never retries a submission: an unanswered one has an unknown effect."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.chaos.history import Exchange, History

TUS = {"Tus-Resumable": "1.0.0"}
FINISHED = ("completed", "partial", "failed", "cancelled", "expired")
REQUEST_TIMEOUT_S = 20.0  # an answer slower than this is a hang
MAX_PENDING_JOBS = 6  # submissions pause while this many are unfinished (no endless backlog)
DOWNLOAD_TRIES = 4


@dataclass
class Download:
    """A ZIP the client completed, in two or more pieces."""

    job_id: str
    sha256: str
    size: int
    etag: str
    pieces: int


@dataclass
class ClientState:
    accepted: dict[str, str] = field(default_factory=dict)  # job id → kind
    finished: dict[str, str] = field(default_factory=dict)  # job id → last status seen
    downloads: dict[str, Download] = field(default_factory=dict)
    tried: set[str] = field(default_factory=set)  # downloads ended, complete or not
    cancels_asked: int = 0


class ChaosClient:
    def __init__(
        self, base: str, token: str, clips: list[Path], rng: random.Random, history: History
    ) -> None:
        self.base, self.rng, self.history = base, rng, history
        self.auth = {"Authorization": f"Bearer {token}"}
        self.clips = [(clip.name, clip.read_bytes()) for clip in clips]
        self.state = ClientState()
        self._session: aiohttp.ClientSession | None = None
        self._downloading: set[str] = set()
        self.trickling = 0  # slow multipart uploads in flight (the nemesis aims at them)
        self.trickle_in_flight = asyncio.Event()
        self.trickle_started_at = 0.0  # monotonic time the latest slow upload began

    async def __aenter__(self) -> ChaosClient:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        self._session = aiohttp.ClientSession(timeout=timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None
        await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None
        return self._session

    # --- one request, recorded ---------------------------------------------------------

    async def call(
        self, kind: str, method: str, path: str, *, job_id: str | None = None, **kwargs: Any
    ) -> tuple[Exchange, Any, aiohttp.typedefs.LooseHeaders | None]:
        """Send, read the whole answer, record it; (exchange, JSON body or None, headers)."""
        exchange = self.history.begin(kind, method, path, job_id)
        body: Any = None
        headers = None
        try:
            async with self.session.request(method, self.base + path, **kwargs) as response:
                exchange.status = response.status
                headers = response.headers
                raw = await response.read()
                if response.content_type == "application/json" and raw:
                    with contextlib.suppress(ValueError):
                        body = json.loads(raw)
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            exchange.error = f"{type(exc).__name__}: {exc}"[:300]
        _note_error_body(exchange, body)
        return self.history.end(exchange), body, headers

    # --- the loops -----------------------------------------------------------------------

    async def submit_forever(self, stop: asyncio.Event, cancel_ratio: float) -> None:
        while not stop.is_set():
            if self._pending() >= MAX_PENDING_JOBS:
                await _nap(stop, 0.2)
                continue
            if self.rng.random() < 0.5:
                job_id = await self.submit_multipart()
            else:
                job_id = await self.submit_tus()
            if job_id and self.rng.random() < cancel_ratio:
                await asyncio.sleep(self.rng.uniform(0, 1.5))
                await self.cancel(job_id)
            await _nap(stop, self.rng.uniform(0.1, 0.6))

    async def follow_forever(self, stop: asyncio.Event) -> None:
        """Poll unfinished jobs; download each finished one that has outputs, once."""
        downloads: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            for job_id in [j for j in self.state.accepted if j not in self.state.finished]:
                _, body, _ = await self.call(
                    "status", "GET", f"/api/jobs/{job_id}", job_id=job_id, headers=self.auth
                )
                if body and body.get("status") in FINISHED:
                    self.state.finished[job_id] = body["status"]
            for job_id, status in list(self.state.finished.items()):
                wanted = status in ("completed", "partial", "cancelled")
                if wanted and job_id not in self.state.tried and len(downloads) < 2:
                    if job_id in self._downloading:
                        continue
                    self._downloading.add(job_id)
                    task = asyncio.create_task(self.download(job_id))
                    downloads.add(task)
                    task.add_done_callback(downloads.discard)
            await _nap(stop, 0.3)
        await asyncio.gather(*downloads, return_exceptions=True)

    def _pending(self) -> int:
        return sum(1 for j in self.state.accepted if j not in self.state.finished)

    # --- submissions -----------------------------------------------------------------------

    def _clip(self) -> tuple[str, bytes]:
        return self.rng.choice(self.clips)

    async def submit_multipart(self) -> str | None:
        """One upload; a third of them trickle in over ~1.5 s, as from a slow link, so a
        kill often lands mid-body (the service is left with a partial file)."""
        name, data = self._clip()
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="variations"\r\n\r\n'
                f"{self.rng.randint(1, 2)}\r\n--{boundary}\r\nContent-Disposition: form-data; "
                f'name="videos"; filename="{name}"\r\nContent-Type: video/mp4\r\n\r\n'
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {**self.auth, "Content-Type": f"multipart/form-data; boundary={boundary}"}
        slow = self.rng.random() < 1 / 3
        sent: bytes | AsyncIterator[bytes] = _trickle(body, seconds=1.5) if slow else body
        self.trickling += slow
        if slow:
            self.trickle_started_at = time.monotonic()
            self.trickle_in_flight.set()
        try:
            exchange, answer, _ = await self.call(
                "submit_multipart", "POST", "/api/jobs", headers=headers, data=sent
            )
        finally:
            self.trickling -= slow
            if not self.trickling:
                self.trickle_in_flight.clear()
        return self._accepted(exchange, answer)

    async def submit_tus(self) -> str | None:
        name, data = self._clip()
        meta = f"filename {base64.b64encode(name.encode()).decode()}"
        headers = {**self.auth, **TUS, "Upload-Length": str(len(data)), "Upload-Metadata": meta}
        exchange, _, answer = await self.call("tus_create", "POST", "/api/uploads", headers=headers)
        if exchange.status != 201 or answer is None:
            return None
        location = str(answer["Location"])
        path = location[len(self.base) :] if location.startswith("http") else location
        if not await self._send_bytes(path, data):
            return None
        payload = {"uploads": [path.rsplit("/", 1)[1]], "variations": self.rng.randint(1, 2)}
        exchange, body, _ = await self.call(
            "submit_tus", "POST", "/api/jobs", headers=self.auth, json=payload
        )
        return self._accepted(exchange, body)

    async def _send_bytes(self, path: str, data: bytes) -> bool:
        """PATCH in two halves, resuming from the offset HEAD reports after a failure."""
        offset, cut = 0, len(data) // 2
        for _ in range(6):
            end = cut if offset < cut else len(data)
            headers = {
                **self.auth,
                **TUS,
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": str(offset),
            }
            exchange, _, _ = await self.call(
                "tus_patch", "PATCH", path, headers=headers, data=data[offset:end]
            )
            if exchange.status == 204:
                offset = end
                if offset == len(data):
                    return True
                continue
            if exchange.status is not None and exchange.status not in (409, 423, 503):
                return False
            await asyncio.sleep(0.5)
            exchange, _, answer = await self.call(
                "tus_head", "HEAD", path, headers={**self.auth, **TUS}
            )
            if exchange.status == 200 and answer is not None:
                offset = int(answer["Upload-Offset"])
            elif exchange.status is not None and exchange.status != 503:
                return False
        return False

    def _accepted(self, exchange: Exchange, body: Any) -> str | None:
        if exchange.status == 202 and isinstance(body, dict) and "job_id" in body:
            exchange.job_id = str(body["job_id"])
            self.state.accepted[exchange.job_id] = exchange.kind
            return exchange.job_id
        return None

    async def cancel(self, job_id: str) -> None:
        self.state.cancels_asked += 1
        await self.call(
            "cancel", "POST", f"/api/jobs/{job_id}/cancel", job_id=job_id, headers=self.auth
        )

    # --- downloads -------------------------------------------------------------------------

    async def download(self, job_id: str) -> None:
        """The ZIP in pieces: a first GET cut off part-way, then `Range: bytes=N-` with
        `If-Range`, repeated after failures; recorded once every byte is in."""
        path = f"/api/jobs/{job_id}/download"
        held = bytearray()
        etag: str | None = None
        size: int | None = None
        pieces = 0
        try:
            for _ in range(DOWNLOAD_TRIES):
                headers = dict(self.auth)
                if etag is not None and held:
                    headers.update({"Range": f"bytes={len(held)}-", "If-Range": etag})
                exchange = self.history.begin("download", "GET", path, job_id)
                try:
                    async with self.session.get(self.base + path, headers=headers) as response:
                        exchange.status = response.status
                        if response.status == 200:
                            held.clear()
                            etag, size = response.headers.get("ETag"), response.content_length
                        elif response.status != 206:
                            raw = await response.read()
                            with contextlib.suppress(ValueError):
                                _note_error_body(exchange, json.loads(raw) if raw else None)
                            if response.status in (404, 410):
                                return  # nothing (more) to download: not an error
                            await asyncio.sleep(0.5)
                            continue
                        pieces += 1
                        # The first piece stops part-way, as a dropped connection would.
                        stop_at = (
                            self.rng.randint(1, max(1, (size or 2) - 1))
                            if pieces == 1 and size
                            else None
                        )
                        async for chunk in response.content.iter_chunked(64 * 1024):
                            held += chunk
                            if stop_at is not None and len(held) >= stop_at:
                                del held[stop_at:]
                                break
                except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
                    exchange.error = f"{type(exc).__name__}: {exc}"[:300]
                finally:
                    self.history.end(exchange)
                if size is not None and etag is not None and len(held) == size:
                    digest = hashlib.sha256(held).hexdigest()
                    self.state.downloads[job_id] = Download(job_id, digest, size, etag, pieces)
                    return
                await asyncio.sleep(0.2)
        finally:
            self._downloading.discard(job_id)
            self.state.tried.add(job_id)


def _note_error_body(exchange: Exchange, body: Any) -> None:
    if exchange.status is None or exchange.status < 400:
        return
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and "code" in error and "message" in error:
        exchange.json_error = True
        exchange.code = str(error["code"])


async def _trickle(body: bytes, *, seconds: float, pieces: int = 8) -> AsyncIterator[bytes]:
    step = len(body) // pieces + 1
    for start in range(0, len(body), step):
        yield body[start : start + step]
        await asyncio.sleep(seconds / pieces)


async def _nap(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
