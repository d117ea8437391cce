"""Optional DKIM signing (dkimpy) of the bytes :mod:`digest.render.mime` builds.

The signature covers the headers a receiver judges a list mail by: who sent it, to whom, what it
says it is, and the one-click unsubscribe headers (RFC 8058 wants List-Unsubscribe and
List-Unsubscribe-Post signed, or Gmail ignores them). Relaxed canonicalization survives the
refolding relays do. The key is read once per process, not once per email.
"""

from __future__ import annotations

import functools
from pathlib import Path

SIGNED_HEADERS = (
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"List-Id",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
    b"Feedback-ID",
    b"MIME-Version",
    b"Content-Type",
)


class DkimSigner:
    """Signs whole messages for one ``domain`` with one ``selector`` and PEM private key."""

    def __init__(self, *, private_key: bytes, selector: str, domain: str) -> None:
        self.private_key = private_key
        self.selector = selector.encode("ascii")
        self.domain = domain.encode("ascii")

    def sign(self, message: bytes) -> bytes:
        """``message`` with a DKIM-Signature header in front."""
        import dkim  # here: dkimpy and dnspython cost every process 30 ms to import

        signature = dkim.sign(
            message,
            self.selector,
            self.domain,
            self.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )
        return bytes(signature) + message


@functools.lru_cache(maxsize=4)
def signer_from_file(key_file: Path, selector: str, domain: str) -> DkimSigner:
    """The signer for the configured key, read from disk the first time only."""
    return DkimSigner(private_key=key_file.read_bytes(), selector=selector, domain=domain)
