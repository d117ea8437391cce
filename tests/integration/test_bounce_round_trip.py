"""VERP end to end: the envelope sender a real SMTP server receives names the delivery, and a
report sent back to it suspends the right subscriber, whom the next run then skips."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from digest import pipeline
from digest.cli import app
from digest.service import Service
from tests.integration.bounce_support import BOUNCES
from tests.integration.test_delivery import (
    DAY,
    NOW,
    READERS,
    deliveries_by_email,
    received,
    sink,  # noqa: F401 (a fixture)
    smtp_service,
)
from tests.smtp_sink import SmtpSink


def mail_from_by_recipient(smtp: SmtpSink) -> dict[str, str]:
    return {m.rcpt_tos[0]: m.mail_from for m in smtp.messages}


def test_each_digest_goes_out_from_its_own_signed_envelope_sender(
    database_url: str,
    tmp_path: Path,
    sink: SmtpSink,  # noqa: F811
) -> None:
    service = smtp_service(database_url, tmp_path, sink, DIGEST_FROM="Papers <papers@news.example>")
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    senders = mail_from_by_recipient(sink)
    rows = deliveries_by_email(service)
    assert sorted(senders) == sorted(READERS)
    for address, sender in senders.items():
        local, _, domain = sender.partition("@")
        assert domain == "news.example" and local.startswith("bounces+")
        assert service.verp.delivery_id(local.removeprefix("bounces+")) == rows[address].id
    assert len(set(senders.values())) == len(READERS)


def test_the_bounce_domain_setting_moves_the_envelope_sender(
    database_url: str,
    tmp_path: Path,
    sink: SmtpSink,  # noqa: F811
) -> None:
    service = smtp_service(database_url, tmp_path, sink, bounce_domain="Bounces.News.Example")
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    assert {s.partition("@")[2] for s in mail_from_by_recipient(sink).values()} == {
        "bounces.news.example"
    }
    assert all(m.data.count(b"bounces.news.example") == 0 for m in sink.messages)


def readdressed(fixture: str, sender: str, recipient: str) -> bytes:
    """A recorded report as it would come back to ``sender`` about ``recipient``: the
    fixture's own envelope sender and recipient (named in FIXTURE_ADDRESSES) replaced."""
    raw = (BOUNCES / fixture).read_bytes()
    old_sender, old_recipient = FIXTURE_ADDRESSES[fixture]
    raw = raw.replace(old_sender.encode(), sender.encode())
    return raw.replace(old_recipient.encode(), recipient.encode())


FIXTURE_ADDRESSES = {
    "postfix-hard.eml": ("bounces+1-twhx3koum4@example.org", "ada@example.net"),  # no mailbox
    "arf-yahoo-abuse.eml": ("bounces+7-xe2x7ap2mb@example.org", "gail@yahoo.com"),  # abuse
}


def test_a_report_to_the_envelope_sender_stops_the_next_digest(
    database_url: str,
    tmp_path: Path,
    sink: SmtpSink,  # noqa: F811
) -> None:
    service: Service = smtp_service(database_url, tmp_path, sink)
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    bob_sender = mail_from_by_recipient(sink)["bob@example.org"]
    env = {"DIGEST_DATABASE_URL": database_url, "DIGEST_SECRET_KEY": "test-secret-key"}
    ingested = CliRunner().invoke(
        app,
        ["bounces", "ingest", "--json", "--now", (NOW + dt.timedelta(hours=3)).isoformat(), "-"],
        env=env,
        input=readdressed("postfix-hard.eml", bob_sender, "bob@example.org"),
    )
    assert ingested.exit_code == 0, ingested.output
    (event,) = json.loads(ingested.output)[0]["events"]
    assert (event["kind"], event["outcome"]) == ("hard", "suspended")
    assert event["delivery_id"] == deliveries_by_email(service)["bob@example.org"].id

    next_day = pipeline.run_daily(
        service, DAY + dt.timedelta(days=1), now=NOW + dt.timedelta(days=1), ingest=False
    )
    assert next_day.delivery is not None
    assert received(sink) == Counter(
        {"ada@example.org": 2, "bob@example.org": 1, "cyd@example.org": 2}
    )


def test_complaints_past_the_rate_stop_the_next_run_and_show_everywhere(
    database_url: str,
    tmp_path: Path,
    sink: SmtpSink,  # noqa: F811
) -> None:
    service: Service = smtp_service(database_url, tmp_path, sink)
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    env = {"DIGEST_DATABASE_URL": database_url, "DIGEST_SECRET_KEY": "test-secret-key"}
    sender = mail_from_by_recipient(sink)["bob@example.org"]
    runner = CliRunner()
    ingested = runner.invoke(
        app,
        ["bounces", "ingest", "--now", (NOW + dt.timedelta(hours=3)).isoformat(), "-"],
        env=env,
        input=readdressed("arf-yahoo-abuse.eml", sender, "bob@example.org"),
    )
    assert ingested.exit_code == 0 and "-> unsubscribed" in ingested.output, ingested.output

    listed = json.loads(runner.invoke(app, ["deliveries", "list", "--json"], env=env).output)
    flags = {row["email"]: (row["bounce"], row["complaint"]) for row in listed}
    assert flags == {
        "ada@example.org": (None, False),
        "bob@example.org": (None, True),
        "cyd@example.org": (None, False),
    }

    tomorrow = NOW + dt.timedelta(days=1)
    report = pipeline.run_daily(service, DAY + dt.timedelta(days=1), now=tomorrow, ingest=False)
    assert report.delivery is not None and report.delivery.sent == 0
    assert report.delivery.halted is not None
    assert "1 complaints for 3 digests sent in the last 7 days (33.33%)" in report.delivery.halted
    assert received(sink) == Counter(
        {"ada@example.org": 1, "bob@example.org": 1, "cyd@example.org": 1}
    )
    assert {row.state for row in deliveries_by_email(service).values()} >= {"pending"}

    status = runner.invoke(app, ["status", "--json", "--now", tomorrow.isoformat()], env=env)
    data = json.loads(status.output)
    assert data["sending_halted"] == report.delivery.halted
    (day,) = [d for d in data["bounces"] if d["day"] == NOW.date().isoformat()]
    assert (day["sent"], day["complaint"], day["complaint_rate"]) == (3, 1, round(1 / 3, 6))

    from digest.ops.metrics import Metrics, render_metrics

    text = render_metrics(service.db, Metrics(), policy=service.bounce_policy, now=lambda: tomorrow)
    assert b"digest_sending_halted 1.0" in text
    assert f'digest_bounce_events{{day="{NOW.date()}",kind="complaint"}} 1.0'.encode() in text
