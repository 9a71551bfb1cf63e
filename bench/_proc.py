"""Benchmark plumbing: a server process's memory and open descriptors, read from
/proc/<pid> by psutil, sampled over a run and broken down at the moments that matter."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import psutil

MIB = 1024 * 1024


@dataclass(frozen=True)
class Fds:
    """Open descriptors by what they are: `http` sockets on the API's port (the listener
    included), the other sockets (TCP or unix: the database connections, and the event
    loop's self-pipe), files, and the rest (pipes, epoll, eventfd)."""

    total: int
    http: int
    sockets: int
    files: int

    @property
    def other(self) -> int:
        return self.total - self.http - self.sockets - self.files

    def __str__(self) -> str:
        return (f"{self.total} (HTTP sockets {self.http}, other sockets {self.sockets}, "
                f"files {self.files}, other {self.other})")  # fmt: skip


@dataclass
class ProcessSampler:
    """RSS and descriptor count of one process every `interval_s`, while `run` runs."""

    pid: int
    port: int
    interval_s: float = 0.5
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (time, rss, fds)

    def __post_init__(self) -> None:
        self.process = psutil.Process(self.pid)

    def now(self) -> tuple[int, int]:
        """(RSS bytes, open descriptors)."""
        return self.process.memory_info().rss, self.process.num_fds()

    def cpu_s(self) -> float:
        """User + system CPU seconds the process has used so far."""
        times = self.process.cpu_times()
        return times.user + times.system

    def fds(self) -> Fds:
        """The descriptors, by kind (a few ms: reads every /proc/<pid>/fd link)."""
        total = self.process.num_fds()
        sockets = self.process.net_connections(kind="all")
        http = sum(1 for c in sockets if c.laddr and getattr(c.laddr, "port", None) == self.port)
        files = len(self.process.open_files())
        return Fds(total, http, len(sockets) - http, files)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            rss, fds = self.now()
            self.samples.append((time.monotonic(), rss, fds))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval_s)

    def peak(self) -> tuple[int, int]:
        """(peak RSS, peak descriptors) over the samples."""
        return max(s[1] for s in self.samples), max(s[2] for s in self.samples)

    def every(self, seconds: float) -> list[int]:
        """The RSS samples `seconds` apart, from the first: growth, or a plateau."""
        picked, due = [], self.samples[0][0]
        for at, rss, _ in self.samples:
            if at >= due:
                picked.append(rss)
                due += seconds
        return picked
