"""deploy/: check what can be checked without Docker (no engine runs here) or a real server.

The systemd unit goes through `systemd-analyze verify` (with its paths pointed at this venv),
the compose file is parsed and its wiring checked, and the Dockerfile keeps its contract:
non-root, migrate, then serve. `tests/e2e/test_serve.py` runs those same commands for real.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    script = Path(sys.executable).with_name("digest")
    if not script.exists():
        pytest.skip("the digest console script is not installed")
    unit = (DEPLOY / "digest.service").read_text()
    assert "/opt/digest/venv/bin/digest" in unit
    copy = tmp_path / "digest.service"
    copy.write_text(unit.replace("/opt/digest/venv/bin/digest", str(script)))
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "digest.service" not in result.stderr, result.stderr  # unknown keys are warnings


def test_the_systemd_unit_migrates_before_serving_and_stops_with_sigterm() -> None:
    unit = (DEPLOY / "digest.service").read_text()
    assert "ExecStartPre=/opt/digest/venv/bin/digest db upgrade" in unit
    assert "ExecStart=/opt/digest/venv/bin/digest serve" in unit
    assert "KillSignal=SIGTERM" in unit


def test_compose_wires_the_app_to_postgres_and_the_mail_catcher() -> None:
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) >= {"app", "db", "mail"}
    app = services["app"]
    env = app["environment"]
    assert env["DIGEST_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@db:5432/" in env["DIGEST_DATABASE_URL"]
    assert env["DIGEST_SMTP_URL"].startswith("smtp://mail:")
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert (DEPLOY.parent / app["build"]["context"].replace("..", ".")).exists()


def test_the_dockerfile_runs_as_non_root_and_migrates_before_serving() -> None:
    lines = [
        line.strip() for line in (DEPLOY / "Dockerfile").read_text().splitlines() if line.strip()
    ]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    cmd = [line for line in lines if line.startswith("CMD [")][-1]  # not HEALTHCHECK's CMD
    assert cmd.index("digest db upgrade") < cmd.index("digest serve")
    assert "HEALTHCHECK" in " ".join(lines) and "/healthz" in " ".join(lines)
