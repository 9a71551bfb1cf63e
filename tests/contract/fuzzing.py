"""Fuzz a real `serve` against its own OpenAPI document with schemathesis.

Shared by the suite's short run (`test_fuzz.py`) and the long one (`bench/fuzz.py`):
start `serve` (every role) on loopback ports, sign a user in, let the worker render one
real job (so `{job_id}` operations reach their handlers, not only 404s), then run the
schemathesis CLI with every check. `POST /api/auth/logout` is fuzzed in a second run with
a token of its own: it revokes the token it is sent, which would leave the main run
unauthenticated. Afterwards the service's log is searched for ERROR lines.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "fuzz-password-1"
ERROR_LINE = re.compile(r"^\S+ \S+ (ERROR|CRITICAL) ", re.MULTILINE)
LOGOUT = "/api/auth/logout"
HOOKS = "tests.contract.fuzz_hooks"  # a serializer for tus PATCH bodies


@dataclass
class FuzzResult:
    """What schemathesis and the service's log say about one fuzzing session."""

    cases: int = 0
    checks: int = 0
    failures: list[Any] = field(default_factory=list)
    errors: list[Any] = field(default_factory=list)
    warnings: dict[str, Any] = field(default_factory=dict)
    error_log_lines: list[str] = field(default_factory=list)
    seconds: float = 0.0
    operations: int = 0
    port: int = 0
    metrics_port: int = 0
    transcript: str = ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fuzz_service(
    database_url: str,
    data_dir: Path,
    clip: Path,
    work: Path,
    *,
    max_examples: int,
    seed: int | None = None,
    workers: int = 1,
    while_running: Any = None,
) -> FuzzResult:
    """Run the whole session; `while_running(result)` is called while `serve` still runs."""
    result = FuzzResult(port=free_port(), metrics_port=free_port())
    env = _env(database_url, data_dir, result)
    log_path = work / "serve.log"
    _cli(env, "users", "add", "fuzz", stdin=PASSWORD)
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "service", "serve"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{result.port}"
            _wait_for(f"{base}/readyz", timeout_s=90)
            token, logout_token = _log_in(base), _log_in(base)
            job_id, file_id = _render_one_job(base, token, clip)
            upload_id = _open_tus_upload(base, token)
            config = _config(work, job_id, file_id, upload_id)
            started = time.monotonic()
            main = _schemathesis(base, config, token, work / "main", max_examples, seed,
                                 workers, ["--exclude-path", LOGOUT])  # fmt: skip
            logout = _schemathesis(base, config, logout_token, work / "logout", 5, seed, 1,
                                   ["--include-path", LOGOUT])  # fmt: skip
            result.seconds = time.monotonic() - started
            for run in (main, logout):
                _add(result, run)
            if while_running is not None:
                while_running(result)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    text = log_path.read_text()
    result.error_log_lines = [line for line in text.splitlines() if ERROR_LINE.match(line)]
    return result


def _env(database_url: str, data_dir: Path, result: FuzzResult) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VR_")}
    env.update(
        PYTHONPATH=str(ROOT),
        VR_DATABASE_URL=database_url,
        VR_DATA_DIR=str(data_dir),
        VR_PORT=str(result.port),
        VR_METRICS_PORT=str(result.metrics_port),
        VR_ROLE="all",
        VR_POLL_INTERVAL_S="0.1",
        VR_LOG_LEVEL="INFO",
    )
    return env


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    subprocess.run(
        [sys.executable, "-m", "service", *args, "--password-stdin"],
        env=env, cwd=ROOT, input=stdin, text=True, check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def _wait_for(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer 200 within {timeout_s} s")
        time.sleep(0.1)


def _request(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _log_in(base: str) -> str:
    body = json.dumps({"username": "fuzz", "password": PASSWORD}).encode()
    answer = _request(f"{base}/api/auth/login", data=body,
                      headers={"Content-Type": "application/json"})  # fmt: skip
    return str(answer["token"])


def _render_one_job(base: str, token: str, clip: Path) -> tuple[str, str]:
    """Upload `clip` for one variation and wait until it is rendered: (job id, file id)."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="variations"\r\n\r\n1\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="videos"; filename="ad.mp4"\r\n'
            f"Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + clip.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    created = _request(f"{base}/api/jobs", data=body, headers=headers)
    job_id, file_id = str(created["job_id"]), str(created["files"][0]["id"])
    deadline = time.monotonic() + 120
    while _request(f"{base}/api/jobs/{job_id}", headers=headers)["status"] != "completed":
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} did not complete")
        time.sleep(0.2)
    return job_id, file_id


# schemathesis's default for positive_data_acceptance, which two operations extend
_DEFAULT_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
ACCEPTED = ", ".join(f'"{status}"' for status in _DEFAULT_ACCEPTED)
# and for negative_data_rejection
_DEFAULT_REJECTED = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429",
                     "5xx"]  # fmt: skip
REJECTED = ", ".join(f'"{status}"' for status in _DEFAULT_REJECTED)
# and for missing_required_header
MISSING = ", ".join(f'"{status}"' for status in ["400", "401", "403", "406", "415", "422"])


def _open_tus_upload(base: str, token: str) -> str:
    """An unfinished tus upload of the user's, so `{upload_id}` routes reach their handlers."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Tus-Resumable": "1.0.0",
        "Upload-Length": "1000",
        "Upload-Metadata": "filename YWQubXA0",  # ad.mp4
    }
    request = urllib.request.Request(f"{base}/api/uploads", method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(response.headers["Location"]).rsplit("/", 1)[1]


def _config(work: Path, job_id: str, file_id: str, upload_id: str) -> Path:
    """Real values for path parameters most of the time, so handlers are reached."""
    path = work / "schemathesis.toml"
    path.write_text(
        f"""
# Live streams (Server-Sent Events) never end by themselves: read a few events, or for
# one second, and move on.
max-stream-events = 3

[dictionaries.jobs]
values = ["{job_id}"]

[dictionaries.files]
values = ["{file_id}"]

[dictionaries.variations]
values = [1]

[dictionaries.uploads]
values = ["{upload_id}"]

[dictionaries.assets]
values = ["init.js", "swagger-ui.css", "LICENSE", "NOTICE"]

[parameters]
"path.job_id" = {{ dictionary = "jobs", probability = 0.8 }}
"path.file_id" = {{ dictionary = "files", probability = 0.8 }}
"path.index" = {{ dictionary = "variations", probability = 0.8 }}
"path.upload_id" = {{ dictionary = "uploads", probability = 0.8 }}
"path.asset" = {{ dictionary = "assets", probability = 0.8 }}

# What a schema cannot say, so schema-valid requests may still be refused:
# an upload's bytes must be an MP4 or MOV (415) within the configured limits (413), and a
# JSON job names tus uploads the caller finished (400 unknown_upload);
[[operations]]
include-name = "POST /api/jobs"
checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "400", "413", "415"]

# a live stream resumes only from a position the service sent (an `id:` of its own);
[[operations]]
include-tag = "live"
request-timeout = 1.0
checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "400"]

# tus answers a wrong or missing Tus-Resumable with 412, as the protocol says; upload ids,
# checksums and metadata (base64 of a usable file name) must be real (404, 460, 400).
[[operations]]
include-path-regex = "^/api/uploads"
checks.negative_data_rejection.expected-statuses = [{REJECTED}, "412"]
checks.missing_required_header.expected-statuses = [{MISSING}, "412"]
checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "400", "460"]

# a list cursor must be one the service handed out (it is opaque).
[[operations]]
include-name = "GET /api/jobs"
checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "400"]
"""
    )
    return path


def _schemathesis(
    base: str,
    config: Path,
    token: str,
    out: Path,
    max_examples: int,
    seed: int | None,
    workers: int,
    selection: list[str],
) -> tuple[dict[str, Any], Path, str]:
    out.mkdir(parents=True, exist_ok=True)
    report, events = out / "report.json", out / "events.ndjson"
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config),
        "run", f"{base}/api/openapi.json",
        "--checks", "all",
        "--max-examples", str(max_examples),
        "--workers", str(workers),
        "--header", f"Authorization: Bearer {token}",
        "--report", "json,ndjson",
        "--report-json-path", str(report),
        "--report-ndjson-path", str(events),
        "--no-color",
        *selection,
        *(["--seed", str(seed)] if seed is not None else []),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCHEMATHESIS_HOOKS": HOOKS}
    done = subprocess.run(command, cwd=out, env=env, capture_output=True, text=True, timeout=3600)
    if not report.exists():
        raise RuntimeError(f"schemathesis wrote no report:\n{done.stdout}\n{done.stderr}")
    return json.loads(report.read_text()), events, done.stdout


def _add(result: FuzzResult, run: tuple[dict[str, Any], Path, str]) -> None:
    report, events, transcript = run
    result.cases += report["test_cases"]["generated"]
    result.failures += report["failures"]
    result.errors += report["errors"]
    result.operations += report["operations"]["tested"]
    for name, items in report["warnings"].items():
        if items:
            result.warnings.setdefault(name, []).extend(items)
    result.checks += _count_checks(events)
    result.transcript += transcript


def _count_checks(events: Path) -> int:
    """Every check schemathesis ran on a response (each case runs every applicable check)."""
    total = 0
    for line in events.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if finished:
            total += sum(len(v) for v in finished["recorder"].get("checks", {}).values())
    return total
