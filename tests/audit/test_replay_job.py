"""`replay JOB_ID`: a job's history as a timeline or JSON, cut at a time or a position,
and the state folded with the projection's own fold."""

from __future__ import annotations

import json
import uuid

import pytest

from service.bootstrap import Services
from service.errors import NotFound
from tests.audit.support import LIFECYCLE, command, job_view_runner, logged_job
from tests.support import eventually, running


def timeline_types(output: str) -> list[str]:
    return [line.split()[2] for line in output.splitlines() if line.startswith("#")]


async def test_the_timeline_shows_every_event_with_its_facts_then_the_folded_state(
    services: Services,
) -> None:
    # Given a job that went through its whole life
    job = await logged_job(services)
    # When an auditor replays it
    status, out = await command(services, "replay", str(job.job_id))
    # Then each event is one line, in order: position, time, type, actor and what changed
    assert status == 0
    assert timeline_types(out) == LIFECYCLE
    lines = out.splitlines()
    assert lines[0] == f"job {job.job_id}: 10 event(s)"
    first = lines[1]
    assert first.startswith(f"#{job.appended[0].last_position} ")
    assert "user:alice" in first and "intro.mp4 (1,000 B)" in first and "2 variation(s)" in first
    assert "intro.mp4 variation 2: 100 B" in lines[4]  # renders name the uploaded file
    assert "outcome completed" in lines[7]
    assert "upload_purger" in lines[8] and "2 upload(s) deleted, 2,000 B freed" in lines[8]
    assert "expiry_scheduler" in lines[9] and "reason retention" in lines[9]
    assert "4 output(s) deleted, 400 B freed" in lines[10]
    # And then the state folded from them
    assert "  status      expired (outcome completed)" in lines
    assert "  uploads     purged, 2,000 B freed" in lines
    assert "  outputs     deleted, 400 B freed" in lines
    assert f"state at version 10 (position {job.appended[-1].last_position}):" in lines


async def test_as_of_and_until_position_show_the_job_as_it_was_then(services: Services) -> None:
    job = await logged_job(services)
    events = await services.store.read_stream(job.stream)
    finished = events[6]  # ProcessingFinished
    # When it is replayed as of the moment processing finished
    _, as_of = await command(
        services, "replay", str(job.job_id), "--as-of", finished.recorded_at.isoformat()
    )
    # Then the history stops there and the job is completed, not yet purged or expired
    assert timeline_types(as_of) == LIFECYCLE[:7]
    assert "  status      completed" in as_of.splitlines()
    assert "expired" not in as_of and "purged" not in as_of
    # And up to the third event's position it was still being processed
    _, until = await command(
        services, "replay", str(job.job_id), "--until-position", str(events[2].position)
    )
    assert timeline_types(until) == LIFECYCLE[:3]
    assert "  status      processing" in until.splitlines()
    assert "  outputs     1 (100 B)" in until.splitlines()
    # And before the job existed there is nothing to show: an error, not an empty job
    with pytest.raises(NotFound, match="has no events as of 2000-01-01"):
        await command(services, "replay", str(job.job_id), "--as-of", "2000-01-01T00:00:00Z")


async def test_json_gives_each_event_and_the_state_the_job_view_holds(
    services: Services,
) -> None:
    # Given a job, and the live job view fed by its runner
    job = await logged_job(services)
    async with running(job_view_runner(services)):
        await eventually(
            lambda: services.job_view_waiter.latest.position >= job.appended[-1].last_position,
            within=30,
        )
    # When it is replayed as JSON
    status, out = await command(services, "replay", str(job.job_id), "--json")
    objects = [json.loads(line) for line in out.splitlines()]
    # Then there is one object per event with everything stored about it
    assert status == 0
    assert [o["type"] for o in objects[:-1]] == LIFECYCLE
    assert objects[0]["metadata"] == {"actor": "user:alice"}
    assert objects[0]["data"]["job_id"] == str(job.job_id)
    assert [o["position"] for o in objects[:-1]] == [a.last_position for a in job.appended]
    # And the folded state is exactly what the projection holds: one fold, not two
    viewed = await services.jobs.get(job.job_id)
    assert viewed is not None
    assert objects[-1] == {"state": viewed.model_dump(mode="json")}


async def test_an_unknown_job_is_not_found(services: Services) -> None:
    with pytest.raises(NotFound, match="no job"):
        await command(services, "replay", str(uuid.uuid4()))
