"""The checker: the client's history and the final state against the service's promises.

Run once the faults have stopped and the service has settled (`settle` waits for it):
every 202 has its job in the log and every job is terminal; no variation is recorded
twice; every recorded output exists with its recorded size and CRC-32; no file lies under
uploads/ or outputs/ that the log does not name, and no upload outlives its
`UploadsPurged`; every ZIP the client completed equals a fresh download; `audit verify`
passes; a rebuilt job view equals the live one; while PostgreSQL was down the API
answered 503 JSON quickly and came back within 5 s without a restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

from tests.chaos.client import ClientState
from tests.chaos.fleet import ROOT
from tests.chaos.history import History
from tests.chaos.log_facts import JobFacts, read_jobs
from tests.chaos.nemesis import Faults

RECOVERY_LIMIT_S = 5.0  # the promise: back within 5 s of PostgreSQL
PROBE_LIMIT_S = 5.0  # a 503 slower than this is a hang


@dataclass
class Findings:
    """Each check's problems (empty: it passed) and the counts the figures print."""

    problems: dict[str, list[str]] = field(default_factory=dict)
    jobs: int = 0
    accepted: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    expired: int = 0
    outputs: int = 0
    zips_compared: int = 0
    zips_skipped_expired: int = 0

    def add(self, check: str, problems: list[str]) -> None:
        self.problems[check] = problems

    @property
    def ok(self) -> bool:
        return not any(self.problems.values())

    def count(self, check: str) -> int:
        return len(self.problems.get(check, []))


# --- the final state --------------------------------------------------------------------


def _files_under(data_dir: Path) -> list[str]:
    found = []
    for top in ("uploads", "outputs"):
        for folder, _, names in os.walk(data_dir / top):
            found += [(Path(folder) / n).relative_to(data_dir).as_posix() for n in names]
    return sorted(found)


async def state_problems(
    conn: asyncpg.Connection, data_dir: Path
) -> tuple[dict[str, JobFacts], dict[str, list[str]]]:
    """The checks on the log and the disk alone (also what `settle` waits for)."""
    jobs = await read_jobs(conn)
    tus = {
        str(r["upload_id"]): r["job_id"]
        for r in await conn.fetch("SELECT upload_id, job_id FROM tus_uploads")
    }
    problems: dict[str, list[str]] = {
        "unfinished": [],
        "duplicated": [],
        "orphans": [],
        "kept_after_purge": [],
        "unpurged": [],
    }
    named: set[str] = set()
    purged: set[str] = set()
    for job in jobs.values():
        if not job.received:
            problems["unfinished"].append(f"job {job.job_id}: events but no UploadReceived")
        if job.outcome is None:
            problems["unfinished"].append(f"job {job.job_id}: no ProcessingFinished")
        elif not job.uploads_purged:
            problems["unpurged"].append(f"job {job.job_id}: finished, uploads never purged")
        if job.expired and not job.outputs_deleted:
            problems["unpurged"].append(f"job {job.job_id}: expired, outputs never deleted")
        for file_id, index in job.duplicates:
            problems["duplicated"].append(f"job {job.job_id}: file {file_id} variation {index}")
        named |= job.named_keys()
        if job.uploads_purged:
            purged |= set(job.upload_keys)
    for key in await asyncio.to_thread(_files_under, data_dir):
        parts = key.split("/")
        if key in named:
            continue
        if key in purged:
            problems["kept_after_purge"].append(key)
        elif parts[:2] == ["uploads", "tus"] and len(parts) == 3 and parts[2] in tus:
            if tus[parts[2]] is not None:
                problems["orphans"].append(f"{key} (its upload is in job {tus[parts[2]]})")
        else:
            problems["orphans"].append(key)
    return jobs, problems


async def settle(database_url: str, data_dir: Path, timeout_s: float) -> float:
    """Wait until every job is finished and cleaned up as the log says; seconds waited."""
    started = time.monotonic()
    while True:
        conn = await asyncpg.connect(database_url)
        try:
            _, problems = await state_problems(conn, data_dir)
        finally:
            await conn.close()
        if not any(problems.values()) or time.monotonic() - started > timeout_s:
            return time.monotonic() - started
        await asyncio.sleep(1.0)


def _crc32_and_size(path: Path) -> tuple[int, int] | None:
    try:
        with open(path, "rb") as file:
            crc, size = 0, 0
            while chunk := file.read(2**20):
                crc, size = zlib.crc32(chunk, crc), size + len(chunk)
            return crc, size
    except FileNotFoundError:
        return None


async def _output_problems(jobs: dict[str, JobFacts], data_dir: Path) -> tuple[int, list[str]]:
    count, problems = 0, []
    for job in jobs.values():
        if job.outputs_deleted:
            continue
        for output in job.outputs:
            count += 1
            found = await asyncio.to_thread(_crc32_and_size, data_dir / output.key)
            if found is None:
                problems.append(f"{output.key}: missing")
            elif found != (output.crc32, output.size):
                problems.append(
                    f"{output.key}: crc/size {found}, recorded {(output.crc32, output.size)}"
                )
    return count, problems


# --- the history ------------------------------------------------------------------------


def _history_problems(history: History, faults: Faults) -> dict[str, list[str]]:
    server_errors, not_json = [], []
    for e in history.exchanges:
        where = f"{e.kind} {e.method} {e.path}: {e.status} {e.code or ''}"
        if e.status is not None and e.status >= 500 and e.status not in (503, 507):
            server_errors.append(where)
        if e.status is not None and e.status >= 400 and e.method != "HEAD" and not e.json_error:
            not_json.append(where)
    outage = []
    for p in faults.pg_probes:
        if p.status != 503 or not p.json_error:
            outage.append(f"probe {p.method} {p.path}: {p.status} {p.code} {p.error or ''}")
        elif p.seconds > PROBE_LIMIT_S:
            outage.append(f"probe {p.method} {p.path}: 503 after {p.seconds:.1f} s (a hang)")
    outage += [f"back only after {s:.1f} s" for s in faults.pg_recovery_s if s > RECOVERY_LIMIT_S]
    if faults.api_restarted_by_outage:
        outage.append(f"the API restarted {faults.api_restarted_by_outage} time(s) to recover")
    outage += faults.unrecovered
    return {"server_errors": server_errors, "errors_not_json": not_json, "pg_outage": outage}


async def _zip_problems(
    state: ClientState, jobs: dict[str, JobFacts], base: str, auth: dict[str, str]
) -> tuple[int, int, list[str]]:
    compared, skipped, problems = 0, 0, []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for job_id, download in state.downloads.items():
            if jobs.get(job_id) and jobs[job_id].expired:
                skipped += 1
                continue
            async with session.get(f"{base}/api/jobs/{job_id}/download", headers=auth) as r:
                body = await r.read()
                if r.status != 200:
                    problems.append(f"job {job_id}: fresh download answered {r.status}")
                    continue
            compared += 1
            if hashlib.sha256(body).hexdigest() != download.sha256:
                problems.append(
                    f"job {job_id}: the ZIP the client assembled from "
                    f"{download.pieces} piece(s) differs from a fresh one"
                )
    return compared, skipped, problems


# --- the service's own checks ----------------------------------------------------------


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


_VIEW = (
    "SELECT job_id, owner_id, status, created_at, expires_at, version, last_position, "
    "state::text FROM job_view ORDER BY job_id"
)


async def _rebuild_problems(database_url: str, env: dict[str, str]) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        before = [tuple(r) for r in await conn.fetch(_VIEW)]
        done = await asyncio.to_thread(_cli, env, "projections", "rebuild", "job_view", "--quiet")
        if done.returncode != 0:
            return [f"rebuild exited {done.returncode}: {done.stderr.strip()[-500:]}"]
        after = [tuple(r) for r in await conn.fetch(_VIEW)]
    finally:
        await conn.close()
    if before == after:
        return []
    differ = {r[0] for r in set(before) ^ set(after)}
    return [
        f"the rebuilt job view differs for {len(differ)} job(s): "
        f"{', '.join(sorted(map(str, differ))[:5])}"
    ]


# --- all of it ---------------------------------------------------------------------------


async def check(
    *,
    history: History,
    state: ClientState,
    faults: Faults,
    database_url: str,
    data_dir: Path,
    base: str,
    auth: dict[str, str],
    cli_env: dict[str, str],
) -> Findings:
    findings = Findings()
    conn = await asyncpg.connect(database_url)
    try:
        jobs, problems = await state_problems(conn, data_dir)
    finally:
        await conn.close()
    accepted = history.accepted_jobs()
    findings.jobs, findings.accepted = len(jobs), len(accepted)
    findings.add(
        "lost",
        [
            f"job {j} ({kind}) got 202 but is not in the log"
            for j, kind in accepted.items()
            if not jobs.get(j, JobFacts(j)).received
        ],
    )
    for name, found in problems.items():
        findings.add(name, found)
    for job in jobs.values():
        key = job.outcome or "none"
        findings.outcomes[key] = findings.outcomes.get(key, 0) + 1
        findings.expired += job.expired
    findings.outputs, output_problems = await _output_problems(jobs, data_dir)
    findings.add("outputs", output_problems)
    for name, found in _history_problems(history, faults).items():
        findings.add(name, found)
    compared, skipped, zip_problems = await _zip_problems(state, jobs, base, auth)
    findings.zips_compared, findings.zips_skipped_expired = compared, skipped
    findings.add("zips", zip_problems)
    audit = await asyncio.to_thread(_cli, cli_env, "audit", "verify", "--objects")
    findings.add(
        "audit",
        []
        if audit.returncode == 0
        else [f"audit verify exited {audit.returncode}: {audit.stdout.strip()[-800:]}"],
    )
    findings.add("rebuild", await _rebuild_problems(database_url, cli_env))
    return findings
