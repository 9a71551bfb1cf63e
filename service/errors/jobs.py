"""A job's life after intake: ffmpeg failing on one file (recorded in the job, not
raised to a client), and the requests a job's state refuses (expire while processing,
cancel once ended)."""

from __future__ import annotations

from pathlib import Path

from service.errors.base import VideoRefresherError


class ProcessingError(VideoRefresherError):
    """ffmpeg could not process the video."""

    code = "processing"

    def __init__(self, file: Path | str, detail: str, message: str | None = None) -> None:
        self.file, self.detail = Path(file), detail
        self.summary = summary = message or (type(self).__doc__ or "").strip()
        # The disk name is a file id, never the uploader's name, so it is safe to show.
        super().__init__(
            f"{self.file.name}: {summary}" + (f"\n{detail}" if detail else ""),
            disk_file=str(self.file),
            detail=detail,
        )


class ProbeFailed(ProcessingError):
    """The file is not a readable video (no video stream or no duration)."""

    status = 422
    code = "unreadable_video"


class RenderFailed(ProcessingError):
    """ffmpeg failed to render the variation."""

    code = "render_failed"


class JobStillProcessing(VideoRefresherError):
    """The job is being processed; it can be expired once processing has finished."""

    status = 409
    code = "job_processing"

    def __init__(self, job_id: object) -> None:
        super().__init__(
            f"job {job_id} is being processed; expire it once processing has finished",
            job_id=str(job_id),
        )


class JobNotCancellable(VideoRefresherError):
    """The job has already ended; only a received or processing job can be cancelled."""

    status = 409
    code = "not_cancellable"

    def __init__(self, job_id: object, status: str) -> None:
        super().__init__(
            f"job {job_id} is {status}; only a received or processing job can be cancelled",
            job_id=str(job_id),
            job_status=status,
        )
