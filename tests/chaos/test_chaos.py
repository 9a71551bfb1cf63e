"""Kill anything, lose nothing: a short fault session (issue 16; bench/chaos.py runs it
at length). Its own PostgreSQL cluster (so it runs the same with VR_DATABASE_URL set),
the service as four `serve` processes, a few SIGKILLs, one PostgreSQL crash-restart and
one full volume; the checker must find nothing."""

from __future__ import annotations

from pathlib import Path

from tests.chaos.session import ChaosOptions, run_chaos
from tests.clips import TinyClips


async def test_a_short_fault_session_loses_nothing_duplicates_nothing_and_leaves_nothing(
    tiny_clips: TinyClips, tmp_path: Path
) -> None:
    options = ChaosOptions(
        work=tmp_path,
        clips=[tiny_clips.mp4, tiny_clips.mov],
        kills=4,
        pg_restarts=1,
        fills=1,
        gap_s=(1.0, 2.5),
        settle_timeout_s=60,
    )
    report = await run_chaos(options)
    findings = report.findings
    assert findings.ok, {check: p for check, p in findings.problems.items() if p}
    assert sum(report.faults.kills.values()) == 4
    assert report.faults.pg_restarts == 1 and len(report.faults.pg_probes) > 0
    assert findings.accepted > 0 and report.downloads > 0
