"""deploy/: check what can be checked without Docker (no engine runs here) or a real server.

The systemd unit goes through `systemd-analyze verify` (with its paths pointed at this venv),
the compose file is parsed and its wiring checked, and the Dockerfile keeps its contract:
non-root, migrate, then serve. `tests/e2e/test_serve.py` runs those same commands for real.
"""

from __future__ import annotations

import json
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


def test_compose_refuses_to_start_without_a_secret_key_of_its_own() -> None:
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    key = compose["services"]["app"]["environment"]["DIGEST_SECRET_KEY"]
    assert key.startswith("${DIGEST_SECRET_KEY:?"), key  # unset or empty: compose stops
    assert "change-me" not in key.lower()


def test_compose_and_dockerfile_pin_every_image_to_a_release() -> None:
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    images = [s["image"] for s in compose["services"].values() if "image" in s]
    dockerfile = (DEPLOY / "Dockerfile").read_text().splitlines()
    images += [line.split()[1] for line in dockerfile if line.startswith("FROM ")]
    assert images
    for image in images:
        name, _, tag = image.partition(":")
        assert tag and tag != "latest" and any(ch.isdigit() for ch in tag), image
        assert "." in tag, f"{image}: a major version alone moves under you"


@pytest.mark.parametrize("example", ["digest.env.example", "compose.env.example"])
def test_digest_refuses_the_example_files_secret_key(example: str) -> None:
    from digest.config import Settings

    values = dict(
        line.split("=", 1)
        for line in (DEPLOY / example).read_text().splitlines()
        if line and not line.startswith("#") and "=" in line
    )
    placeholder = values.get("DIGEST_SECRET_KEY") or "CHANGE-ME-64-random-characters"
    with pytest.raises(ValueError, match="placeholder"):
        Settings(secret_key=placeholder)


def test_every_start_seeds_the_sources_after_migrating() -> None:
    unit = (DEPLOY / "digest.service").read_text()
    assert unit.index("digest db upgrade") < unit.index("digest sources seed")
    cmd = [line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if "CMD [" in line]
    start = cmd[-1]
    assert start.index("db upgrade") < start.index("sources seed") < start.index("serve")


def test_sources_seed_adds_the_default_sources_once(cli_env: dict[str, str]) -> None:
    from tests.conftest import invoke_cli

    env = {**cli_env, "DIGEST_SOURCES": "arxiv:cs.CL+cs.LG, hf:daily"}
    invoke_cli(env, "db", "upgrade")
    invoke_cli(env, "sources", "seed")
    again = invoke_cli(env, "sources", "seed")
    assert "nothing added" in again
    listed = json.loads(invoke_cli(env, "sources", "list", "--json"))
    assert [(s["name"], s["kind"]) for s in listed] == [
        ("arxiv:cs.CL+cs.LG", "arxiv-rss"),
        ("hf:daily", "hf-daily"),
    ]
