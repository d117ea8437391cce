"""An operator's mistake is one line on stderr and a non-zero exit, never a traceback.

Each case runs the real command in a fresh interpreter, as an operator would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def digest(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    environ.update(DIGEST_DATABASE_URL=f"sqlite:///{tmp_path / 'digest.db'}", **env)
    return subprocess.run(
        [sys.executable, "-m", "digest", *args],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize("variable", ["DIGEST_FROM", "DIGEST_LIST_NAME"])
def test_a_line_break_in_a_header_setting_is_refused_at_start(
    tmp_path: Path, variable: str
) -> None:
    done = digest(tmp_path, "status", **{variable: "Papers <p@example.org>\r\nBcc: x@example.org"})
    assert_one_line_error(done, variable, "one line")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("serve", "--port", "99999", "--no-scheduler"), ("--port", "digest serve --help")),
        (("nosuch",), ("nosuch", "digest --help")),
        (("preview",), ("email", "digest preview --help")),
        (("subscribers", "list", "--bogus"), ("--bogus",)),
        (("run", "--date", "2026-13-01"), ("--date",)),
    ],
)
def test_usage_errors_are_one_line(
    tmp_path: Path, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    done = digest(tmp_path, *args)
    assert_one_line_error(done, *words)
    assert done.returncode == 2
