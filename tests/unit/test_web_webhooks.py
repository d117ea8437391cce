"""POST /webhooks/ses and /webhooks/mailgun: signed reports change subscribers, nothing else does.

SNS is our own loopback server with a self-signed certificate; the app is production's, told
(by its ``sns_urls`` parameter) that this server may serve certificates and confirmations.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from digest.service import Service
from digest.store import subscribers
from digest.store.schema import BounceEventRow, BounceReport
from digest.web import create_app
from tests.sns_support import TOPIC, FakeSns, LoopbackSns, serving_sns, ses_bounce, ses_complaint
from tests.unit.web_support import BASE, NOW, service

__all__ = ["service"]

MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
READER = "reader@example.org"


@pytest.fixture
def sns() -> Iterator[FakeSns]:
    with serving_sns(NOW) as fake:
        yield fake


@pytest.fixture
def hooked(service: Service, sns: FakeSns) -> TestClient:
    """The app with both webhooks configured, and one confirmed reader."""
    service.settings = service.settings.model_copy(
        update={"ses_topic_arns": TOPIC, "mailgun_signing_key": MAILGUN_KEY}
    )
    with service.db.session() as session:
        subscribers.upsert_subscriber(session, READER, now=NOW, state="confirmed")
    app = create_app(service, clock=lambda: NOW, sns_urls=LoopbackSns(sns.base))
    return TestClient(app, base_url=BASE, raise_server_exceptions=False)


def state_of(service: Service, address: str = READER) -> str:
    with service.db.session() as session:
        return subscribers.get_row(session, address).state


def stored(service: Service) -> tuple[int, int]:
    """Reports and events recorded."""
    with service.db.session() as session:
        reports = session.scalar(select(func.count()).select_from(BounceReport))
        events = session.scalar(select(func.count()).select_from(BounceEventRow))
    return int(reports or 0), int(events or 0)


def post_sns(client: TestClient, body: bytes) -> Any:
    return client.post(
        "/webhooks/ses",
        content=body,
        headers={"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "x"},
    )


def mailgun_body(event: dict[str, Any], *, key: str = MAILGUN_KEY, at: dt.datetime = NOW) -> bytes:
    timestamp, token = str(int(at.timestamp())), "c0ffee" * 8
    digest = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    signature = {"timestamp": timestamp, "token": token, "signature": digest}
    return json.dumps({"signature": signature, "event-data": event}).encode()


def mailgun_event(kind: str, severity: str = "permanent", event_id: str = "ev-1") -> dict:
    return {
        "event": kind,
        "id": event_id,
        "severity": severity,
        "recipient": READER,
        "delivery-status": {"code": 550, "enhanced-code": "5.1.1", "description": "No such user"},
        "message": {"headers": {"message-id": "20260430.1@digest.test"}},
    }


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_ses_hard_bounce_suspends_the_reader(
    hooked: TestClient,
    service: Service,
    sns: FakeSns,
    version: str,
) -> None:
    answer = post_sns(hooked, sns.notification(ses_bounce(READER), version))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"events": 1, "recorded": 1}
    assert state_of(service) == "suspended"


def test_a_signed_ses_complaint_unsubscribes_the_reader(
    hooked: TestClient,
    service: Service,
    sns: FakeSns,
) -> None:
    assert post_sns(hooked, sns.notification(ses_complaint(READER))).status_code == 200
    assert state_of(service) == "unsubscribed"


def test_a_soft_ses_bounce_is_counted_not_acted_on(
    hooked: TestClient,
    service: Service,
    sns: FakeSns,
) -> None:
    assert post_sns(hooked, sns.notification(ses_bounce(READER, "Transient"))).status_code == 200
    assert state_of(service) == "confirmed"
    assert stored(service) == (1, 1)


def test_the_same_sns_message_twice_counts_once(
    hooked: TestClient,
    service: Service,
    sns: FakeSns,
) -> None:
    body = sns.notification(ses_bounce(READER, "Transient"))
    assert post_sns(hooked, body).json()["recorded"] == 1
    assert post_sns(hooked, body).json()["recorded"] == 0
    assert stored(service) == (1, 1)


def test_a_badly_signed_sns_message_is_403_and_changes_nothing(
    hooked: TestClient,
    service: Service,
    sns: FakeSns,
) -> None:
    body = json.loads(sns.notification(ses_bounce("someone@example.org")))
    body["Message"] = json.dumps(ses_bounce(READER))
    assert post_sns(hooked, json.dumps(body).encode()).status_code == 403
    assert (state_of(service), stored(service)) == ("confirmed", (0, 0))


def test_an_unsigned_sns_message_is_403(hooked: TestClient, service: Service) -> None:
    body = {"Type": "Notification", "MessageId": "1", "TopicArn": TOPIC,
            "Message": json.dumps(ses_bounce(READER))}  # fmt: skip
    assert post_sns(hooked, json.dumps(body).encode()).status_code == 403
    assert (state_of(service), stored(service)) == ("confirmed", (0, 0))


def test_a_certificate_url_on_a_forged_host_is_403_and_never_fetched(
    hooked: TestClient,
    service: Service,
    sns: FakeSns,
) -> None:
    """Signed by a key whose certificate sits on a host the rule does not allow."""
    forged = dataclasses.replace(sns, base=sns.base.replace("127.0.0.1", "localhost"))
    assert post_sns(hooked, forged.notification(ses_bounce(READER))).status_code == 403
    assert sns.certificate_requests == 0
    assert (state_of(service), stored(service)) == ("confirmed", (0, 0))


def test_production_refuses_our_loopback_certificate(
    service: Service,
    sns: FakeSns,
) -> None:
    service.settings = service.settings.model_copy(update={"ses_topic_arns": TOPIC})
    client = TestClient(create_app(service, clock=lambda: NOW), base_url=BASE)
    assert post_sns(client, sns.notification(ses_bounce(READER))).status_code == 403
    assert sns.certificate_requests == 0


def test_a_subscription_confirmation_visits_the_subscribe_url(
    hooked: TestClient, sns: FakeSns
) -> None:
    answer = post_sns(hooked, sns.subscription("/?Action=ConfirmSubscription&Token=abc"))
    assert answer.status_code == 200
    assert sns.confirmations == ["/?Action=ConfirmSubscription&Token=abc"]


def test_ses_without_a_configured_topic_is_403(service: Service, sns: FakeSns) -> None:
    client = TestClient(create_app(service, clock=lambda: NOW, sns_urls=LoopbackSns(sns.base)))
    assert post_sns(client, sns.notification(ses_bounce(READER))).status_code == 403
    assert sns.certificate_requests == 0


@pytest.mark.parametrize(
    ("kind", "severity", "state"),
    [("failed", "permanent", "suspended"), ("complained", "", "unsubscribed"),
     ("failed", "temporary", "confirmed")],
)  # fmt: skip
def test_a_signed_mailgun_event(
    hooked: TestClient,
    service: Service,
    kind: str,
    severity: str,
    state: str,
) -> None:
    answer = hooked.post("/webhooks/mailgun", content=mailgun_body(mailgun_event(kind, severity)))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"events": 1, "recorded": 1}
    assert state_of(service) == state


@pytest.mark.parametrize(
    "body",
    [
        mailgun_body(mailgun_event("failed"), key="another-key"),
        json.dumps({"event-data": mailgun_event("failed")}).encode(),
        b"signature=1&token=2",
    ],
    ids=["wrong key", "unsigned", "not json"],
)
def test_a_badly_signed_mailgun_event_is_403_and_changes_nothing(
    hooked: TestClient,
    service: Service,
    body: bytes,
) -> None:
    assert hooked.post("/webhooks/mailgun", content=body).status_code == 403
    assert (state_of(service), stored(service)) == ("confirmed", (0, 0))


def test_a_replayed_mailgun_timestamp_is_403(hooked: TestClient, service: Service) -> None:
    stale = mailgun_body(mailgun_event("failed"), at=NOW - dt.timedelta(minutes=10))
    assert hooked.post("/webhooks/mailgun", content=stale).status_code == 403
    assert (state_of(service), stored(service)) == ("confirmed", (0, 0))


def test_the_same_mailgun_event_twice_counts_once(hooked: TestClient, service: Service) -> None:
    body = mailgun_body(mailgun_event("failed", "temporary"))
    assert hooked.post("/webhooks/mailgun", content=body).json()["recorded"] == 1
    assert hooked.post("/webhooks/mailgun", content=body).json()["recorded"] == 0
    assert stored(service) == (1, 1)


def test_mailgun_without_a_signing_key_is_403(service: Service) -> None:
    client = TestClient(create_app(service, clock=lambda: NOW), base_url=BASE)
    answer = client.post("/webhooks/mailgun", content=mailgun_body(mailgun_event("failed")))
    assert answer.status_code == 403
