"""`digest serve` as an operator runs it: a subprocess that migrates, serves, sends when due
(its scheduler clock shifted with `--now`, ticking every second) and stops cleanly on SIGTERM.

The same commands the Dockerfile and the systemd unit run (`digest db upgrade`, then
`digest serve`), outside Docker, since no Docker engine runs here.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.smtp_sink import SmtpSink

READER = "reader@example.org"


def digest_script() -> str:
    found = Path(sys.executable).with_name("digest")
    if not found.exists():
        pytest.skip("the digest console script is not installed (pip install -e '.[dev]')")
    return str(found)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(check: Callable[[], bool], what: str, attempts: int = 120) -> None:
    """Poll `check` up to `attempts` times, a quarter second apart (bounded, not timed)."""
    for _ in range(attempts):
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
def env(tmp_path: Path, sink: SmtpSink) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    values.update(
        DIGEST_DATABASE_URL=f"sqlite:///{tmp_path / 'digest.db'}",
        DIGEST_SMTP_URL=sink.url + "?timeout=20",
        DIGEST_SECRET_KEY="serve-test-secret",
        DIGEST_BASE_URL="http://digest.test",
    )
    return values


def digest(env: dict[str, str], cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [digest_script(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class Server:
    def __init__(self, env: dict[str, str], cwd: Path, pretend_now: dt.datetime) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.stderr_path = cwd / "serve.log"
        self.process = subprocess.Popen(
            [digest_script(), "serve", "--port", str(self.port), "--tick-seconds", "1"]
            + ["--now", pretend_now.isoformat()],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr_path.open("w"),
        )

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.base + path, timeout=5)

    def answers(self) -> bool:
        try:
            return self.get("/healthz").status_code == 200
        except httpx.TransportError:
            assert self.process.poll() is None, self.stderr_path.read_text()
            return False

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=90)

    def log_lines(self) -> list[str]:
        return self.stderr_path.read_text().splitlines()


@pytest.fixture
def started(env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[dt.datetime], Server]]:
    servers: list[Server] = []
    digest(env, tmp_path, "db", "upgrade")
    digest(env, tmp_path, "subscribers", "add", READER, "--confirmed", "--quiet-days", "send")
    digest(env, tmp_path, "subscribers", "set", READER, "--timezone", "Europe/Berlin")
    digest(env, tmp_path, "subscribers", "set", READER, "--send-hour", "7")

    def start(pretend_now: dt.datetime) -> Server:
        server = Server(env, tmp_path, pretend_now)
        servers.append(server)
        wait_for(server.answers, "/healthz to answer")
        return server

    yield start
    for server in servers:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


def rows(env: dict[str, str], cwd: Path) -> list[dict[str, object]]:
    return list(json.loads(digest(env, cwd, "deliveries", "list", "--json")))


SEVEN_IN_BERLIN = dt.datetime(2026, 6, 10, 5, 0, tzinfo=dt.UTC)


def test_serve_answers_healthz_sends_when_due_and_stops_cleanly_on_sigterm(
    started: Callable[[dt.datetime], Server],
    sink: SmtpSink,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    server = started(SEVEN_IN_BERLIN - dt.timedelta(seconds=3))
    assert server.get("/healthz").json()["status"] == "ok"
    wait_for(lambda: len(sink.messages) >= 1, "the due digest to arrive")
    detail = server.get("/healthz/detail").json()
    assert detail["status"] == "ok" and detail["last_send_age_seconds"] is not None
    assert 'digest_deliveries_total{outcome="sent"} 1.0' in server.get("/metrics").text
    assert server.terminate() == 0
    assert [m.rcpt_tos for m in sink.messages] == [(READER,)]
    assert [(r["date"], r["state"]) for r in rows(env, tmp_path)] == [("2026-06-10", "sent")]


def test_sigterm_during_a_send_finishes_it_before_exiting(
    started: Callable[[dt.datetime], Server],
    sink: SmtpSink,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    sink.delay(3.0, at="data", times=1)
    server = started(SEVEN_IN_BERLIN + dt.timedelta(minutes=1))
    wait_for(lambda: sink.sessions >= 1, "the send to begin")
    assert server.terminate() == 0
    assert [m.rcpt_tos for m in sink.messages] == [(READER,)]
    assert [r["state"] for r in rows(env, tmp_path)] == ["sent"]


def test_serve_logs_one_json_object_per_line_without_addresses(
    started: Callable[[dt.datetime], Server], sink: SmtpSink
) -> None:
    server = started(SEVEN_IN_BERLIN)
    wait_for(lambda: len(sink.messages) >= 1, "the due digest to arrive")
    assert server.terminate() == 0
    ours = [json.loads(line) for line in server.log_lines() if line.startswith("{")]
    sent = [r for r in ours if r.get("job") == "due" and "sent=1" in r["message"]]
    assert len(sent) == 1 and sent[0]["run_id"]
    assert all(READER not in line for line in server.log_lines())
