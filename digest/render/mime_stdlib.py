"""The reference MIME builder: the message :mod:`digest.render.mime` builds, via EmailMessage.

Kept beside the hand-built path, which is about ten times faster, for two reasons: tests check
that both parse back to the same headers and parts, and ``bench/deliver.py`` measures one
against the other. Same arguments, same contract as :func:`digest.render.mime.build_message`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from email.message import EmailMessage
from email.policy import SMTP

from digest.models import RenderedEmail

# refold_source="none": headers stored with set_raw (the machine-read list headers) go out as
# given; the stdlib would otherwise RFC 2047-encode a long URL, which no provider decodes.
POLICY = SMTP.clone(cte_type="7bit", refold_source="none")


def build_message_stdlib(
    rendered: RenderedEmail,
    *,
    sender: str,
    recipient: str,
    message_id: str,
    date: dt.datetime,
    list_id: str,
    unsubscribe_url: str,
    unsubscribe_mailto: str,
    feedback_id: str,
) -> bytes:
    """The wire bytes of one email, with the list headers RFC 2369/8058 one-click needs.

    The same arguments give the same bytes (the MIME boundary comes from ``message_id``).
    """
    if not unsubscribe_url.startswith(("https://", "http://")):
        raise ValueError("unsubscribe_url must be an http(s) URL")
    if not unsubscribe_mailto.startswith("mailto:"):
        unsubscribe_mailto = f"mailto:{unsubscribe_mailto}"
    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = " ".join(rendered.subject.split())
    message["Date"] = date
    _set_verbatim(message, "Message-ID", message_id)
    _set_verbatim(message, "List-Id", list_id)
    _set_verbatim(message, "List-Unsubscribe", f"<{unsubscribe_url}>,\r\n <{unsubscribe_mailto}>")
    _set_verbatim(message, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    _set_verbatim(message, "Feedback-ID", feedback_id)
    message.set_content(rendered.text, subtype="plain", charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    boundary = "=_" + hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:40]
    if boundary not in rendered.text and boundary not in rendered.html:
        message.set_boundary(boundary)  # the same delivery gives the same bytes
    return message.as_bytes(policy=POLICY)


def _set_verbatim(message: EmailMessage, name: str, value: str) -> None:
    """Store a header exactly as written (folded only where ``value`` has CRLF + space).

    A non-ASCII value (a list name in List-Id) goes through the normal RFC 2047 encoding.
    """
    lines = value.split("\r\n")
    if any(c in line for line in lines for c in "\r\n"):
        raise ValueError(f"{name} must not contain bare line breaks: {value!r}")
    if any(not line.startswith((" ", "\t")) for line in lines[1:]):
        raise ValueError(f"{name} continuation lines must start with a space: {value!r}")
    if not value.isascii():
        message[name] = " ".join(value.split())
    elif any(len(line) > 990 for line in lines):
        raise ValueError(f"{name} is longer than a header line may be")
    else:
        message.set_raw(name, value)
