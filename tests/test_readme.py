"""The README's two commands are the ones CI and newcomers run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r'^TEST_COMMAND="(.+)"$', ci, re.MULTILINE)
    assert command is not None
    assert command.group(1) in (ROOT / "README.md").read_text()


def test_every_setting_is_documented_in_the_readme() -> None:
    from service.settings import Settings

    readme = (ROOT / "README.md").read_text()
    missing = [
        f"VR_{name.upper()}" for name in Settings.model_fields if f"VR_{name.upper()}" not in readme
    ]
    assert missing == []
