"""Amazon SNS messages (how SES reports bounces and complaints): verify, then trust.

A message is believed only when its signature verifies with the certificate at its
SigningCertURL, and that URL (like a SubscribeURL we confirm) is https on an SNS host
(``sns.<region>.amazonaws.com``). The signature proves SNS sent it, not that it is ours: any
AWS account can point a topic here, so only the configured topic ARNs are accepted.
The rule for URLs is a parameter so tests can serve their own certificate on loopback.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
MAX_CERTIFICATE_BYTES = 16 * 1024
CACHED_CERTIFICATES = 8

# The fields each message type signs, in this order (AWS's "verifying the signatures" guide).
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),  # fmt: skip
}
SIGNED_FIELDS["UnsubscribeConfirmation"] = SIGNED_FIELDS["SubscriptionConfirmation"]
HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}


class SnsRejected(Exception):
    """Not a message we believe: the reason is for the log, the sender gets 403."""


class UrlRule(Protocol):
    def allows(self, url: str) -> bool: ...


class SnsHosts:
    """Production's rule: https on port 443 of an SNS host, nothing else."""

    def allows(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return False
        return (
            parts.scheme == "https"
            and port in (None, 443)
            and "@" not in parts.netloc
            and bool(SNS_HOST.fullmatch(parts.hostname or ""))
        )


@dataclass(frozen=True)
class SnsMessage:
    """A parsed SNS message; ``fields`` holds every string field as it came."""

    type: str
    topic_arn: str
    message_id: str
    message: str
    fields: dict[str, str]

    @property
    def subscribe_url(self) -> str:
        return self.fields.get("SubscribeURL", "")


def parse_message(body: bytes) -> SnsMessage:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise SnsRejected("the body is not JSON") from None
    if not isinstance(data, dict):
        raise SnsRejected("the body is not a JSON object")
    fields = {key: value for key, value in data.items() if isinstance(value, str)}
    kind = fields.get("Type", "")
    if kind not in SIGNED_FIELDS:
        raise SnsRejected(f"unknown message type {kind[:40]!r}")
    for name in ("TopicArn", "MessageId", "Message", "Signature", "SigningCertURL"):
        if not fields.get(name):
            raise SnsRejected(f"no {name}")
    return SnsMessage(kind, fields["TopicArn"], fields["MessageId"], fields["Message"], fields)


def string_to_sign(message: SnsMessage) -> bytes:
    """Each signed field present, as ``name\\nvalue\\n`` (Subject only when the message has one)."""
    lines = []
    for name in SIGNED_FIELDS[message.type]:
        if name in message.fields:
            lines += [name, message.fields[name]]
    return ("\n".join(lines) + "\n").encode()


class SnsVerifier:
    """Checks signatures with certificates fetched (and cached) from URLs its rule allows."""

    def __init__(
        self,
        topics: Collection[str],
        *,
        urls: UrlRule | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.topics = frozenset(topics)
        self.urls = urls or SnsHosts()
        self.timeout = timeout
        self._certificates: dict[str, x509.Certificate] = {}

    def verify(self, message: SnsMessage, now: dt.datetime) -> None:
        """Raise SnsRejected unless ``message`` is signed by SNS for one of our topics."""
        if message.topic_arn not in self.topics:
            raise SnsRejected(f"topic {message.topic_arn[:200]!r} is not configured")
        algorithm = HASHES.get(message.fields.get("SignatureVersion", ""))
        if algorithm is None:
            raise SnsRejected("unknown SignatureVersion")
        try:
            signature = base64.b64decode(message.fields["Signature"], validate=True)
        except (binascii.Error, ValueError):
            raise SnsRejected("the signature is not base64") from None
        certificate = self._certificate(message.fields["SigningCertURL"], now)
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise SnsRejected("the signing certificate holds no RSA key")
        try:
            key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
        except InvalidSignature:
            raise SnsRejected("bad signature") from None

    def confirm(self, message: SnsMessage) -> None:
        """Answer a verified SubscriptionConfirmation by visiting its SubscribeURL."""
        url = message.subscribe_url
        if not self.urls.allows(url):
            raise SnsRejected("SubscribeURL is not on an SNS host")
        try:
            response = httpx.get(url, timeout=self.timeout, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise SnsRejected(f"confirming the subscription failed: {exc}") from None
        if response.status_code != 200:
            raise SnsRejected(f"confirming the subscription got HTTP {response.status_code}")

    def _certificate(self, url: str, now: dt.datetime) -> x509.Certificate:
        if not self.urls.allows(url) or not urlsplit(url).path.endswith(".pem"):
            raise SnsRejected("SigningCertURL is not a certificate on an SNS host")
        certificate = self._certificates.get(url)
        if certificate is None:
            try:
                certificate = x509.load_pem_x509_certificate(self._download(url))
            except ValueError:
                raise SnsRejected("the signing certificate cannot be read") from None
            if len(self._certificates) >= CACHED_CERTIFICATES:
                self._certificates.pop(next(iter(self._certificates)))
            self._certificates[url] = certificate
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise SnsRejected("the signing certificate is not valid now")
        return certificate

    def _download(self, url: str) -> bytes:
        try:
            with httpx.stream("GET", url, timeout=self.timeout, follow_redirects=False) as reply:
                if reply.status_code != 200:
                    raise SnsRejected(f"the signing certificate got HTTP {reply.status_code}")
                body = b""
                for chunk in reply.iter_bytes():
                    body += chunk
                    if len(body) > MAX_CERTIFICATE_BYTES:
                        raise SnsRejected("the signing certificate is too large")
        except httpx.HTTPError as exc:
            raise SnsRejected(f"the signing certificate cannot be fetched: {exc}") from None
        if b"-----BEGIN CERTIFICATE-----" not in body:
            raise SnsRejected("the signing certificate is not PEM")
        return body
