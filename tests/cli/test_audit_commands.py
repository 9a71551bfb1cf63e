"""`replay`, `audit verify` and `projections …` as an operator meets them: one-line errors
before anything is touched, a summary or silence, progress only on a terminal."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.bootstrap import Services
from service.cli import main
from service.cli.progress import TerminalProgress, progress_line
from service.projections import job_view
from service.projections.rebuild import rebuild
from tests.audit.support import command, log_visible, logged_job
from tests.cli.test_commands import run_cli


@pytest.fixture
def cli_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`main()` here, with settings that name no reachable database, and logging restored."""
    monkeypatch.setenv("VR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VR_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["replay", "not-a-uuid"], "not a job id: 'not-a-uuid'"),
        (["replay", "0b9c7c54-4c35-4c39-9a38-5b3f0f0b8f00", "--as-of", "yesterday"], "not an ISO"),
        (["replay", "0b9c7c54-4c35-4c39-9a38-5b3f0f0b8f00", "--until-position", "x"], "position"),
        (["replay", "--all", "--type", "Exploded"], "unknown event type 'Exploded'"),
        (["replay"], "either a JOB_ID or --all"),
        (["projections", "rebuild", "jobs"], "no projection named 'jobs' (rebuildable: job_view)"),
    ],
)
def test_bad_arguments_are_one_line_errors_before_the_database_is_touched(
    cli_in_process: None, capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    status = main(argv)
    err = capsys.readouterr().err
    assert status != 0
    assert err.count("\n") == 1 and err.startswith("video-refresher: error: ") and words in err


async def test_rebuild_prints_a_summary_and_nothing_with_quiet(
    services: Services, database_url: str
) -> None:
    await logged_job(services)
    await log_visible(services)
    # A real process: not a terminal, so no progress line, only the summary
    result = run_cli("projections", "rebuild", job_view.NAME, VR_DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("rebuilt job_view: 10 events, 1 jobs in ")
    assert "events/s" in result.stdout and result.stderr == ""
    status, out = await command(services, "projections", "rebuild", job_view.NAME, "--quiet")
    assert status == 0 and out == ""


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_progress_shows_done_of_total_rate_and_eta_on_a_terminal_only(
    services: Services,
) -> None:
    assert progress_line("rebuilding job_view", 1000, 4000, 2.0) == (
        "rebuilding job_view: 1,000/4,000 events (25%)  500 events/s  ETA 6 s"
    )
    # Given a rebuild of three jobs reporting to a terminal
    for _ in range(3):
        await logged_job(services)
    await log_visible(services)
    now = [0.0]
    terminal = FakeTerminal()
    progress = TerminalProgress("rebuilding job_view", terminal, clock=lambda: now[0])
    calls: list[tuple[int, int]] = []

    def report(done: int, total: int) -> None:
        calls.append((done, total))
        now[0] += 1.0
        progress(done, total)

    await rebuild(services.database, job_view.NAME, progress=report, page_size=4)
    progress.finish()
    # Then it counted up to every event, and the terminal shows rate and time left
    assert calls[-1] == (30, 30) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    lines = terminal.getvalue().split("\r")
    assert lines[-1].startswith("rebuilding job_view: 30/30 events (100%)")
    assert "events/s  ETA 0 s" in lines[-1] and lines[-1].endswith("\n")
    # And off a terminal it writes nothing
    quiet = io.StringIO()
    silent = TerminalProgress("rebuilding job_view", quiet)
    silent(1, 2)
    silent.finish()
    assert quiet.getvalue() == ""
