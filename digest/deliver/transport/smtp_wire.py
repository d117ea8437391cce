"""What an SMTP transaction puts on the wire: the envelope's paths and the dot-stuffed body."""

from __future__ import annotations

import functools
import re

from aiosmtplib.email import quote_address

_LINE_ENDINGS = re.compile(rb"\r\n|\n|\r(?!\n)")
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def smtp_path(address: str) -> str:
    """'<addr>' for MAIL FROM / RCPT TO, as aiosmtplib's ``quote_address`` makes it.

    A plain address is used as it is; anything else (a display name, non-ASCII) goes through
    aiosmtplib, which parses it. Its result is cached, since the sender (usually
    'Name <addr>') is the same for every message. Raises ValueError for a control character,
    which could smuggle in a command.
    """
    if _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return _quoted(address)


@functools.lru_cache(maxsize=256)
def _quoted(address: str) -> str:
    path = quote_address(address)
    if _CONTROL_CHARACTERS.search(path):
        raise ValueError(f"control character in address {address!r}")
    return path


def wire_body(data: bytes, crlf_only: bool = False) -> bytes:
    """The message as it travels after DATA: CRLF line ends, leading dots doubled, final dot.

    ``crlf_only`` data (built by :mod:`digest.render.mime`) is taken as it is. Other data is
    counted (C speed) first, so the regular expression runs only when some line end is not CRLF.
    """
    if not crlf_only:
        crlf = data.count(b"\r\n")
        if data.count(b"\r") != crlf or data.count(b"\n") != crlf:
            data = _LINE_ENDINGS.sub(b"\r\n", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    data = data.replace(b"\r\n.", b"\r\n..")  # every line end is CRLF now
    return (b"." if data.startswith(b".") else b"") + data + b".\r\n"
