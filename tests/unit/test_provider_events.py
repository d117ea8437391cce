"""SES and Mailgun reports mapped to hard / soft / complaint events; Mailgun's signature."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import pytest

from digest.deliver.provider_events import (
    PayloadRejected,
    check_mailgun_signature,
    mailgun_report,
    report_key,
    ses_report,
)
from digest.deliver.verp import Verp
from tests.sns_support import ses_bounce, ses_complaint

NOW = dt.datetime(2026, 4, 30, 12, 0, tzinfo=dt.UTC)
KEY = "key-mailgun-test-signing-key"


def mailgun_signature(key: str, at: dt.datetime, token: str = "a" * 50) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    digest = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": digest}


def mailgun_failure(address: str, severity: str = "permanent", event: str = "failed") -> dict:
    return {
        "event": event,
        "id": "G9Bn5sl1TC6nu79C8C0bwg",
        "severity": severity,
        "recipient": address,
        "reason": "bounce",
        "delivery-status": {"code": 550, "enhanced-code": "5.1.1", "description": "No such user"},
        "message": {"headers": {"message-id": "20260430.1@digest.test"}},
    }


def ses(payload: dict[str, Any]) -> list[Any]:
    return list(ses_report("sns-message-1", json.dumps(payload)).events)


@pytest.mark.parametrize(("bounce_type", "kind"), [("Permanent", "hard"), ("Transient", "soft"),
                                                   ("Undetermined", "unknown")])  # fmt: skip
def test_ses_bounce_types(bounce_type: str, kind: str) -> None:
    report = ses_report("sns-message-1", json.dumps(ses_bounce("Gone@example.org", bounce_type)))
    [event] = report.events
    assert (event.kind, event.recipient, event.detector) == (kind, "gone@example.org", "ses")
    assert (event.status, event.verp_ids) == ("5.1.1", ())
    assert (
        report.key == report_key("ses", "sns-message-1") != report_key("mailgun", "sns-message-1")
    )
    assert report.message_id == "ses-message-1"


def test_ses_complaint_is_a_complaint_not_a_bounce() -> None:
    [event] = ses(ses_complaint("reader@example.org"))
    assert (event.kind, event.recipient, event.diagnostic) == (
        "complaint",
        "reader@example.org",
        "abuse",
    )


def test_ses_names_the_delivery_by_the_envelope_sender_it_quotes() -> None:
    verp = Verp.from_secret("s3cret", "digest.test")
    payload = ses_bounce("gone@example.org")
    payload["mail"]["source"] = verp.address(42)
    [event] = ses(payload)
    assert event.verp_id is not None and verp.delivery_id(event.verp_id) == 42


def test_ses_event_publishing_format_is_read_too() -> None:
    payload = ses_bounce("gone@example.org")
    payload["eventType"] = payload.pop("notificationType")
    assert [e.kind for e in ses(payload)] == ["hard"]


def test_ses_bounce_with_several_recipients_gives_one_event_each() -> None:
    payload = ses_bounce("a@example.org")
    payload["bounce"]["bouncedRecipients"].append({"emailAddress": "b@example.org"})
    assert [e.recipient for e in ses(payload)] == ["a@example.org", "b@example.org"]


def test_ses_delivery_notifications_are_no_events() -> None:
    assert ses({"notificationType": "Delivery", "mail": {}}) == []


def test_a_good_mailgun_signature_passes() -> None:
    check_mailgun_signature(mailgun_signature(KEY, NOW), KEY, NOW)


@pytest.mark.parametrize(
    "signature",
    [
        None,
        {},
        {"timestamp": "x", "token": "t", "signature": "00"},
        mailgun_signature("another-key", NOW),
    ],
)
def test_a_missing_or_bad_mailgun_signature_is_refused(signature: Any) -> None:
    with pytest.raises(PayloadRejected):
        check_mailgun_signature(signature, KEY, NOW)


def test_a_replayed_mailgun_timestamp_is_refused() -> None:
    old = mailgun_signature(KEY, NOW - dt.timedelta(minutes=6))
    with pytest.raises(PayloadRejected, match="replay window"):
        check_mailgun_signature(old, KEY, NOW)
    check_mailgun_signature(old, KEY, NOW - dt.timedelta(minutes=2))


@pytest.mark.parametrize(
    ("severity", "event", "kind"),
    [
        ("permanent", "failed", "hard"),
        ("temporary", "failed", "soft"),
        ("", "complained", "complaint"),
    ],
)
def test_mailgun_events(severity: str, event: str, kind: str) -> None:
    report = mailgun_report({"event-data": mailgun_failure("Gone@example.org", severity, event)})
    [found] = report.events
    assert (found.kind, found.recipient, found.detector) == (kind, "gone@example.org", "mailgun")
    assert report.key == report_key("mailgun", "G9Bn5sl1TC6nu79C8C0bwg")
    assert report.message_id == "<20260430.1@digest.test>"


def test_mailgun_deliveries_and_opens_are_no_events() -> None:
    assert (
        mailgun_report({"event-data": mailgun_failure("a@b.org", event="delivered")}).events == ()
    )
    assert mailgun_report({}).events == ()
