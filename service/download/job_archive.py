"""Lay out one job's archive: one folder per source video, entries in a fixed order."""

from __future__ import annotations

from pathlib import Path

from service.download.archive import ArchiveEntry, ArchivePlan, build_plan
from service.download.names import SourceVariations, entry_names
from service.projections.job_state import JobState, OutputState
from service.storage.interface import ObjectStorage


def named_outputs(job: JobState, outputs: tuple[OutputState, ...]) -> list[tuple[OutputState, str]]:
    """Each output with its name in the ZIP, in archive order: upload order, then
    variation index. One variation downloaded alone keeps that name (its last part)."""
    sources = [f for f in job.files if any(o.file_id == f.file_id for o in outputs)]
    by_file = {f.file_id: [o for o in outputs if o.file_id == f.file_id] for f in sources}
    names = entry_names(
        [SourceVariations(f.name, [o.variation_index for o in by_file[f.file_id]]) for f in sources]
    )
    return [
        (output, name)
        for source, source_names in zip(sources, names, strict=True)
        for output, name in zip(by_file[source.file_id], source_names, strict=True)
    ]


def output_entry(output: OutputState, name: str, storage: ObjectStorage) -> ArchiveEntry:
    """An output as an entry: key and ETag from the view, a local file's path from the
    storage (so it can go by sendfile)."""
    return ArchiveEntry(
        name=name,
        path=storage.local_path(output.key),
        size=output.size,
        crc32=output.crc32,
        modified_at=output.rendered_at,
        key=output.key,
        etag=output.etag,
    )


def plan_job_archive(
    job: JobState, outputs: tuple[OutputState, ...], storage: ObjectStorage
) -> ArchivePlan:
    """The job's ZIP. Timestamps are the render times recorded in the events, so every
    request and every instance produces the same bytes (and the same strong ETag)."""
    return build_plan(
        [output_entry(output, name, storage) for output, name in named_outputs(job, outputs)]
    )


def archive_filename(job: JobState) -> str:
    """What the browser saves: the first source's name makes it recognisable."""
    first = Path(job.files[0].name.replace("\\", "/")).stem if job.files else "videos"
    return f"{first or 'videos'}-variations-{str(job.job_id)[:8]}.zip"
