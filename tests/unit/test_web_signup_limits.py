"""Mail bombing through sign-up: limits per mailbox as it receives mail, per IPv6 /64, per hour
site-wide, three emails a day whatever the path, and all of it shared by every replica. And a
confirm link older than the latest unsubscribe stays dead."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from digest.addresses import email_hash
from digest.service import Service, utcnow
from digest.web import create_app
from digest.web.limits import RateLimits
from tests.unit.web_support import (
    BASE,
    NOW,
    confirm_link,
    confirmed,
    csrf_token,
    outbox,
    row_of,
    service,
    subscribe,
    text_part,
    token_in,
)

__all__ = ["service"]

VICTIM = "victim@example.org"


def client_at(service: Service, address: str = "198.51.100.7", **limits: Any) -> TestClient:
    """A browser at ``address``, on an app of its own (as another replica would be)."""
    app = create_app(service, clock=lambda: NOW, limits=RateLimits(**limits))
    return TestClient(app, base_url=BASE, raise_server_exceptions=False, client=(address, 4711))


def sign_up(client: TestClient, address: str) -> int:
    return subscribe(client, address).status_code


@pytest.fixture
def replica(service: Service) -> Iterator[Service]:
    """A second service on the same database: another process of the same deployment."""
    other = Service.open(service.settings)
    yield other
    other.close()


def test_plus_tags_share_the_mailbox_allowance(service: Service) -> None:
    client = client_at(service, per_address=2, mails_per_day=100)
    assert [sign_up(client, f"victim+{n}@example.org") for n in range(3)] == [200, 200, 429]
    assert len(outbox(service)) == 2


def test_dotted_gmail_spellings_share_the_mailbox_allowance(service: Service) -> None:
    client = client_at(service, per_address=2, mails_per_day=100)
    spellings = ["victim@gmail.com", "v.ictim@gmail.com", "vic.tim+x@googlemail.com"]
    assert [sign_up(client, a) for a in spellings] == [200, 200, 429]


def test_a_mailbox_gets_at_most_three_emails_a_day_whatever_asked(service: Service) -> None:
    """A sign-up, one for a plus-tagged spelling, a repeat while unconfirmed: three emails to
    one mailbox, each from another network; the fourth asks in vain."""
    assert sign_up(client_at(service, "198.51.100.7"), VICTIM) == 200
    assert sign_up(client_at(service, "203.0.113.5"), "victim+again@example.org") == 200
    assert sign_up(client_at(service, "192.0.2.1"), VICTIM) == 200
    refused = subscribe(client_at(service, "192.0.2.99"), "victim+more@example.org")
    assert refused.status_code == 429
    assert "already sent this address several emails today" in refused.text
    assert len(outbox(service)) == 3


def test_the_confirmed_address_manage_link_counts_too(service: Service) -> None:
    client = client_at(service)
    confirmed(service, client, VICTIM)  # the confirm email (the welcome is not asked by a form)
    assert [sign_up(client, VICTIM) for _ in range(3)] == [200, 200, 429]


def test_the_mail_allowance_comes_back_after_a_day(service: Service) -> None:
    moment = [NOW]
    app = create_app(service, clock=lambda: moment[0], limits=RateLimits(per_address=100))
    client = TestClient(app, base_url=BASE, raise_server_exceptions=False)
    assert [sign_up(client, VICTIM) for _ in range(4)] == [200, 200, 200, 429]
    moment[0] = NOW + dt.timedelta(hours=23)
    assert sign_up(client, VICTIM) == 429
    moment[0] = NOW + dt.timedelta(hours=24, seconds=1)
    assert sign_up(client, VICTIM) == 200


def test_addresses_of_one_ipv6_64_share_the_network_allowance(service: Service) -> None:
    limits = {"per_ip": 2}
    asks = [
        ("2001:db8:5:6::1", "a@example.org", 200),
        ("2001:db8:5:6:ffff:1:2:3", "b@example.org", 200),
        ("2001:db8:5:6::beef", "c@example.org", 429),
        ("2001:db8:5:7::1", "d@example.org", 200),  # the next /64 is another line
    ]
    for client_address, mailbox, status in asks:
        assert sign_up(client_at(service, client_address, **limits), mailbox) == status


def test_sign_ups_are_limited_site_wide_per_hour(service: Service) -> None:
    statuses = [
        sign_up(client_at(service, f"198.51.100.{n}", overall=3), f"reader{n}@example.org")
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_limits_hold_across_replicas(service: Service, replica: Service) -> None:
    one, other = client_at(service, per_address=2), client_at(replica, per_address=2)
    assert sign_up(one, VICTIM) == 200
    assert sign_up(other, VICTIM) == 200
    assert sign_up(one, VICTIM) == 429
    assert sign_up(other, VICTIM) == 429


def old_confirm_link(service: Service, address: str, age: dt.timedelta) -> str:
    subscriber_id = row_of(service, address).id
    payload = {"s": subscriber_id, "h": email_hash(address)[:16]}
    token = service.signer.sign_payload("confirm", payload, int(time.time() - age.total_seconds()))
    return f"{BASE}/confirm/{token}"


def press_confirm(client: TestClient, link: str) -> httpx.Response:
    page = client.get(link)
    if page.status_code != 200:
        return page
    return client.post(link, data={"csrf_token": token_in(page.text)})


def unsubscribe_now(client: TestClient, service: Service, address: str) -> None:
    row = row_of(service, address)
    url = f"{BASE}/unsubscribe/{service.signer.sign('unsubscribe', row.id, address)}"
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200


def test_a_confirm_link_sent_before_an_unsubscribe_does_not_resubscribe(service: Service) -> None:
    app = create_app(service, clock=utcnow)  # the unsubscribe's time and the link's stamp agree
    client = TestClient(app, base_url=BASE, raise_server_exceptions=False)
    subscribe(client, VICTIM)
    stale = old_confirm_link(service, VICTIM, dt.timedelta(minutes=10))
    assert press_confirm(client, confirm_link(service)).status_code == 200
    unsubscribe_now(client, service, VICTIM)

    answer = press_confirm(client, stale)
    assert answer.status_code == 400 and "unsubscribed after this link was sent" in answer.text
    assert client.post(stale, data={"csrf_token": csrf_token(client)}).status_code == 400
    assert row_of(service, VICTIM).state == "unsubscribed"


def test_a_confirm_link_sent_after_the_unsubscribe_still_works(service: Service) -> None:
    app = create_app(service, clock=lambda: utcnow() - dt.timedelta(minutes=5))
    client = TestClient(app, base_url=BASE, raise_server_exceptions=False)
    subscribe(client, VICTIM)
    assert press_confirm(client, confirm_link(service)).status_code == 200
    unsubscribe_now(client, service, VICTIM)
    before = len(outbox(service))
    subscribe(client, VICTIM, "graph neural networks")
    (fresh,) = outbox(service)[before:]
    link = re.search(rf"{re.escape(BASE)}/confirm/\S+", text_part(fresh))
    assert link
    assert press_confirm(client, link[0]).status_code == 200
    assert row_of(service, VICTIM).state == "confirmed"


def test_the_resubscribe_button_is_an_undo_for_an_hour_only(service: Service) -> None:
    moment = [NOW]
    app = create_app(service, clock=lambda: moment[0])
    client = TestClient(app, base_url=BASE, raise_server_exceptions=False)
    confirmed(service, client, VICTIM)
    row = row_of(service, VICTIM)
    url = f"{BASE}/unsubscribe/{service.signer.sign('unsubscribe', row.id, VICTIM)}"
    for later, status, state in [(59, 200, "confirmed"), (61, 400, "unsubscribed")]:
        done = client.post(url, data={"List-Unsubscribe": "One-Click"})
        moment[0] += dt.timedelta(minutes=later)
        again = client.post(f"{url}/resubscribe", data={"csrf_token": token_in(done.text)})
        assert again.status_code == status
        assert row_of(service, VICTIM).state == state
