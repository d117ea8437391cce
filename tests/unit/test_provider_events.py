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
    mailgun_events,
    ses_events,
)
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


@pytest.mark.parametrize(("bounce_type", "kind"), [("Permanent", "hard"), ("Transient", "soft"),
                                                   ("Undetermined", "unknown")])  # fmt: skip
def test_ses_bounce_types(bounce_type: str, kind: str) -> None:
    [event] = ses_events(json.dumps(ses_bounce("gone@example.org", bounce_type)))
    assert (event.kind, event.recipient, event.provider) == (kind, "gone@example.org", "ses")
    assert event.reference == "ses:fb-1:gone@example.org"
    assert (event.status, event.message_id) == ("5.1.1", "ses-message-1")


def test_ses_complaint_is_a_complaint_not_a_bounce() -> None:
    [event] = ses_events(json.dumps(ses_complaint("reader@example.org")))
    assert (event.kind, event.recipient, event.status) == (
        "complaint",
        "reader@example.org",
        "abuse",
    )


def test_ses_event_publishing_format_is_read_too() -> None:
    payload = ses_bounce("gone@example.org")
    payload["eventType"] = payload.pop("notificationType")
    assert [e.kind for e in ses_events(json.dumps(payload))] == ["hard"]


def test_ses_bounce_with_several_recipients_gives_one_event_each() -> None:
    payload = ses_bounce("a@example.org")
    payload["bounce"]["bouncedRecipients"].append({"emailAddress": "b@example.org"})
    assert [e.recipient for e in ses_events(json.dumps(payload))] == [
        "a@example.org",
        "b@example.org",
    ]


def test_ses_delivery_notifications_are_no_events() -> None:
    assert ses_events(json.dumps({"notificationType": "Delivery", "mail": {}})) == []


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
    [found] = mailgun_events({"event-data": mailgun_failure("gone@example.org", severity, event)})
    assert (found.kind, found.recipient, found.provider) == (kind, "gone@example.org", "mailgun")
    assert found.reference == "mailgun:G9Bn5sl1TC6nu79C8C0bwg"
    assert found.message_id == "<20260430.1@digest.test>"


def test_mailgun_deliveries_and_opens_are_no_events() -> None:
    assert mailgun_events({"event-data": mailgun_failure("a@example.org", event="delivered")}) == []
    assert mailgun_events({}) == []
