"""SNS signatures: verified with the certificate from an SNS host only, both signature versions."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest

from digest.deliver.sns import SnsHosts, SnsRejected, SnsVerifier, parse_message
from tests.sns_support import TOPIC, FakeSns, LoopbackSns, make_certificate, serving_sns, ses_bounce

NOW = dt.datetime(2026, 4, 30, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def sns() -> Iterator[FakeSns]:
    with serving_sns(NOW) as fake:
        yield fake


def verifier(sns: FakeSns) -> SnsVerifier:
    return SnsVerifier([TOPIC], urls=LoopbackSns(sns.base), timeout=5)


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_notification_verifies(sns: FakeSns, version: str) -> None:
    message = parse_message(sns.notification(ses_bounce("a@example.org"), version))
    verifier(sns).verify(message, NOW)
    assert json.loads(message.message)["notificationType"] == "Bounce"


def test_a_changed_message_fails(sns: FakeSns) -> None:
    body = json.loads(sns.notification(ses_bounce("a@example.org")))
    body["Message"] = json.dumps(ses_bounce("someone-else@example.org"))
    with pytest.raises(SnsRejected, match="bad signature"):
        verifier(sns).verify(parse_message(json.dumps(body).encode()), NOW)


def test_a_signature_by_another_key_fails(sns: FakeSns) -> None:
    other_key, _ = make_certificate(NOW)
    forged = FakeSns(certificate=sns.certificate, key=other_key, base=sns.base)
    with pytest.raises(SnsRejected, match="bad signature"):
        verifier(sns).verify(parse_message(forged.notification(ses_bounce("a@b.org"))), NOW)


def test_a_version_1_signature_presented_as_version_2_fails(sns: FakeSns) -> None:
    body = json.loads(sns.notification(ses_bounce("a@example.org"), "1"))
    body["SignatureVersion"] = "2"
    with pytest.raises(SnsRejected, match="bad signature"):
        verifier(sns).verify(parse_message(json.dumps(body).encode()), NOW)


def test_production_never_fetches_a_certificate_off_the_sns_hosts(sns: FakeSns) -> None:
    message = parse_message(sns.notification(ses_bounce("a@example.org")))
    with pytest.raises(SnsRejected, match="not a certificate on an SNS host"):
        SnsVerifier([TOPIC]).verify(message, NOW)
    assert sns.certificate_requests == 0


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem", True),
        ("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem", True),
        ("http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem", False),
        ("https://sns.us-east-1.amazonaws.com.evil.example/cert.pem", False),
        ("https://evil.example/sns.us-east-1.amazonaws.com/cert.pem", False),
        ("https://sns.us-east-1.amazonaws.com@evil.example/cert.pem", False),
        ("https://sns.us-east-1.amazonaws.com:8443/cert.pem", False),
        ("https://sqs.us-east-1.amazonaws.com/cert.pem", False),
        ("https://sns.us_east.amazonaws.com/cert.pem", False),
        ("https://sns.us-east-1.amazonaws.com:notaport/cert.pem", False),
    ],
)
def test_the_sns_host_rule(url: str, allowed: bool) -> None:
    assert SnsHosts().allows(url) is allowed


def test_a_topic_we_did_not_configure_is_refused(sns: FakeSns) -> None:
    message = parse_message(sns.notification(ses_bounce("a@example.org")))
    with pytest.raises(SnsRejected, match="is not configured"):
        SnsVerifier(["arn:aws:sns:eu-west-1:999:other"], urls=LoopbackSns(sns.base)).verify(
            message, NOW
        )


def test_the_certificate_is_fetched_once(sns: FakeSns) -> None:
    check = verifier(sns)
    for address in ("a@example.org", "b@example.org"):
        check.verify(parse_message(sns.notification(ses_bounce(address))), NOW)
    assert sns.certificate_requests == 1


def test_an_expired_certificate_is_refused(sns: FakeSns) -> None:
    message = parse_message(sns.notification(ses_bounce("a@example.org")))
    with pytest.raises(SnsRejected, match="not valid now"):
        verifier(sns).verify(message, NOW + dt.timedelta(days=60))


def test_a_subscription_is_confirmed_by_visiting_its_url(sns: FakeSns) -> None:
    check = verifier(sns)
    message = parse_message(sns.subscription("/confirm?token=abc"))
    check.verify(message, NOW)
    check.confirm(message)
    assert sns.confirmations == ["/confirm?token=abc"]


def test_a_subscribe_url_off_the_allowed_hosts_is_not_visited(sns: FakeSns) -> None:
    body = json.loads(sns.subscription())
    body["SubscribeURL"] = "http://198.51.100.1/confirm"
    resigned = sns.sign({k: v for k, v in body.items() if k != "Signature"})
    message = parse_message(json.dumps(resigned).encode())
    check = verifier(sns)
    check.verify(message, NOW)
    with pytest.raises(SnsRejected, match="not on an SNS host"):
        check.confirm(message)
    assert sns.confirmations == []


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"Type": "Notification"}', b'{"Type": "Other", "Message": "x"}'],
)
def test_malformed_messages_are_refused(body: bytes) -> None:
    with pytest.raises(SnsRejected):
        parse_message(body)


def test_the_subject_is_signed_when_there_is_one(sns: FakeSns) -> None:
    body = json.loads(sns.notification(ses_bounce("a@example.org")))
    body = sns.sign({k: v for k, v in body.items() if k != "Signature"} | {"Subject": "Bounce"})
    verifier(sns).verify(parse_message(json.dumps(body).encode()), NOW)
    body["Subject"] = "Something else"
    with pytest.raises(SnsRejected, match="bad signature"):
        verifier(sns).verify(parse_message(json.dumps(body).encode()), NOW)
