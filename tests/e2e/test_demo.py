"""`digest demo` through the installed console script, in an empty folder, as a new user runs it."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REQUIRED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Id",
)


def digest_script() -> str:
    beside_python = Path(sys.executable).with_name("digest")
    found = str(beside_python) if beside_python.exists() else shutil.which("digest")
    if not found:
        pytest.skip("the digest console script is not installed (pip install -e '.[dev]')")
    return found


def run_digest(folder: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """The installed `digest` in `folder`, with no DIGEST_* settings but the ones given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update({f"DIGEST_{name.upper()}": value for name, value in settings.items()})
    return subprocess.run(
        [digest_script(), *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run_demo(folder: Path) -> subprocess.CompletedProcess[str]:
    return run_digest(folder, "demo")


def test_demo_writes_one_readable_email_per_sample_subscriber_and_rerun_sends_none(
    tmp_path: Path,
) -> None:
    first = run_demo(tmp_path)
    assert first.returncode == 0, first.stderr
    emls = sorted((tmp_path / "outbox").rglob("*.eml"))
    assert len(emls) == 2
    assert str(tmp_path / "outbox") in first.stdout
    for path in emls:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert [h for h in REQUIRED_HEADERS if not message[h]] == []
        assert message.get_content_type() == "multipart/alternative"
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "<script" not in html.lower()
        assert "http://localhost:8000/manage/" in html and "http://localhost:8000/manage/" in text
        assert path.with_suffix(".html").exists()

    second = run_demo(tmp_path)
    assert second.returncode == 0, second.stderr
    assert sorted((tmp_path / "outbox").rglob("*.eml")) == emls
    assert "nothing new" in second.stdout


def test_commands_refuse_a_database_without_schema(tmp_path: Path) -> None:
    result = run_digest(tmp_path, "papers", "list")
    assert result.returncode == 1
    assert "digest db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_configuration_is_one_clear_line(tmp_path: Path) -> None:
    result = run_digest(tmp_path, "db", "upgrade", smtp_url="http://not-smtp")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: invalid configuration: DIGEST_SMTP_URL")


def test_a_usage_error_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    result = run_digest(tmp_path, "ingest", "stray-argument.xml")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "unexpected extra argument" in result.stderr
