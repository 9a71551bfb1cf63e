"""One variation on its own: a plan of a single body, so the archive's checks
(download/sources.py) and sender (download/send.py) serve it unchanged, from the disk by
sendfile or from a bucket by ranged GETs guarded by the recorded ETag."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from service.download.archive import ArchivePlan, Body
from service.download.job_archive import named_outputs, output_entry
from service.errors import NotFound
from service.projections.job_state import JobState, OutputState
from service.storage.interface import ObjectStorage


@dataclass(frozen=True)
class OneOutput:
    plan: ArchivePlan
    filename: str  # its name in the ZIP, without the folder


def plan_one_output(
    job: JobState,
    outputs: tuple[OutputState, ...],
    file_id: uuid.UUID,
    index: int,
    storage: ObjectStorage,
) -> OneOutput:
    """The output `index` of source `file_id` among the downloadable `outputs`, or NotFound."""
    for output, name in named_outputs(job, outputs):
        if (output.file_id, output.variation_index) == (file_id, index):
            entry = output_entry(output, name, storage)
            plan = ArchivePlan((Body(0, entry),), entry.size, output_etag(output))
            return OneOutput(plan, name.rsplit("/", 1)[-1])
    raise NotFound(f"job {job.job_id} has no variation {index} of file {file_id}")


def output_etag(output: OutputState) -> str:
    """A strong ETag: the bytes behind a recorded key never change (a replaced object is
    refused by its recorded ETag), so the key, size, CRC-32 and object ETag name them."""
    identity = f"{output.key}\0{output.size}\0{output.crc32:08x}\0{output.etag or ''}"
    return f'"{hashlib.sha256(identity.encode()).hexdigest()[:32]}"'
