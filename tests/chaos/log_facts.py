"""What the event log says about each job, read with plain SQL and folded here, apart
from the service's own fold: the checker must not trust the code it checks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import asyncpg


@dataclass
class Output:
    file_id: str
    index: int
    key: str
    size: int
    crc32: int


@dataclass
class JobFacts:
    job_id: str
    received: bool = False
    upload_keys: list[str] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    thumbnail_keys: list[str] = field(default_factory=list)
    outcome: str | None = None
    uploads_purged: bool = False
    expired: bool = False
    outputs_deleted: bool = False
    duplicates: list[tuple[str, int]] = field(default_factory=list)

    def named_keys(self) -> set[str]:
        """The objects the log says exist now."""
        named = set() if self.uploads_purged else set(self.upload_keys)
        if not self.outputs_deleted:
            named |= {o.key for o in self.outputs} | set(self.thumbnail_keys)
        return named


async def read_jobs(conn: asyncpg.Connection) -> dict[str, JobFacts]:
    rows = await conn.fetch(
        "SELECT stream_id, type, data FROM events WHERE stream_id LIKE 'job-%' "
        "ORDER BY stream_id, version"
    )
    jobs: dict[str, JobFacts] = {}
    for row in rows:
        job_id = row["stream_id"].removeprefix("job-")
        job = jobs.setdefault(job_id, JobFacts(job_id))
        _apply(job, row["type"], json.loads(row["data"]))
    return jobs


def _apply(job: JobFacts, kind: str, data: dict) -> None:
    if kind == "UploadReceived":
        job.received = True
        job.upload_keys = [f.get("key") or f["path"] for f in data["files"]]
    elif kind == "VariationRendered":
        index = (str(data["file_id"]), int(data["variation_index"]))
        if any((o.file_id, o.index) == index for o in job.outputs):
            job.duplicates.append(index)
        job.outputs.append(
            Output(
                index[0],
                index[1],
                data.get("key") or data["path"],
                int(data["size"]),
                int(data["crc32"]),
            )
        )
        for name in ("thumbnail", "source_thumbnail"):
            if data.get(name):
                job.thumbnail_keys.append(data[name]["key"])
    elif kind == "ProcessingFinished":
        job.outcome = data["outcome"]
    elif kind == "UploadsPurged":
        job.uploads_purged = True
    elif kind == "Expired":
        job.expired = True
    elif kind == "OutputsDeleted":
        job.outputs_deleted = True
