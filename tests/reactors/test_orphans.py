"""The orphan sweeper: upload files that a crash left with no event or tus row naming
them go once quiet for the grace period; anything the log or a live upload names stays,
and so does anything changed within the grace."""

from __future__ import annotations

import uuid
from pathlib import Path

from service.bootstrap import Services
from service.reactors.orphans import OrphanSweeper
from service.reactors.wiring import reactors
from tests.accounts.support import make_user
from tests.builders import T0
from tests.reactors.builders import received_job


def sweeper(services: Services, grace_s: float = 0.0) -> OrphanSweeper:
    """Grace 0: everything already written counts as quiet."""
    return OrphanSweeper(
        services.database.pool, services.settings.uploads_dir, grace_s=grace_s, interval_s=1
    )


def stray_upload(uploads: Path) -> Path:
    """What a process killed mid-upload leaves: `uploads/<job>/` with a whole file and the
    `~…partial` one it was writing; no event names the job."""
    folder = uploads / str(uuid.uuid4())
    folder.mkdir(parents=True)
    (folder / f"{uuid.uuid4()}.mp4").write_bytes(b"x" * 1000)
    (folder / f"~{uuid.uuid4()}.mp4.{uuid.uuid4().hex}.partial").write_bytes(b"x" * 10)
    return folder


async def tus_row(services: Services, owner: uuid.UUID, job_id: uuid.UUID | None) -> uuid.UUID:
    upload_id = uuid.uuid4()
    await services.database.pool.execute(
        "INSERT INTO tus_uploads (upload_id, owner_id, filename, length, \"offset\", sha256, "
        "created_at, expires_at, job_id) VALUES ($1, $2, 'ad.mp4', 20, 20, $3, $4, $4, $5)",
        upload_id, owner, "0" * 64, T0, job_id,
    )  # fmt: skip
    return upload_id


async def test_a_quiet_upload_folder_of_a_job_the_log_never_heard_of_is_deleted(
    services: Services,
) -> None:
    # Given a killed upload's folder, partial file and all
    orphan = stray_upload(services.settings.uploads_dir)
    # When the sweeper runs after the grace
    deleted = await sweeper(services).sweep_once()
    # Then the folder is gone
    assert deleted == [orphan]
    assert not orphan.exists()


async def test_an_upload_within_the_grace_and_a_job_the_log_holds_are_left_alone(
    services: Services,
) -> None:
    # Given an upload folder written to just now, and one whose job is in the log
    arriving = stray_upload(services.settings.uploads_dir)
    job = await received_job(services)
    # When the sweeper runs with a grace of a minute, then with none
    assert await sweeper(services, grace_s=60).sweep_once() == []
    deleted = await sweeper(services).sweep_once()
    # Then the recorded job's files stay in any case
    assert deleted == [arriving]
    assert all(p.exists() for p in job.upload_paths(services.settings.data_dir))


async def test_tus_files_with_no_row_taken_by_a_job_or_staged_go_a_live_upload_stays(
    services: Services,
) -> None:
    tus = services.settings.tus_dir
    tus.mkdir(parents=True, exist_ok=True)
    owner = (await make_user(services.database.pool, "alice")).id
    # Given tus files: one with no row, one a job took, one unused, and a staged name
    rowless = uuid.uuid4()
    taken = await tus_row(services, owner, job_id=uuid.uuid4())
    live = await tus_row(services, owner, job_id=None)
    for upload_id in (rowless, taken, live):
        (tus / str(upload_id)).write_bytes(b"v" * 20)
    staged = tus / f"{live}.{uuid.uuid4().hex}.staged"
    staged.hardlink_to(tus / str(live))
    # When the sweeper runs
    deleted = await sweeper(services).sweep_once()
    # Then only the unused upload's bytes remain
    assert sorted(deleted) == sorted([tus / str(rowless), tus / str(taken), staged])
    assert [p.name for p in tus.iterdir()] == [str(live)]


async def test_the_sweeper_runs_with_the_reactors(services: Services) -> None:
    assert "orphan_sweeper" in [c.name for c in reactors(services)]
