"""DKIM: a signed digest verifies against the public key, and the signature covers what it must."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import dkim
import pytest

from digest.render.dkim_sign import SIGNED_HEADERS, DkimSigner
from tests.unit.test_mime import SAMPLE, build

pytestmark = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="openssl is needed to generate a test RSA key"
)


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """(PEM private key, DNS TXT record) for a fresh 2048-bit key."""
    folder: Path = tmp_path_factory.mktemp("dkim")
    private = folder / "private.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True
    )
    public_der = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public_der)
    return private.read_bytes(), record


def dns_for(record: bytes):  # type: ignore[no-untyped-def]
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"s2026._domainkey.digest.example." else None

    return lookup


def signed(private: bytes) -> bytes:
    return DkimSigner(private_key=private, selector="s2026", domain="digest.example").sign(
        build(SAMPLE)
    )


def test_signed_digest_verifies_with_the_published_key(key_pair: tuple[bytes, bytes]) -> None:
    private, record = key_pair
    assert dkim.verify(signed(private), dnsfunc=dns_for(record))


def test_signature_covers_sender_subject_and_one_click_headers(
    key_pair: tuple[bytes, bytes],
) -> None:
    data = signed(private=key_pair[0])
    field = data.split(b"\r\n\r\n", 1)[0].split(b"DKIM-Signature:", 1)[1]
    field = b"".join(field.split(b"\r\n ")).split(b"\r\n", 1)[0]
    tags = dict(tag.strip().split(b"=", 1) for tag in field.split(b";") if b"=" in tag)
    covered = {name.strip().lower() for name in tags[b"h"].split(b":")}
    for header in (b"from", b"to", b"subject", b"date", b"message-id"):
        assert header in covered
    assert {b"list-unsubscribe", b"list-unsubscribe-post"} <= covered
    assert {h.lower() for h in SIGNED_HEADERS} <= covered
    assert tags[b"d"] == b"digest.example" and tags[b"s"] == b"s2026"


def test_changing_a_signed_header_breaks_the_signature(key_pair: tuple[bytes, bytes]) -> None:
    private, record = key_pair
    tampered = signed(private).replace(
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: nope"
    )
    assert not dkim.verify(tampered, dnsfunc=dns_for(record))
