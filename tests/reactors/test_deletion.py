"""Deleting a job's objects: idempotent, never outside the job's prefix, and nothing left
under the prefix that the log does not keep — on the disk and in a bucket alike."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from service.reactors.deletion import RecordedFile, delete_job_objects
from service.storage.disk import DiskStorage
from service.storage.interface import ObjectStorage


async def put(storage: ObjectStorage, key: str, size: int = 10) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"x" * size

    await storage.put_stream(key, body())


async def test_recorded_objects_and_unrecorded_leftovers_go_and_missing_ones_count_as_deleted(
    storage: ObjectStorage,
) -> None:
    # Given a job with one recorded upload, one already gone, and a stray object
    job = uuid.uuid4()
    await put(storage, f"uploads/{job}/a.mp4")
    await put(storage, f"uploads/{job}/stray.mp4")
    files = [RecordedFile(f"uploads/{job}/a.mp4", 10), RecordedFile(f"uploads/{job}/gone.mp4", 5)]
    # When the job's objects are deleted
    report = await delete_job_objects(storage, f"uploads/{job}/", files)
    # Then both count as deleted, the stray went with them, nothing is left
    assert report.complete and report.deleted == files and report.refused == []
    assert report.swept == [f"uploads/{job}/stray.mp4"]
    assert await storage.list(f"uploads/{job}/") == []


async def test_kept_keys_survive_the_sweep(storage: ObjectStorage) -> None:
    job = uuid.uuid4()
    await put(storage, f"outputs/{job}/f/v01-a1.mp4")
    await put(storage, f"outputs/{job}/f/v01-a2.mp4")
    report = await delete_job_objects(
        storage, f"outputs/{job}/", [], keep=frozenset({f"outputs/{job}/f/v01-a2.mp4"})
    )
    assert report.swept == [f"outputs/{job}/f/v01-a1.mp4"]
    assert [o.key for o in await storage.list(f"outputs/{job}/")] == [f"outputs/{job}/f/v01-a2.mp4"]


async def test_keys_outside_the_prefix_are_refused_and_left_alone(storage: ObjectStorage) -> None:
    job = uuid.uuid4()
    await put(storage, f"outputs/{job}/keep.mp4")
    files = [
        RecordedFile(f"uploads/{job}/../../outputs/{job}/keep.mp4", 10),
        RecordedFile(f"/outputs/{job}/keep.mp4", 10),
        RecordedFile(f"outputs/{job}/keep.mp4", 10),  # a valid key, but not this job's uploads
        RecordedFile("uploads", 0),
    ]
    report = await delete_job_objects(storage, f"uploads/{job}/", files)
    assert report.refused == files and report.deleted == [] and report.complete
    assert [o.key for o in await storage.list(f"outputs/{job}/")] == [f"outputs/{job}/keep.mp4"]


async def test_a_symlinked_folder_never_leads_a_disk_delete_outside(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/secret.mp4").write_bytes(b"x")
    (tmp_path / "uploads/job").mkdir(parents=True)
    (tmp_path / "uploads/job/link").symlink_to(tmp_path / "elsewhere")
    files = [RecordedFile("uploads/job/link/secret.mp4", 1)]
    report = await delete_job_objects(DiskStorage(tmp_path), "uploads/job/", files)
    assert report.refused == files
    assert (tmp_path / "elsewhere/secret.mp4").exists()


async def test_a_file_that_cannot_be_deleted_is_reported_and_nothing_is_swept(
    tmp_path: Path,
) -> None:
    # Given a recorded "file" that is a non-empty directory: unlink fails even for root
    (tmp_path / "uploads/job/a.mp4").mkdir(parents=True)
    (tmp_path / "uploads/job/a.mp4/inner").write_bytes(b"x")
    (tmp_path / "uploads/job/b.mp4").write_bytes(b"x" * 10)
    (tmp_path / "uploads/job/stray.mp4").write_bytes(b"x")
    files = [RecordedFile("uploads/job/a.mp4", 1), RecordedFile("uploads/job/b.mp4", 10)]
    report = await delete_job_objects(DiskStorage(tmp_path), "uploads/job/", files)
    assert [f.key for f in report.failed] == ["uploads/job/a.mp4"]
    assert report.deleted == [files[1]]
    assert (tmp_path / "uploads/job/stray.mp4").exists()  # swept only once all went
