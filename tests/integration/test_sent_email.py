"""Emails as they arrive at a real SMTP server: headers, parts, size, DKIM, preview, spam."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import dkim
import pytest
from typer.testing import CliRunner

from digest import cli, pipeline
from digest.render.mime import parts_of
from digest.service import Service
from tests.integration.test_delivery import DAY, NOW, READERS, smtp_service
from tests.smtp_sink import Received, SmtpSink


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


SUBJECT = re.compile(r"^Your papers for Thu 30 Apr(: [^,+]+(, [^,+]+)?( \+\d+)?)?$")


def sent(service: Service, smtp: SmtpSink) -> dict[str, EmailMessage]:
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    return {m.rcpt_tos[0]: parse(m) for m in smtp.messages}


def parse(received: Received) -> EmailMessage:
    message = email.message_from_bytes(received.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_every_digest_carries_the_list_headers(
    database_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    service = smtp_service(database_url, tmp_path, sink, DIGEST_FROM="Papers <papers@news.example>")
    messages = sent(service, sink)
    assert sorted(messages) == sorted(READERS)
    feedback_ids = set()
    for address, message in messages.items():
        assert message["From"].addresses[0].addr_spec == "papers@news.example"
        assert message["To"] == address
        assert SUBJECT.match(message["Subject"]), message["Subject"]
        assert message["Date"].datetime == NOW
        assert re.fullmatch(r"<[^@<>]+@news\.example>", message["Message-ID"])
        assert message["List-Id"].endswith("<digest.news.example>")
        unsubscribe = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
        assert unsubscribe[0].startswith(("https://", "http://"))
        assert unsubscribe[1].startswith("mailto:") and "@news.example" in unsubscribe[1]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        feedback_ids.add(message["Feedback-ID"])
    assert len(feedback_ids) == len(READERS)


def test_every_digest_has_text_then_html_under_gmails_clip_size(
    database_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    service = smtp_service(database_url, tmp_path, sink)
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    for received in sink.messages:
        text, html = parts_of(received.data)
        assert len(html.encode("utf-8")) < 100_000
        links = set(re.findall(r'href="(https?://[^"]+)"', html))
        assert links and all(link in text or "&" in link for link in links if "arxiv" in link)
        assert "<img" not in html.lower()
        assert "unsubscribe" in text.lower() and "unsubscribe" in html.lower()


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to generate a test RSA key")
    private = tmp_path_factory.mktemp("dkim") / "key.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True
    )
    der = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def test_with_a_dkim_key_configured_every_digest_verifies(
    database_url: str, tmp_path: Path, sink: SmtpSink, dkim_key: tuple[Path, bytes]
) -> None:
    key_file, record = dkim_key
    service = smtp_service(
        database_url,
        tmp_path,
        sink,
        DIGEST_FROM="papers@news.example",
        dkim_key_file=key_file,
        dkim_selector="mail",
    )
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"mail._domainkey.news.example." else None

    assert len(sink.messages) == len(READERS)
    for received in sink.messages:
        assert received.data.startswith(b"DKIM-Signature:")
        assert dkim.verify(received.data, dnsfunc=dns)


def test_preview_files_are_the_parts_of_the_email_that_is_sent(
    database_url: str, tmp_path: Path, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = smtp_service(database_url, tmp_path, sink)
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    arrived = {m.rcpt_tos[0]: m for m in sink.messages}["ada@example.org"]
    monkeypatch.setenv("DIGEST_DATABASE_URL", database_url)
    monkeypatch.setenv("DIGEST_SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("DIGEST_BASE_URL", "http://digest.test")
    html, text, eml = tmp_path / "p.html", tmp_path / "p.txt", tmp_path / "p.eml"
    result = CliRunner().invoke(
        cli.app,
        [
            "preview",
            "ada@example.org",
            "--date",
            DAY.isoformat(),
            "--html",
            str(html),
            "--text",
            str(text),
            "--eml",
            str(eml),
        ],
    )
    assert result.exit_code == 0, result.output
    sent_text, sent_html = parts_of(arrived.data)
    assert untimed(html.read_bytes()) == untimed(sent_html.encode("utf-8"))
    assert untimed(text.read_bytes()) == untimed(sent_text.encode("utf-8"))
    assert parse_bytes(eml.read_bytes())["Subject"] == parse(arrived)["Subject"]


SIGNED_TOKEN = re.compile(rb"[\w-]{8,}\.[\w-]{4,}\.[\w-]{10,}")


def untimed(data: bytes) -> bytes:
    """The signed links carry the second they were signed in; everything else must be equal."""
    return SIGNED_TOKEN.sub(b"TOKEN", data)


def parse_bytes(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_without_a_postal_address_an_smtp_run_says_so_once_and_the_footer_leaves_it_out(
    database_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    smtp_service(database_url, tmp_path, sink).close()
    env = {
        "DIGEST_DATABASE_URL": database_url,
        "DIGEST_SMTP_URL": sink.url + "?timeout=3",
        "DIGEST_SECRET_KEY": "test-secret-key",
        "DIGEST_BASE_URL": "http://digest.test",
        "DIGEST_POSTAL_ADDRESS": "",
        "DIGEST_COMPLETE_METADATA": "0",
    }
    args = ["run", "--date", DAY.isoformat(), "--no-ingest", "--now", NOW.isoformat()]
    result = CliRunner().invoke(cli.app, args, env=env)
    assert result.exit_code == 0, result.output
    assert result.stderr.count("DIGEST_POSTAL_ADDRESS is unset") == 1
    assert "footer" in result.stderr and "DIGEST_POSTAL_ADDRESS" not in result.stdout
    assert len(sink.messages) == len(READERS)
    for received in sink.messages:
        text, html = parts_of(received.data)
        assert "DIGEST_POSTAL_ADDRESS" not in text + html
        assert "self-hosted service" not in text + html  # the old placeholder line
    status = CliRunner().invoke(cli.app, ["status", "--json"], env=env)
    assert status.exit_code == 0, status.output
    (warning,) = json.loads(status.stdout)["warnings"]
    assert warning.startswith("DIGEST_POSTAL_ADDRESS is unset") and "footer" in warning
    plain = CliRunner().invoke(cli.app, ["status"], env=env)
    assert "WARNING: DIGEST_POSTAL_ADDRESS is unset" in plain.stdout


def test_with_a_postal_address_the_footer_shows_it_and_nothing_warns(
    database_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    address = "Papers Ltd, 1 Example Street, Springfield"
    service = smtp_service(database_url, tmp_path, sink, postal_address=address)
    assert service.settings.warnings() == []
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    for received in sink.messages:
        text, html = parts_of(received.data)
        assert address in text and address in html
