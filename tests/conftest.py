"""Shared fixtures: a real database per test (SQLite file, and PostgreSQL where one answers)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from digest.config import Settings
from digest.service import Service
from digest.store.db import Database

FIXTURES = Path(__file__).parent / "fixtures"
POSTGRES_ADMIN = os.environ.get(
    "DIGEST_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_unavailable() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install '.[postgres]')"
    try:
        with psycopg.connect(POSTGRES_ADMIN.replace("+psycopg", ""), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"no PostgreSQL at {POSTGRES_ADMIN}: {str(exc).strip().splitlines()[0]}"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    reason = _postgres_unavailable()
    if reason:
        if os.environ.get("DIGEST_TEST_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required here (DIGEST_TEST_REQUIRE_POSTGRES): {reason}")
        pytest.skip(reason)
    return POSTGRES_ADMIN


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    name = f"digest_test_{uuid.uuid4().hex[:12]}"
    admin = postgres_admin_url.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'digest.db'}"
    return str(request.getfixturevalue("postgres_url"))


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        database_url=database_url,
        outbox_dir=tmp_path / "outbox",
        base_url="http://digest.test",
        secret_key="test-secret-key",
        complete_metadata=False,  # tests that complete papers point it at a loopback API
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def start_digest_run(
    database_url: str, smtp_url: str, cwd: Path, *args: str, **settings: str
) -> subprocess.Popen[str]:
    """`digest run ARGS` in a real subprocess with only these DIGEST_* settings (extra ones
    as keyword arguments); its stdout and stderr come back together as text."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(
        DIGEST_DATABASE_URL=database_url,
        DIGEST_SMTP_URL=smtp_url,
        DIGEST_SECRET_KEY="test-secret-key",
        DIGEST_BASE_URL="http://digest.test",
        DIGEST_COMPLETE_METADATA="0",
        **settings,
    )
    script = Path(sys.executable).with_name("digest")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "digest"]
    return subprocess.Popen(
        [*command, "run", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    """A service on a freshly upgraded database that writes mail to tmp_path/outbox."""
    Database(database_url).upgrade()
    service = Service.open(make_settings(database_url, tmp_path))
    yield service
    service.close()


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """DIGEST_* settings for CLI tests, on a database already upgraded through the CLI."""
    from typer.testing import CliRunner

    from digest.cli import app

    values = {
        "DIGEST_DATABASE_URL": database_url,
        "DIGEST_OUTBOX_DIR": str(tmp_path / "outbox"),
        "DIGEST_SECRET_KEY": "cli-test-key",
        "DIGEST_COMPLETE_METADATA": "0",
    }
    assert CliRunner().invoke(app, ["db", "upgrade"], env=values).exit_code == 0
    return values


def invoke_cli(env: dict[str, str], *args: str) -> str:
    """Run one `digest` command in-process; it must succeed. Returns what it printed."""
    from typer.testing import CliRunner

    from digest.cli import app

    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def ingest_samples_and_readers(
    service: Service, readers: Sequence[str], *, now: dt.datetime
) -> None:
    """The bundled sample feeds, and ``readers`` confirmed with the topic "LLM agents"."""
    from digest import pipeline
    from digest.models import Topic
    from digest.resources import samples_dir
    from digest.store import subscribers

    pipeline.ingest_files(service, sorted(samples_dir().iterdir()), now=now)
    with service.db.session() as session:
        for address in readers:
            subscribers.upsert_subscriber(
                session,
                address,
                now=now,
                state="confirmed",
                profile_changes={"topics": (Topic("LLM agents"),)},
            )
