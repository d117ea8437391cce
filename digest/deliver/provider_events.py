"""What a sending provider reports (SES through SNS, Mailgun webhooks) as our bounce events.

Pure: verified payload in, a :class:`ProviderReport` of :class:`BounceEvent` values out, the
same kinds the bounce mailbox yields: ``hard`` (SES Permanent, Mailgun permanent failure),
``soft`` (SES Transient, Mailgun temporary failure), ``complaint``; an SES Undetermined
bounce is ``unknown`` (kept, never acted on). The report's key is the provider's own id for
the notification, so the same one delivered twice is recorded once. A VERP id in the
envelope sender the provider quotes names the delivery; without one, the (signed) recipient
names the subscriber. Mailgun's signature is checked here too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

from digest.deliver.bounce_classify import BounceEvent, Kind
from digest.deliver.verp import find_signed_ids

MAILGUN_WINDOW = dt.timedelta(minutes=5)
SES_BOUNCE_KINDS: dict[str, Kind] = {"Permanent": "hard", "Transient": "soft"}
MAILGUN_SEVERITY: dict[str, Kind] = {"permanent": "hard", "temporary": "soft"}


class PayloadRejected(Exception):
    """A payload that is unsigned, badly signed, stale or malformed: the sender gets 403."""


@dataclasses.dataclass(frozen=True)
class ProviderReport:
    """One notification: its key (the provider's id, hashed), the message it is about, events."""

    key: str
    message_id: str | None
    events: tuple[BounceEvent, ...]


def report_key(provider: str, notification_id: str) -> str:
    return hashlib.sha256(f"{provider}:{notification_id}".encode()).hexdigest()


def ses_report(notification_id: str, message: str) -> ProviderReport:
    """The events of an SES notification (the SNS Message), or of an SES event-publishing one."""
    data = _object(message)
    kind = data.get("notificationType") or data.get("eventType")
    mail = _dict(data.get("mail"))
    message_id = _header(mail, "Message-ID") or _text(mail.get("messageId")) or None
    verp_ids = tuple(find_signed_ids(f"{_text(mail.get('source'))} {_header(mail, 'Return-Path')}"))
    events: list[BounceEvent] = []
    if kind == "Bounce":
        bounce = _dict(data.get("bounce"))
        bounce_kind = SES_BOUNCE_KINDS.get(_text(bounce.get("bounceType")), "unknown")
        events = [
            BounceEvent(
                kind=bounce_kind,
                recipient=_text(item.get("emailAddress")).lower(),
                verp_ids=verp_ids,
                status=_text(item.get("status")) or None,
                diagnostic=_text(item.get("diagnosticCode"))
                or f"{_text(bounce.get('bounceType'))} {_text(bounce.get('bounceSubType'))}",
                detector="ses",
            )
            for item in _items(bounce.get("bouncedRecipients"))
        ]
    elif kind == "Complaint":
        complaint = _dict(data.get("complaint"))
        events = [
            BounceEvent(
                kind="complaint",
                recipient=_text(item.get("emailAddress")).lower(),
                verp_ids=verp_ids,
                status=None,
                diagnostic=_text(complaint.get("complaintFeedbackType")) or "complaint",
                detector="ses",
            )
            for item in _items(complaint.get("complainedRecipients"))
        ]
    # Deliveries, sends, opens: nothing for the bounce policy, and no events.
    return ProviderReport(report_key("ses", notification_id), message_id, tuple(events))


def check_mailgun_signature(
    signature: Any, signing_key: str, now: dt.datetime, window: dt.timedelta = MAILGUN_WINDOW
) -> None:
    """Mailgun signs ``timestamp + token`` with HMAC-SHA256; a stale timestamp is a replay."""
    if not isinstance(signature, dict):
        raise PayloadRejected("no signature")
    timestamp, token, digest = (
        _text(signature.get(name)) for name in ("timestamp", "token", "signature")
    )
    if not (timestamp.isdigit() and token and digest):
        raise PayloadRejected("incomplete signature")
    expected = hmac.new(
        signing_key.encode(), (timestamp + token).encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, digest.lower()):
        raise PayloadRejected("bad signature")
    signed_at = dt.datetime.fromtimestamp(int(timestamp), dt.UTC)
    if abs(now - signed_at) > window:
        raise PayloadRejected(f"timestamp {timestamp} is outside the replay window")


def mailgun_report(payload: dict[str, Any]) -> ProviderReport:
    """The event of a (verified) Mailgun webhook: failed (permanent, temporary) or complained."""
    data = _dict(payload.get("event-data"))
    event = _text(data.get("event"))
    headers = _dict(_dict(data.get("message")).get("headers"))
    message_id = _text(headers.get("message-id")).strip("<>")
    notification = _text(data.get("id")) or _text(_dict(payload.get("signature")).get("token"))
    report = ProviderReport(
        report_key("mailgun", notification), f"<{message_id}>" if message_id else None, ()
    )
    if event == "failed":
        kind = MAILGUN_SEVERITY.get(_text(data.get("severity")), "unknown")
    elif event == "complained":
        kind = "complaint"
    else:
        return report  # deliveries, opens, clicks: no events
    status = _dict(data.get("delivery-status"))
    found = BounceEvent(
        kind=kind,
        recipient=_text(data.get("recipient")).lower() or None,
        verp_ids=tuple(find_signed_ids(_text(_dict(data.get("envelope")).get("sender")))),
        status=_text(status.get("enhanced-code")) or None,
        diagnostic=_text(status.get("description")) or _text(status.get("message")) or event,
        detector="mailgun",
    )
    return dataclasses.replace(report, events=(found,))


def parse_json_object(body: bytes) -> dict[str, Any]:
    """A request body that must be one JSON object."""
    try:
        return _object(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise PayloadRejected("the body is not UTF-8") from None


def _object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        raise PayloadRejected("not JSON") from None
    if not isinstance(data, dict):
        raise PayloadRejected("not a JSON object")
    return data


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[dict[str, Any]]:
    """The recipient objects of a list, those with an address only."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict) and _text(item.get("emailAddress"))]


def _text(value: Any) -> str:
    return str(value).strip() if isinstance(value, str | int | float) else ""


def _header(mail: dict[str, Any], name: str) -> str:
    """One header of SES's ``mail.headers`` list (present when the identity includes them)."""
    for header in mail.get("headers") or []:
        if isinstance(header, dict) and _text(header.get("name")).lower() == name.lower():
            return _text(header.get("value"))
    return ""
