"""RenderedEmail → the exact bytes of one RFC 5322 message, written by hand for speed.

The stdlib's ``EmailMessage`` spends most of a digest's build on header objects and policy
checks: ``bench/deliver.py`` renders and builds its sample digest in 0.47 ms with this module
against 3.27 ms with :mod:`digest.render.mime_stdlib` (``email_build_vs_stdlib`` 7.0, 2,000
subscribers, 2026-12-04), which is kept as the reference the tests compare against.

The message is multipart/alternative (text/plain first, then text/html), UTF-8, with CRLF line
endings: a body that is ASCII with lines within RFC 5322's 998 characters goes as 7bit, anything
else as quoted-printable, so the bytes suit any SMTP server, with or without 8BITMIME. (The
renderer writes the HTML part as ASCII, with character references, and the templates keep its
lines short (one button a line), so it goes as 7bit: quoting it was the largest cost of building
a message.) The header lines come from
:mod:`digest.render.headers`. Dot-stuffing is the SMTP client's job, not this module's.
"""

from __future__ import annotations

import binascii
import datetime as dt
import email
import email.policy
import hashlib
from collections.abc import Mapping, Sequence
from email.message import EmailMessage

from digest.models import RenderedEmail
from digest.render.headers import message_head

_MAX_BODY_LINE = 998  # RFC 5322: characters before CRLF


def build_message(
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
    parts: tuple[bytes, bytes] | None = None,
) -> bytes:
    """The wire bytes of one email, with the list headers RFC 2369/8058 one-click needs.

    The same arguments give the same bytes (the MIME boundary comes from ``message_id``).
    Raises ValueError for a header value that would inject a line or break the line limit.
    ``parts``, when given, are the text and HTML parts of ``rendered`` as :class:`PartTemplate`
    encoded them, so they are not encoded again.
    """
    text = _normalise_body(rendered.text)
    html = _normalise_body(rendered.html)
    boundary = _boundary(message_id, text, html)
    head = message_head(
        sender=sender,
        recipient=recipient,
        subject=rendered.subject,
        date=date,
        message_id=message_id,
        list_id=list_id,
        unsubscribe_url=unsubscribe_url,
        unsubscribe_mailto=unsubscribe_mailto,
        feedback_id=feedback_id,
        boundary=boundary,
    )
    if parts is None:
        parts = (_part("plain", text), _part("html", html))
    delimiter = b"\r\n--" + boundary.encode("ascii")
    return b"".join(
        (head.encode("utf-8"), b"\r\n", delimiter, b"\r\n", parts[0])
        + (delimiter, b"\r\n", parts[1], delimiter, b"--\r\n")
    )


def _boundary(message_id: str, text: str, html: str) -> str:
    """From the Message-ID, so a retry gives the same bytes; another if a body holds it."""
    boundary = "=_" + hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:40]
    if boundary in text or boundary in html:  # only a 7bit body could contain "=_"
        boundary = "=_" + hashlib.sha256((boundary + text + html).encode("utf-8")).hexdigest()
    return boundary


def _normalise_body(text: str) -> str:
    """Newline line ends and a final newline, as the stdlib's ``set_content`` gives."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


def _part(subtype: str, body: str) -> bytes:
    if _fits_7bit(body):
        return _part_head(subtype, "7bit") + _seven_bit(body)
    return _part_head(subtype, "quoted-printable") + _quoted_printable(body)


def _part_head(subtype: str, encoding: str) -> bytes:
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode("ascii")


def _quoted_printable(text: str) -> bytes:
    """Quoted-printable with CRLF line ends. Line by line, it gives the same bytes as whole,
    since the encoder looks no further than the line end (trailing spaces, lone dots)."""
    encoded = binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True, header=False)
    return encoded.replace(b"\n", b"\r\n")


def _fits_7bit(text: str) -> bool:
    """ASCII, and no line longer than SMTP allows: the text can go as 7bit."""
    return text.isascii() and max(map(len, text.split("\n"))) <= _MAX_BODY_LINE


class PartTemplate:
    """One text part for many messages that differ only in a few slots (their link tokens).

    ``pieces`` alternate text and slot names, as ``re.split`` with one group gives them. The
    runs of lines without a slot are encoded once; per message only the lines holding a slot
    are, with the very same bytes as ``_part`` gives for the filled body (the unit tests
    compare them).

    What it buys: ``bench/deliver.py`` times both parts of its 41 KB sample digest for one more
    subscriber (``part_template_us`` against ``part_whole_us``): 70 µs against 102 µs (1.46×)
    in a run at 2,000 subscribers on 2026-12-04: 32 µs saved a message, against the 2 ms a
    message took in that run's delivery (505 messages/s on SQLite, ``sqlite_msgs_s``). It pays
    only from a rendering's second subscriber on (see ``compose.DigestRenders``).
    """

    def __init__(self, subtype: str, pieces: Sequence[str]) -> None:
        self._subtype = subtype
        self._pieces = list(pieces)
        self._names = frozenset(pieces[1::2])
        runs, self._slot_lines = _lines_of(pieces)
        self._fixed_fit_7bit = all(map(_fits_7bit, runs))
        # Only the encoding the fixed lines lead to is kept (memory: a run's renderings are
        # cached); a token that forces the other one has it encoded then.
        likely = "7bit" if self._fixed_fit_7bit else "quoted-printable"
        self._encoded = {likely: _encoded_runs(runs, likely)}

    def encode(self, slots: Mapping[str, str]) -> bytes:
        """The part (headers and body) with every slot replaced by ``slots[name]``."""
        values = [slots[name] for name in self._names]
        if not all(value and "\r" not in value and "\n" not in value for value in values):
            # Such a value changes the lines ("\r" + "" + "\n" is one line end): encode it all.
            text = "".join(slots[p] if i % 2 else p for i, p in enumerate(self._pieces))
            return _part(self._subtype, _normalise_body(text))
        filled = []
        for pieces in self._slot_lines:
            with_values = pieces.copy()
            with_values[1::2] = [slots[name] for name in pieces[1::2]]
            filled.append("".join(with_values))
        if self._fixed_fit_7bit and all(map(_fits_7bit, filled)):
            encoding, lines = "7bit", [line.encode("ascii") + b"\r\n" for line in filled]
        else:
            encoding, lines = "quoted-printable", _quoted_printable_lines(filled)
        if encoding not in self._encoded:
            self._encoded[encoding] = _encoded_runs(_lines_of(self._pieces)[0], encoding)
        runs = self._encoded[encoding]
        body = [runs[0]]
        for encoded, run in zip(lines, runs[1:], strict=True):
            body += (encoded, run)
        return _part_head(self._subtype, encoding) + b"".join(body)


def _lines_of(pieces: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """The body's lines as _normalise_body leaves them: the text of the lines without a slot
    before, between and after the lines with one (each line ending in "\\n"), and the lines
    with slots, as pieces."""
    runs: list[list[str]] = [[]]
    slot_lines: list[list[str]] = []

    def end_line(line: list[str]) -> None:
        if len(line) == 1:
            runs[-1].append(line[0] + "\n")
        else:
            slot_lines.append(line)
            runs.append([])

    current: list[str] = []
    for index, piece in enumerate(pieces):
        if index % 2 or "\n" not in (piece := _normalise_line_ends(piece)):
            current.append(piece)  # a slot, or text within the line
            continue
        first, rest = piece.split("\n", 1)
        end_line([*current, first])
        whole_lines, newline, current_start = rest.rpartition("\n")
        if newline:
            runs[-1].append(whole_lines + newline)
        current = [current_start]
    if len(current) > 1 or current[0] or not (slot_lines or runs[0]):
        end_line(current)  # _normalise_body adds the final newline
    return ["".join(run) for run in runs], slot_lines


def _encoded_runs(runs: list[str], encoding: str) -> list[bytes]:
    return [_seven_bit(run) if encoding == "7bit" else _quoted_printable(run) for run in runs]


def _quoted_printable_lines(lines: Sequence[str]) -> list[bytes]:
    """Each line quoted-printable with its CRLF, encoded in one call.

    A "=" at the end of an encoded piece is a soft break inside the line: a "=" of the text
    itself is always encoded as =3D.
    """
    if not lines:
        return []
    encoded: list[bytes] = []
    soft_broken = b""
    for piece in _quoted_printable("\n".join(lines) + "\n").split(b"\r\n")[:-1]:
        if piece.endswith(b"="):
            soft_broken += piece + b"\r\n"
        else:
            encoded.append(soft_broken + piece + b"\r\n")
            soft_broken = b""
    return encoded


def _seven_bit(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("ascii")


def _normalise_line_ends(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def parts_of(data: bytes) -> tuple[str, str]:
    """(text, html) decoded from message bytes, as a mail client reads them (for `preview`)."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    if not isinstance(text, EmailMessage) or not isinstance(html, EmailMessage):
        raise ValueError("not a multipart/alternative message with text and HTML parts")
    return str(text.get_content()), str(html.get_content())
