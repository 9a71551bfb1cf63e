"""Fuzz a real `serve` against /api/openapi.json with schemathesis, at length.

    .venv/bin/python bench/fuzz.py [--max-examples 150] [--seed N] [--workers 2]
    VR_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/fuzz.py

The same session as tests/contract/test_fuzz.py (`tests/contract/fuzzing.py`): `serve`
with every role on a fresh database (VR_DATABASE_URL's server, else an embedded one), a
signed-in user, one rendered job, then schemathesis with every check, `--max-examples`
per operation and phase. Prints the cases generated, the checks run, the failures and
errors, schemathesis's warnings and the service's ERROR log lines. Exit 1 on any failure,
error or ERROR line.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._db import fresh_database, server_label  # noqa: E402
from service.processing.ffmpeg_binary import locate_ffmpeg  # noqa: E402
from tests.clips import make_clip  # noqa: E402
from tests.contract.fuzzing import FuzzResult, fuzz_service  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=150)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    result = asyncio.run(_run(args))
    print(f"database:    {server_label()}")
    print(f"operations:  {result.operations}")
    print(f"cases:       {result.cases:,}")
    print(f"checks:      {result.checks:,}")
    print(f"failures:    {len(result.failures)}")
    print(f"errors:      {len(result.errors)}")
    print(f"ERROR lines: {len(result.error_log_lines)}")
    print(f"fuzzing:     {result.seconds:.0f} s")
    for failure in result.failures:
        print(f"  failure: {failure.get('title')} {failure.get('operations')}")
    for error in result.errors:
        print(f"  error: {str(error)[:300]}")
    for line in result.error_log_lines[:20]:
        print(f"  log: {line}")
    for name, items in result.warnings.items():
        print(f"  warning {name}: {sorted(set(map(str, items)))}")
    bad = result.failures or result.errors or result.error_log_lines
    return 1 if bad else 0


async def _run(args: argparse.Namespace) -> FuzzResult:
    async with fresh_database() as url:
        with tempfile.TemporaryDirectory(prefix="vr-fuzz-") as tmp:
            work = Path(tmp)
            clip = make_clip(
                locate_ffmpeg(None), work / "clip.mp4",
                "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            )  # fmt: skip
            return await asyncio.to_thread(
                fuzz_service, url, work / "data", clip, work,
                max_examples=args.max_examples, seed=args.seed, workers=args.workers,
            )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
