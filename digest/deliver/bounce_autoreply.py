"""Pure: is a message an auto-reply (out-of-office, vacation, "thanks for your mail")?

Such replies say nothing about whether the address works, so they are never counted as
bounces (listmonk's tracker counted them). The signals, by how much they can be trusted:
RFC 3834's Auto-Submitted (anything but "no"), the vendor headers X-Autoreply, X-Autorespond
and X-Auto-Response-Suppress, ``Precedence: auto_reply``, and then subjects in the words mail
clients use. A mail from a mailer daemon is never taken for one: bounces carry
``Auto-Submitted: auto-replied`` too.
"""

from __future__ import annotations

import re
from email.header import decode_header, make_header
from email.message import Message

_DAEMON = re.compile(r"mailer-daemon|postmaster|mail delivery", re.IGNORECASE)
_VENDOR_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-auto-response-suppress")
_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[ -]?(?:reply|response|antwort)|auto:|autoreply|out of (?:the )?office"
    r"|abwesenheit|réponse automatique|r[ée]ponse automatique|absence|on vacation|vacation"
    r"|away from (?:the |my )?office|respuesta automática|risposta automatica)",
    re.IGNORECASE,
)


def decoded_subject(message: Message) -> str:
    """The Subject with RFC 2047 encoded-words decoded; empty when missing or unreadable."""
    raw = message.get("subject")
    if raw is None:
        return ""
    try:
        return " ".join(str(make_header(decode_header(str(raw)))).split())
    except (LookupError, ValueError, UnicodeError):
        return " ".join(str(raw).split())


def is_auto_reply(message: Message) -> bool:
    if _DAEMON.search(str(message.get("from") or "")):
        return False
    submitted = str(message.get("auto-submitted") or "").strip().lower()
    if submitted and not submitted.startswith("no"):
        return True
    if any(message.get(name) is not None for name in _VENDOR_HEADERS):
        return True
    if str(message.get("precedence") or "").strip().lower() == "auto_reply":
        return True
    return bool(_SUBJECT.search(decoded_subject(message)))
