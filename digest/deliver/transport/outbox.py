"""OutboxDir: write each message to a folder instead of sending it (operator flag, demos, tests).

Each message becomes ``<recipient>-<hash>.eml`` holding the exact bytes an SMTP server would be
given, plus ``<recipient>-<hash>.html`` with the HTML part for a browser. The name depends only
on the recipient and the Message-ID, so writing the same message again after a crash replaces
the file instead of adding a second one. Files are written to a temporary name in the same
folder and renamed, so a reader never sees half a message.
"""

from __future__ import annotations

import email
import hashlib
import os
import re
import tempfile
from pathlib import Path

from digest.deliver.transport.base import (
    ConcurrentTransport,
    OnDataStart,
    SendResult,
    data_starting,
)
from digest.models import OutgoingMessage

_UNSAFE = re.compile(r"[^a-z0-9._@+-]+")


def outbox_name(message: OutgoingMessage) -> str:
    """The file stem for ``message``: filesystem-safe recipient plus a short Message-ID hash."""
    recipient = _UNSAFE.sub("_", message.recipient.lower()).strip("._")[:64] or "recipient"
    digest = hashlib.sha256(message.message_id.encode("utf-8")).hexdigest()[:12]
    return f"{recipient}-{digest}"


def html_part(data: bytes) -> str | None:
    """The decoded text/html part of a MIME message, or None when it has none.

    Parsed with the compat32 policy: the default policy's header objects cost 4 ms a message,
    most of a confirm email's import (bench/imports.py, import_unconfirmed_rows_s); the part
    itself is found and decoded the same way.
    """
    parsed = email.message_from_bytes(data)
    for part in parsed.walk():
        if part.get_content_type() == "text/html" and not part.is_multipart():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return None


class OutboxDir(ConcurrentTransport):
    """A :class:`~digest.deliver.transport.base.Transport` that writes files: always ``sent``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(
        self, message: OutgoingMessage, on_data_start: OnDataStart | None = None
    ) -> SendResult:
        """Write ``message`` as .eml (and .html when it has an HTML part)."""
        self.path.mkdir(parents=True, exist_ok=True)
        stem = outbox_name(message)
        html = html_part(message.data)
        await data_starting(message, on_data_start)
        if html is not None:
            _write_atomically(self.path / f"{stem}.html", html.encode("utf-8"))
        eml = self.path / f"{stem}.eml"
        _write_atomically(eml, message.data)
        return SendResult(
            message_id=message.message_id,
            recipient=message.recipient,
            outcome="sent",
            code=None,
            detail=f"written to {eml}",
            data_started=True,
        )


def _write_atomically(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
