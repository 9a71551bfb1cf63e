"""Deleting a job's files: idempotent, and never outside the root it is given."""

from __future__ import annotations

from pathlib import Path

from service.reactors.deletion import RecordedFile, delete_job_files


def make(path: Path, size: int = 10) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)


def test_recorded_files_and_the_job_folder_go_and_missing_files_count_as_deleted(
    tmp_path: Path,
) -> None:
    # Given a job folder with one recorded file, one already gone, and a stray partial file
    make(tmp_path / "uploads/job/a.mp4")
    make(tmp_path / "uploads/job/a.mp4.part")
    files = [RecordedFile("uploads/job/a.mp4", 10), RecordedFile("uploads/job/gone.mp4", 5)]
    # When the job's files are deleted
    report = delete_job_files(tmp_path, tmp_path / "uploads", "job", files)
    # Then both count as deleted and the folder is gone with its leftovers
    assert report.complete and report.deleted == files and report.refused == []
    assert not (tmp_path / "uploads/job").exists()


def test_paths_outside_the_root_are_refused_and_left_alone(tmp_path: Path) -> None:
    # Given recorded paths that climb out, are absolute, or pass through a symlink out
    make(tmp_path / "outputs/keep.mp4")
    make(tmp_path / "elsewhere/secret.mp4")
    (tmp_path / "uploads/job").mkdir(parents=True)
    (tmp_path / "uploads/job/link").symlink_to(tmp_path / "elsewhere")
    files = [
        RecordedFile("uploads/job/../../outputs/keep.mp4", 10),
        RecordedFile(str(tmp_path / "outputs/keep.mp4"), 10),
        RecordedFile("uploads/job/link/secret.mp4", 10),
        RecordedFile("uploads", 0),
    ]
    # When they are "deleted"
    report = delete_job_files(tmp_path, tmp_path / "uploads", "job", files)
    # Then every one is refused and nothing outside the root is touched
    assert report.refused == files and report.deleted == [] and report.complete
    assert (tmp_path / "outputs/keep.mp4").exists()
    assert (tmp_path / "elsewhere/secret.mp4").exists()


def test_a_file_that_cannot_be_deleted_keeps_its_folder_for_the_retry(tmp_path: Path) -> None:
    # Given a recorded "file" that is a non-empty directory: unlink fails even for root
    make(tmp_path / "uploads/job/a.mp4/inner")
    make(tmp_path / "uploads/job/b.mp4")
    files = [RecordedFile("uploads/job/a.mp4", 1), RecordedFile("uploads/job/b.mp4", 10)]
    # When the job's files are deleted
    report = delete_job_files(tmp_path, tmp_path / "uploads", "job", files)
    # Then the failure is reported, the other file went, and the folder stays
    assert [f.path for f in report.failed] == ["uploads/job/a.mp4"]
    assert report.deleted == [files[1]]
    assert (tmp_path / "uploads/job").is_dir()
