"""What a job asks the worker to render: every (file, variation) with its effects and path.

The plan is a pure function of the job, so every attempt at the same job draws the same
effects: an attempt that resumes after a crash renders exactly what the first would
have, and the variations already recorded are simply skipped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from service.processing.effects import Effects, draw_effects
from service.projections.job_state import FileState, JobState


@dataclass(frozen=True, slots=True)
class Variation:
    """One output to render."""

    file: FileState
    index: int
    """1-based, as in `VariationRendered.variation_index` and the ZIP entry name."""
    effects: Effects


def job_seed(job_id: uuid.UUID) -> int:
    """The effects seed: the job id, random per job yet the same on every attempt, so a
    test pins a job's effects by choosing its id."""
    return job_id.int


def plan_variations(job: JobState) -> list[Variation]:
    """Every variation of the job in upload order, then index; effects distinct job-wide."""
    per_file = job.variations_per_video
    effects = draw_effects(per_file * len(job.files), seed=job_seed(job.job_id))
    return [
        Variation(file=file, index=index, effects=effects[n * per_file + index - 1])
        for n, file in enumerate(job.files)
        for index in range(1, per_file + 1)
    ]


def still_to_render(job: JobState) -> list[Variation]:
    """The planned variations the log does not record yet."""
    done = {(o.file_id, o.variation_index) for o in job.outputs}
    return [v for v in plan_variations(job) if (v.file.file_id, v.index) not in done]
