"""Several replicas on one PostgreSQL database: every due digest arrives exactly once.

Three `digest run --due` processes start together at the same simulated moment, as three
replicas' ticks would, and deliver to a real SMTP server on loopback.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path

import pytest

from digest.service import Service
from digest.store import deliveries, subscribers
from digest.store.db import Database
from tests.conftest import make_settings
from tests.smtp_sink import SmtpSink

READERS = 40
DUE_AT = "2026-06-10T06:00:00+00:00"  # 08:00 in Berlin


def digest_script() -> str:
    found = Path(sys.executable).with_name("digest")
    if not found.exists():
        pytest.skip("the digest console script is not installed (pip install -e '.[dev]')")
    return str(found)


def add_readers(url: str, tmp_path: Path, now_text: str) -> None:
    import datetime as dt

    now = dt.datetime.fromisoformat(now_text)
    Database(url).upgrade()
    service = Service.open(make_settings(url, tmp_path, secret_key="shared-secret"))
    with service.db.session() as session:
        for number in range(READERS):
            subscribers.upsert_subscriber(
                session,
                f"reader{number}@example.org",
                now=now,
                state="confirmed",
                profile_changes={"quiet_days": "send"},
                schedule={"timezone": "Europe/Berlin", "send_hour": 7},
            )
    service.close()


def start_replicas(
    url: str, sink: SmtpSink, tmp_path: Path, count: int, secret_key: str | None
) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(
        DIGEST_DATABASE_URL=url,
        DIGEST_SMTP_URL=sink.url + "?timeout=10",
        DIGEST_BASE_URL="http://digest.test",
    )
    if secret_key:
        env["DIGEST_SECRET_KEY"] = secret_key
    processes = [
        subprocess.Popen(
            [digest_script(), "run", "--due", "--now", DUE_AT],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    failures = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        if process.returncode != 0:
            failures.append(f"exit {process.returncode}: {out}\n{err}")
    return failures


@pytest.mark.parametrize("secret_key", ["shared-secret", None], ids=["configured", "generated"])
def test_three_replicas_started_together_deliver_every_digest_exactly_once(
    postgres_url: str, tmp_path: Path, secret_key: str | None
) -> None:
    """Without DIGEST_SECRET_KEY the replicas also race to generate the signing key."""
    add_readers(postgres_url, tmp_path, DUE_AT)
    with SmtpSink() as sink:
        assert start_replicas(postgres_url, sink, tmp_path, 3, secret_key) == []
        received = collections.Counter(rcpt for m in sink.messages for rcpt in m.rcpt_tos)
    assert sorted(received) == sorted(f"reader{n}@example.org" for n in range(READERS))
    assert set(received.values()) == {1}
    service = Service.open(make_settings(postgres_url, tmp_path, secret_key="shared-secret"))
    with service.db.session() as session:
        states = collections.Counter(row.state for row, _ in deliveries.list_deliveries(session))
    service.close()
    assert states == {"sent": READERS}
