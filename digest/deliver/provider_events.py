"""What a sending provider reports (SES through SNS, Mailgun webhooks) as our bounce events.

Pure: verified payload in, :class:`ProviderEvent` values out, mapped to the same kinds the
bounce mailbox yields: ``hard`` (SES Permanent, Mailgun permanent failure), ``soft`` (SES
Transient, Mailgun temporary failure), ``complaint``; an SES Undetermined bounce is
``unknown`` (kept, never acted on). Each event carries the provider's own id for it, so the
same report delivered twice is recorded once. Mailgun's signature is checked here too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal

EventKind = Literal["hard", "soft", "complaint", "unknown"]
MAILGUN_WINDOW = dt.timedelta(minutes=5)
SES_BOUNCE_KINDS: dict[str, EventKind] = {"Permanent": "hard", "Transient": "soft"}
MAILGUN_SEVERITY: dict[str, EventKind] = {"permanent": "hard", "temporary": "soft"}


class PayloadRejected(Exception):
    """A payload that is unsigned, badly signed, stale or malformed: the sender gets 403."""


@dataclass(frozen=True)
class ProviderEvent:
    kind: EventKind
    recipient: str
    provider: str  # "ses" or "mailgun"
    reference: str  # the provider's id for this event and recipient: the idempotency key
    status: str  # an enhanced status code (5.1.1), or the complaint's feedback type
    detail: str  # the diagnostic text, for people
    message_id: str | None  # the Message-ID of the message it is about, when given


def ses_events(message: str) -> list[ProviderEvent]:
    """The events in an SES notification (the SNS Message), or in an SES event-publishing one."""
    data = _object(message)
    kind = data.get("notificationType") or data.get("eventType")
    mail = _dict(data.get("mail"))
    message_id = _header(mail, "Message-ID") or _text(mail.get("messageId")) or None
    if kind == "Bounce":
        bounce = _dict(data.get("bounce"))
        event_kind = SES_BOUNCE_KINDS.get(_text(bounce.get("bounceType")), "unknown")
        return [
            ProviderEvent(
                kind=event_kind,
                recipient=_text(item.get("emailAddress")),
                provider="ses",
                reference=f"ses:{_text(bounce.get('feedbackId'))}:{_text(item.get('emailAddress'))}",
                status=_text(item.get("status")),
                detail=_text(item.get("diagnosticCode"))
                or f"{bounce.get('bounceType')} {bounce.get('bounceSubType')}",
                message_id=message_id,
            )
            for item in _items(bounce.get("bouncedRecipients"))
        ]
    if kind == "Complaint":
        complaint = _dict(data.get("complaint"))
        feedback = _text(complaint.get("complaintFeedbackType")) or "complaint"
        return [
            ProviderEvent(
                kind="complaint",
                recipient=_text(item.get("emailAddress")),
                provider="ses",
                reference=f"ses:{_text(complaint.get('feedbackId'))}:{_text(item.get('emailAddress'))}",
                status=feedback,
                detail=_text(complaint.get("userAgent")) or "complaint reported by the mailbox",
                message_id=message_id,
            )
            for item in _items(complaint.get("complainedRecipients"))
        ]
    return []  # deliveries, sends, opens: nothing for the bounce policy


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


def mailgun_events(payload: dict[str, Any]) -> list[ProviderEvent]:
    """The event of a (verified) Mailgun webhook: failed (permanent, temporary) or complained."""
    data = _dict(payload.get("event-data"))
    event, recipient = _text(data.get("event")), _text(data.get("recipient"))
    if event == "failed":
        kind = MAILGUN_SEVERITY.get(_text(data.get("severity")), "unknown")
    elif event == "complained":
        kind = "complaint"
    else:
        return []
    status = _dict(data.get("delivery-status"))
    headers = _dict(_dict(data.get("message")).get("headers"))
    message_id = _text(headers.get("message-id")) or None
    return [
        ProviderEvent(
            kind=kind,
            recipient=recipient,
            provider="mailgun",
            reference=f"mailgun:{_text(data.get('id'))}",
            status=_text(status.get("enhanced-code")) or _text(status.get("code")) or event,
            detail=_text(status.get("description")) or _text(status.get("message")) or event,
            message_id=f"<{message_id.strip('<>')}>" if message_id else None,
        )
    ]


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
