"""Pure: one raw message that came back to the envelope sender becomes the events it reports.

In order: an RFC 5965 feedback report (ARF; ``abuse`` or ``fraud`` is a complaint), an RFC 3464
delivery report (per recipient: a failed 5.x.x is hard, 4.x.x or "delayed" is soft), an
auto-reply or out-of-office (ignored), a non-standard bounce that one of flufl.bounce's
detectors knows (Exim's classic text, qmail, old Exchange ...), and otherwise ``unknown``: kept
and reported, never acted on.

Each event carries the VERP ids (see :mod:`digest.deliver.verp`) found where a report names
its message: the report's own To / Delivered-To / X-Original-To (the envelope sender it came
back to), the DSN's Original-Envelope-Id, ARF's Original-Mail-From, the returned message's
headers (its Return-Path). They are not checked here: the caller verifies the signature.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from typing import Literal

from flufl.bounce import all_failures

from digest.deliver.bounce_autoreply import is_auto_reply
from digest.deliver.verp import find_signed_ids

Kind = Literal["hard", "soft", "complaint", "auto_reply", "unknown"]
KINDS: tuple[Kind, ...] = ("hard", "soft", "complaint", "auto_reply", "unknown")
ACTIONABLE = frozenset({"hard", "soft", "complaint"})
COMPLAINT_TYPES = frozenset({"abuse", "fraud"})  # RFC 5965 feedback types that are complaints
_ENVELOPE_HEADERS = ("delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "to")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_DIAGNOSTIC_LINE = re.compile(r"^\s*(?:[245]\d\d[ -]|.*\b[45]\.\d{1,3}\.\d{1,3}\b).*$", re.M)


@dataclass(frozen=True)
class BounceEvent:
    """One thing a report says about one recipient (or, for unknown mail, about nothing)."""

    kind: Kind
    recipient: str | None  # lowercased address, when the report names one
    verp_ids: tuple[str, ...]  # signed ids found, most authoritative first; unverified
    status: str | None = None  # enhanced status code such as "5.1.1"
    diagnostic: str | None = None  # the remote server's words, or what the report said
    detector: str = ""  # "arf", "dsn", "auto-reply", "flufl", "none"

    @property
    def verp_id(self) -> str | None:
        return self.verp_ids[0] if self.verp_ids else None

    @property
    def actionable(self) -> bool:
        return self.kind in ACTIONABLE


@dataclass(frozen=True)
class ParsedReport:
    """A raw message read: the Message-ID it carries (when any), its subject, its events."""

    message_id: str | None
    subject: str
    events: tuple[BounceEvent, ...]


def parse_message(raw: bytes) -> Message:
    """The stdlib's reading of ``raw``; it never raises, defects are recorded on the message."""
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def classify(raw: bytes) -> list[BounceEvent]:
    """The events ``raw`` reports, never empty (garbage is one ``unknown`` event)."""
    return list(read_report(raw).events)


def read_report(raw: bytes) -> ParsedReport:
    message = parse_message(raw)
    return ParsedReport(
        message_id=_header(message, "message-id") or None,
        subject=_header(message, "subject"),
        events=tuple(_events(message)),
    )


def _events(message: Message) -> list[BounceEvent]:
    report_type = message.get_param("report-type", header="content-type")
    report_type = report_type.lower() if isinstance(report_type, str) else ""
    if message.get_content_type() == "multipart/report" and report_type == "feedback-report":
        events = _feedback_report(message)
    elif message.get_content_type() == "multipart/report" and report_type == "delivery-status":
        events = _delivery_status(message)
    else:
        events = []
    if events:
        return events
    verp_ids = _verp_ids(message)
    if is_auto_reply(message):
        return [BounceEvent("auto_reply", _sender(message), verp_ids, detector="auto-reply")]
    events = _non_standard(message, verp_ids)
    return events or [BounceEvent("unknown", None, verp_ids, detector="none")]


def _feedback_report(message: Message) -> list[BounceEvent]:
    """ARF: the machine-readable part says the type; the returned message names the sender."""
    part = _first_part(message, ("message/feedback-report",))
    if part is None:
        return []
    fields = (_status_blocks(part) or [part])[0]
    feedback_type = (fields.get("feedback-type") or "").strip().lower()
    recipients = _addresses(fields.get_all("original-rcpt-to") or [])
    verp_ids = _verp_ids(message, fields.get_all("original-mail-from") or [])
    kind: Kind = "complaint" if feedback_type in COMPLAINT_TYPES else "unknown"
    diagnostic = f"feedback report: {feedback_type or 'no type'}"
    agent = fields.get("user-agent")
    if agent:
        diagnostic += f" from {' '.join(str(agent).split())}"
    named: list[str | None] = list(recipients) or [_original_recipient(message)]
    return [BounceEvent(kind, who, verp_ids, None, diagnostic, "arf") for who in named]


def _delivery_status(message: Message) -> list[BounceEvent]:
    """RFC 3464: one per-message block, then one block per recipient."""
    part = _first_part(message, ("message/delivery-status",))
    blocks = _status_blocks(part) if part is not None else []
    if not blocks:
        return []
    envelope_ids = blocks[0].get_all("original-envelope-id") or []
    verp_ids = _verp_ids(message, envelope_ids)
    events = []
    for block in blocks[1:]:
        event = _recipient_event(block, verp_ids)
        if event is not None:
            events.append(event)
    if not events and not any(b.get("final-recipient") for b in blocks[1:]):
        return []  # not a delivery report after all: let the other readers try
    return events or [BounceEvent("unknown", None, verp_ids, None, "no failure reported", "dsn")]


def _recipient_event(block: Message, verp_ids: tuple[str, ...]) -> BounceEvent | None:
    action = (block.get("action") or "").strip().lower()
    if action in ("delivered", "relayed", "expanded"):
        return None
    status_match = _STATUS.search(block.get("status") or "")
    status = ".".join(status_match.groups()) if status_match else None
    recipient = _addresses(block.get_all("final-recipient") or block.get_all("original-recipient"))
    diagnostic = " ".join(str(block.get("diagnostic-code") or "").split())
    diagnostic = diagnostic.split(";", 1)[-1].strip() if ";" in diagnostic[:12] else diagnostic
    if action == "delayed" or (status or "").startswith("4"):
        kind: Kind = "soft"
    elif action == "failed" or (status or "").startswith("5"):
        kind = "hard"
    else:
        kind = "unknown"
    return BounceEvent(
        kind, recipient[0] if recipient else None, verp_ids, status, diagnostic or None, "dsn"
    )


def _status_blocks(part: Message) -> list[Message]:
    """The field blocks of a message/delivery-status part, however the parser held them."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and all(isinstance(p, Message) for p in payload):
        return list(payload)
    text = payload if isinstance(payload, str) else ""
    chunks = [c for c in re.split(r"\r?\n\s*\r?\n", text.strip()) if c.strip()]
    return [
        email.message_from_string(chunk + "\n", policy=email.policy.compat32) for chunk in chunks
    ]


def _non_standard(message: Message, verp_ids: tuple[str, ...]) -> list[BounceEvent]:
    """What flufl.bounce's detectors find in a bounce that is no delivery report."""
    if not message.get("from"):  # every bounce names its sender; some detectors need it
        return []
    log = logging.getLogger("flufl.bounce")
    was_disabled, log.disabled = log.disabled, True  # it logs a traceback for each failure
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a detector choking on odd input: the message stays unknown
        return []
    finally:
        log.disabled = was_disabled
    body = _text(message)
    events = []
    for kind, found in (("hard", permanent), ("soft", temporary - permanent)):
        for recipient in sorted(_as_text(a).lower() for a in found):
            status, diagnostic = _status_near(body, recipient)
            if kind == "hard" and status and status.startswith("4"):
                kind = "soft"
            events.append(BounceEvent(kind, recipient, verp_ids, status, diagnostic, "flufl"))  # type: ignore[arg-type]
    return events


def _status_near(body: str, recipient: str) -> tuple[str | None, str | None]:
    """The enhanced status code and diagnostic line after the recipient's first mention."""
    start = max(body.lower().find(recipient), 0)
    line = _DIAGNOSTIC_LINE.search(body, start)
    if line is None:
        return None, None
    status = _STATUS.search(line.group(0))
    return (".".join(status.groups()) if status else None), " ".join(line.group(0).split())


def _verp_ids(message: Message, extra: Iterable[object] = ()) -> tuple[str, ...]:
    """Signed ids where a report names its message, the most authoritative first."""
    texts = [str(value) for value in extra]
    for name in _ENVELOPE_HEADERS:
        texts.extend(str(value) for value in message.get_all(name) or [])
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            texts.append(_returned_headers(part))
    found: list[str] = []
    for text in texts:
        found.extend(s for s in find_signed_ids(text) if s not in found)
    return tuple(found)


def _returned_headers(part: Message) -> str:
    """The header lines of a returned message (message/rfc822 or text/rfc822-headers)."""
    inner = part.get_payload()
    if isinstance(inner, list):
        return "\n".join(
            f"{name}: {value}" for m in inner if isinstance(m, Message) for name, value in m.items()
        )
    return _text(part)


def _first_part(message: Message, types: tuple[str, ...]) -> Message | None:
    for part in message.walk():
        if part.get_content_type() in types:
            return part
    return None


def _original_recipient(message: Message) -> str | None:
    """The To of the message a report returns, when it returns one."""
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                found = _addresses(inner[0].get_all("to") or [])
                return found[0] if found else None
    return None


def _sender(message: Message) -> str | None:
    found = _addresses(message.get_all("from") or [])
    return found[0] if found else None


_ADDRESS = re.compile(r"[^\s<>;:\"(),]+@[^\s<>;:\"(),]+")


def _addresses(values: Iterable[object] | None) -> list[str]:
    """Addresses in header values such as 'rfc822; ada@example.org' or 'Ada <ada@...>'."""
    found: list[str] = []
    for value in values or []:
        for address in _ADDRESS.findall(str(value)):
            address = address.strip(".").lower()
            if address not in found:
                found.append(address)
    return found


def _header(message: Message, name: str) -> str:
    value = message.get(name)
    return " ".join(str(value).split()) if value is not None else ""


def _as_text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _text(part: Message) -> str:
    """A part's text as far as it can be read (headers of an embedded message included)."""
    if part.is_multipart():
        return "\n".join(_text(p) for p in part.get_payload() if isinstance(p, Message))
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, "replace")
        except LookupError:
            return payload.decode("utf-8", "replace")
    return str(part.get_payload())
