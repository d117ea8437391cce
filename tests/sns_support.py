"""A stand-in for Amazon SNS on loopback: our own RSA key and self-signed certificate, served
over HTTP, messages signed the way SNS signs them, and a subscription endpoint that counts.

The verifier under test is production's, given :class:`LoopbackSns` as its URL rule (the
only thing that differs from production: which host may serve certificates).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from digest.deliver.sns import SIGNED_FIELDS

TOPIC = "arn:aws:sns:eu-west-1:123456789012:digest-bounces"


def make_certificate(now: dt.datetime) -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


@dataclass
class FakeSns:
    """What the loopback server answers, and what it was asked."""

    certificate: bytes
    key: rsa.RSAPrivateKey
    base: str = ""
    confirmations: list[str] = field(default_factory=list)
    certificate_requests: int = 0

    @property
    def cert_url(self) -> str:
        return f"{self.base}/SimpleNotificationService-test.pem"

    def sign(self, message: dict[str, str], version: str = "1") -> dict[str, str]:
        """``message`` with SignatureVersion, SigningCertURL and a real signature added."""
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signed = {"SignatureVersion": version, "SigningCertURL": self.cert_url, **message}
        text = "".join(
            f"{name}\n{signed[name]}\n" for name in SIGNED_FIELDS[signed["Type"]] if name in signed
        )
        signature = self.key.sign(text.encode(), padding.PKCS1v15(), algorithm)
        return {**signed, "Signature": base64.b64encode(signature).decode()}

    def notification(self, payload: dict[str, Any], version: str = "1") -> bytes:
        message = {
            "Type": "Notification",
            "MessageId": "b1f7c9a2-0000-4000-8000-000000000001",
            "TopicArn": TOPIC,
            "Message": json.dumps(payload),
            "Timestamp": "2026-04-30T12:00:00.000Z",
        }
        return json.dumps(self.sign(message, version)).encode()

    def subscription(self, path: str = "/confirm?token=abc") -> bytes:
        message = {
            "Type": "SubscriptionConfirmation",
            "MessageId": "b1f7c9a2-0000-4000-8000-000000000002",
            "Token": "abc",
            "TopicArn": TOPIC,
            "Message": "You have chosen to subscribe to the topic.",
            "SubscribeURL": f"{self.base}{path}",
            "Timestamp": "2026-04-30T12:00:00.000Z",
        }
        return json.dumps(self.sign(message)).encode()


class LoopbackSns:
    """The test's URL rule: only our loopback server may serve certificates and confirmations."""

    def __init__(self, base: str) -> None:
        self.netloc = urlsplit(base).netloc

    def allows(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme == "http" and parts.netloc == self.netloc


@contextmanager
def serving_sns(now: dt.datetime) -> Iterator[FakeSns]:
    key, pem = make_certificate(now)
    fake = FakeSns(certificate=pem, key=key)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            if self.path.endswith(".pem"):
                fake.certificate_requests += 1
                body = fake.certificate
            else:
                fake.confirmations.append(self.path)
                body = b"<ConfirmSubscriptionResponse/>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def ses_bounce(address: str, bounce_type: str = "Permanent", feedback: str = "fb-1") -> dict:
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": address,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                },
            ],  # fmt: skip
            "timestamp": "2026-04-30T11:59:00.000Z",
            "feedbackId": feedback,
        },
        "mail": {"messageId": "ses-message-1", "source": "digest@digest.test"},
    }


def ses_complaint(address: str, feedback: str = "fb-2") -> dict:
    return {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": address}],
            "complaintFeedbackType": "abuse",
            "timestamp": "2026-04-30T11:59:00.000Z",
            "feedbackId": feedback,
        },
        "mail": {"messageId": "ses-message-2", "source": "digest@digest.test"},
    }
