"""Who a live stream is for: one job, one owner's jobs, or (an admin) every job."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Audience:
    """`job_id` set: that job only. Otherwise `owner_id`'s jobs, or every job when None."""

    job_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None

    def admits(self, job_id: uuid.UUID, owner_id: uuid.UUID | None) -> bool:
        if self.job_id is not None:
            return job_id == self.job_id
        return self.owner_id is None or owner_id == self.owner_id
