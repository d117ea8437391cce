"""Header values of one message, each checked and encoded as RFC 5322 and RFC 2047 want them.

Non-ASCII header text becomes RFC 2047 encoded-words. The machine-read list headers go out
exactly as written (no one decodes a long URL split into encoded-words). A value that would
inject a line or break the line limit raises ValueError rather than going out mangled.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from email.utils import format_datetime, parseaddr

_MAX_LINE = 78
_WORD_BYTES = 45  # 45 bytes → 60 base64 chars: one encoded-word stays under 75 characters


def make_message_id(domain: str, *parts: str) -> str:
    """'<digest.<hash>@domain>', the same for the same parts: a retried delivery keeps its id."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]
    return f"<digest.{digest}@{domain}>"


def message_head(
    *,
    sender: str,
    recipient: str,
    subject: str,
    date: dt.datetime,
    message_id: str,
    list_id: str,
    unsubscribe_url: str,
    unsubscribe_mailto: str,
    feedback_id: str,
    boundary: str,
) -> str:
    """The header lines of a list message, CRLF between them, with the list headers RFC
    2369/8058 one-click needs; ``boundary`` is that of its multipart/alternative body."""
    if not unsubscribe_url.startswith(("https://", "http://")):
        raise ValueError("unsubscribe_url must be an http(s) URL")
    if not unsubscribe_mailto.startswith("mailto:"):
        unsubscribe_mailto = f"mailto:{unsubscribe_mailto}"
    unsubscribe = f"<{unsubscribe_url}>,\r\n <{unsubscribe_mailto}>"
    headers = [
        "From: " + address_header(sender),
        "To: " + address_header(recipient),
        "Subject: " + subject_header(subject),
        "Date: " + format_datetime(date),
        "Message-ID: " + verbatim_header("Message-ID", message_id),
        "List-Id: " + phrase_then_angle("List-Id", list_id),
        "List-Unsubscribe: " + verbatim_header("List-Unsubscribe", unsubscribe),
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "Feedback-ID: " + verbatim_header("Feedback-ID", feedback_id),
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    return "\r\n".join(headers)


def encoded_words(text: str) -> str:
    """RFC 2047 'B' encoded-words, folded, each under 75 characters and whole UTF-8 characters."""
    words: list[str] = []
    chunk = bytearray()
    for char in text:
        data = char.encode("utf-8")
        if len(chunk) + len(data) > _WORD_BYTES:
            words.append(_b_word(bytes(chunk)))
            chunk.clear()
        chunk += data
    if chunk:
        words.append(_b_word(bytes(chunk)))
    return "\r\n ".join(words)


def _b_word(data: bytes) -> str:
    return "=?utf-8?b?" + base64.b64encode(data).decode("ascii") + "?="


def subject_header(subject: str, name_length: int = 9) -> str:
    """The subject, whitespace collapsed, folded at spaces; encoded-words when not plain ASCII."""
    subject = " ".join(subject.split())
    words = subject.split(" ")
    if not subject.isascii() or "=?" in subject or any(len(word) > 900 for word in words):
        return encoded_words(subject)
    lines: list[str] = []
    line, used = "", name_length
    for word in words:
        if line and used + len(line) + 1 + len(word) > _MAX_LINE:
            lines.append(line)
            line, used = "", 0
        line = f"{line} {word}" if line else word
    lines.append(line)
    return "\r\n ".join(lines)


def address_header(value: str) -> str:
    """An address as given when ASCII; a non-ASCII display name becomes encoded-words.

    A non-ASCII mailbox itself is left as UTF-8: only an SMTPUTF8 server can take it, and the
    transport checks that before sending.
    """
    _refuse_line_breaks("address", value)
    if value.isascii():
        return value
    name, address = parseaddr(value)
    if not address:
        return value
    return f"{encoded_words(name)} <{address}>" if name else address


def phrase_then_angle(name: str, value: str) -> str:
    """'List name <list.id>': a non-ASCII phrase is encoded, the angle part stays verbatim."""
    if value.isascii():
        return verbatim_header(name, value)
    phrase, bracket, rest = value.partition("<")
    if not bracket or not rest.isascii():
        raise ValueError(f"{name} must end with an ASCII <id>: {value!r}")
    _refuse_line_breaks(name, value)
    return f"{encoded_words(' '.join(phrase.split()))} <{rest}"


def verbatim_header(name: str, value: str) -> str:
    """An ASCII value exactly as written (folded only where ``value`` has CRLF + space)."""
    lines = value.split("\r\n")
    if any(c in line for line in lines for c in "\r\n"):
        raise ValueError(f"{name} must not contain bare line breaks: {value!r}")
    if any(not line.startswith((" ", "\t")) for line in lines[1:]):
        raise ValueError(f"{name} continuation lines must start with a space: {value!r}")
    if not value.isascii():
        raise ValueError(f"{name} must be ASCII: {value!r}")
    if any(len(line) > 990 - len(name) for line in lines):
        raise ValueError(f"{name} is longer than a header line may be")
    return value


def _refuse_line_breaks(name: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ValueError(f"{name} must not contain line breaks: {value!r}")
