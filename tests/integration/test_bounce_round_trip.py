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


def report_to(sender: str, recipient: str) -> bytes:
    """A Postfix DSN as it would come back to ``sender`` for a mailbox that does not exist."""
    raw = (BOUNCES / "postfix-hard.eml").read_bytes()
    raw = raw.replace(b"bounces+1-twhx3koum4@example.org", sender.encode())
    return raw.replace(b"ada@example.net", recipient.encode())


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
        ["bounces", "ingest", "--json", "-"],
        env=env,
        input=report_to(bob_sender, "bob@example.org"),
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
