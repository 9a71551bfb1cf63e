"""The command line, run as a user would: a real process, real settings from VR_ vars."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

from service.db.migrate import load_migrations

ROOT = Path(__file__).resolve().parents[2]


def cli_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VR_")}
    env.update(values)
    env["PYTHONPATH"] = str(ROOT)
    return env


def run_cli(*args: str, **values: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env=cli_env(**values),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def postgres_running_in(pgdata: Path) -> bool:
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and str(pgdata.resolve()) in " ".join(cmdline):
            return True
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_migrate_applies_everything_once_then_nothing(empty_database_url: str) -> None:
    first = run_cli("migrate", VR_DATABASE_URL=empty_database_url)
    second = run_cli("migrate", VR_DATABASE_URL=empty_database_url)
    assert first.returncode == 0, first.stderr
    count = len(load_migrations())
    assert first.stdout.startswith(f"applied {count} migration(s): 0001_event_log.sql")
    assert second.returncode == 0 and second.stdout.strip() == "applied 0 migration(s)"


def test_bad_configuration_is_one_readable_line_and_a_nonzero_exit(tmp_path: Path) -> None:
    result = run_cli("migrate", VR_PORT="eighty", VR_DATA_DIR=str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "VR_PORT" in lines[0]
    bad_url = run_cli("migrate", VR_DATABASE_URL="mysql://nope", VR_DATA_DIR=str(tmp_path))
    assert bad_url.returncode == 2 and "VR_DATABASE_URL" in bad_url.stderr


def test_an_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    result = run_cli("migrate", VR_DATABASE_URL=url)
    assert result.returncode == 2
    assert "cannot connect to the database" in result.stderr


def test_serve_on_the_embedded_default_shares_its_server_and_shuts_down_cleanly(
    tmp_path: Path,
) -> None:
    # Given `serve` with no database URL: it starts an embedded PostgreSQL in the data dir
    port = free_port()
    data_dir = tmp_path / "data"
    env = cli_env(VR_DATA_DIR=str(data_dir), VR_PORT=str(port))
    server = subprocess.Popen(
        [sys.executable, "-m", "service", "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        ready = wait_for_json(f"http://127.0.0.1:{port}/readyz", timeout=60)
        assert ready["status"] == "ready"
        assert postgres_running_in(data_dir / "pgdata")
        # When a CLI command runs meanwhile, it uses the same embedded server, and leaves it up
        migrate = run_cli("migrate", VR_DATA_DIR=str(data_dir))
        assert migrate.returncode == 0 and "applied 0" in migrate.stdout
        assert wait_for_json(f"http://127.0.0.1:{port}/healthz", timeout=5) == {"status": "ok"}
        # Then SIGTERM stops the service gracefully, and with it the embedded server
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    finally:
        if server.poll() is None:
            server.kill()
        output = server.stdout.read() if server.stdout else ""
    assert "using embedded PostgreSQL" in output
    deadline = time.monotonic() + 10
    while postgres_running_in(data_dir / "pgdata") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not postgres_running_in(data_dir / "pgdata")


def wait_for_json(url: str, timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
