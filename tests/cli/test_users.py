"""`video-refresher users …` as a user runs it: a real process against a real database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.cli.test_commands import ROOT, cli_env, run_cli


def run_with_stdin(stdin: str, *args: str, **values: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env=cli_env(**values),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def _password_of(stdout: str) -> str:
    lines = [line for line in stdout.splitlines() if line.startswith("password: ")]
    assert len(lines) == 1, stdout
    return lines[0].removeprefix("password: ")


async def _can_log_in(url: str, name: str, password: str) -> bool:
    import asyncpg

    from service.accounts import passwords

    conn = await asyncpg.connect(url)
    try:
        stored = await conn.fetchval(
            "SELECT password_hash FROM users WHERE lower(username) = lower($1)", name
        )
    finally:
        await conn.close()
    return stored is not None and await passwords.verify_password(password, stored)


async def test_add_list_and_reset_password(database_url: str) -> None:
    db = {"VR_DATABASE_URL": database_url}
    # Given a user added with a generated password, and an admin with one from stdin
    added = run_cli("users", "add", "alice", **db)
    assert added.returncode == 0, added.stderr
    first = _password_of(added.stdout)
    admin = run_with_stdin(
        "from stdin\n", "users", "add", "boss", "--admin", "--password-stdin", **db
    )
    assert admin.returncode == 0, admin.stderr
    assert "password:" not in admin.stdout  # a password the user typed is never echoed
    # Then both can log in with those passwords
    assert await _can_log_in(database_url, "alice", first)
    assert await _can_log_in(database_url, "boss", "from stdin")
    # And `list` shows both with their roles
    listed = run_cli("users", "list", **db)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t")[:2] for line in listed.stdout.splitlines()]
    assert rows == [["alice", "user"], ["boss", "admin"]]
    # When alice's password is reset, the old one stops working and the new one works
    reset = run_cli("users", "reset-password", "ALICE", **db)
    assert reset.returncode == 0, reset.stderr
    second = _password_of(reset.stdout)
    assert second != first
    assert await _can_log_in(database_url, "alice", second)
    assert not await _can_log_in(database_url, "alice", first)


def test_errors_are_one_line_on_stderr_and_a_nonzero_exit(database_url: str) -> None:
    db = {"VR_DATABASE_URL": database_url}
    assert run_cli("users", "add", "alice", **db).returncode == 0
    failures = [
        run_cli("users", "add", "Alice", **db),  # duplicate, whatever the case
        run_cli("users", "reset-password", "nobody", **db),
        run_with_stdin("\n", "users", "add", "carol", "--password-stdin", **db),
        run_cli("users", "add", "bad name", **db),
    ]
    for result, expected in zip(
        failures,
        ("already exists", "no user named", "must not be empty", "invalid username"),
        strict=True,
    ):
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], result.stderr


def test_users_commands_work_on_the_embedded_default(tmp_path: Path) -> None:
    data = {"VR_DATA_DIR": str(tmp_path / "data")}
    added = run_cli("users", "add", "alice", **data)
    assert added.returncode == 0, added.stderr
    listed = run_cli("users", "list", **data)
    assert listed.returncode == 0 and listed.stdout.startswith("alice\tuser"), listed.stderr
