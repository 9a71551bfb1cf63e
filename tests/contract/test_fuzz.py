"""Schemathesis against a real `serve`: every check, a few hundred cases, no failure, and
nothing at ERROR in the service's log. (`bench/fuzz.py` runs the same with thousands.)"""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

from tests.clips import TinyClips
from tests.contract.fuzzing import FuzzResult, fuzz_service
from tests.metrics.support import parse, value

MAX_EXAMPLES = 3  # per operation and phase: several hundred cases, ~30 s of fuzzing here


def _serve_answers_protocol_errors_in_json(result: FuzzResult) -> None:
    with socket.create_connection(("127.0.0.1", result.port), timeout=10) as conn:
        conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        answer = conn.makefile("rb").read()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400", head
    assert b"application/json" in head
    assert set(json.loads(body)["error"]) >= {"code", "message"}


def _metrics_port_serves_this_process(result: FuzzResult) -> None:
    url = f"http://127.0.0.1:{result.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        samples = parse(response.read().decode())
    # the fuzzing's requests, counted by the serving process, scraped on the metrics port
    assert value(samples, "vr_http_requests_total", method="GET", route="/healthz",
                 status="200") >= 1  # fmt: skip
    assert value(samples, "vr_jobs", status="completed") >= 1


def test_the_api_conforms_to_its_contract_under_fuzzing(
    database_url: str, tmp_path: Path, tiny_clips: TinyClips
) -> None:
    # Given `serve` with every role, a signed-in user and one rendered job
    # When schemathesis runs every check against /api/openapi.json
    def while_running(result: FuzzResult) -> None:
        _serve_answers_protocol_errors_in_json(result)
        _metrics_port_serves_this_process(result)

    result = fuzz_service(
        database_url, tmp_path / "data", tiny_clips.mp4, tmp_path,
        max_examples=MAX_EXAMPLES, seed=14, while_running=while_running,
    )  # fmt: skip
    # Then every operation was reached, with credentials that worked, and nothing failed
    assert result.failures == [] and result.errors == [], result.transcript
    assert result.operations >= 15
    assert result.cases >= 200, result.transcript
    assert "missing_auth" not in result.warnings, result.warnings
    # And the service logged nothing at ERROR
    assert result.error_log_lines == []
