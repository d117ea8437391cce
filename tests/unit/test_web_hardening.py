"""Hostile requests in-process: forms posted from elsewhere, planted CSRF cookies, /metrics from
outside, forwarded headers from strangers, and ranking pages asked for too often."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from digest.config import load_settings
from digest.errors import ConfigError
from digest.service import Service
from digest.web import create_app
from digest.web.limits import RateLimits
from digest.web.security import CSRF_COOKIE
from tests.unit.web_support import (
    BASE,
    NOW,
    csrf_token,
    outbox,
    row_of,
    service,
    text_part,
    token_in,
)

__all__ = ["service"]

METRICS_TOKEN = "a-long-metrics-token-for-tests"


def client_at(
    service: Service, address: str = "testclient", limits: RateLimits | None = None
) -> TestClient:
    app = create_app(service, clock=lambda: NOW, limits=limits)
    return TestClient(app, base_url=BASE, raise_server_exceptions=False, client=(address, 4711))


@pytest.fixture
def client(service: Service) -> TestClient:
    return client_at(service)


def configured(service: Service, **settings: object) -> Iterator[Service]:
    other = Service.open(service.settings.model_copy(update=settings))
    yield other
    other.close()


@pytest.fixture
def with_token(service: Service) -> Iterator[Service]:
    yield from configured(service, metrics_token=METRICS_TOKEN)


@pytest.fixture
def behind_proxy(service: Service) -> Iterator[Service]:
    yield from configured(service, trusted_proxies="10.0.0.0/8")


def post_signup(client: TestClient, address: str, **headers: str) -> httpx.Response:
    data = {"email": address, "topics": "agents", "website": "", "csrf_token": csrf_token(client)}
    return client.post("/subscribe", data=data, headers=headers)


# --- CSRF: the origin, and a cookie only the server mints ---------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"referer": "https://evil.example/page"},
        {"origin": "http://testserver.evil.example"},
    ],
)
def test_a_form_posted_from_another_origin_is_refused(
    service: Service, client: TestClient, headers: dict[str, str]
) -> None:
    response = post_signup(client, "ada@example.org", **headers)
    assert response.status_code == 403
    assert outbox(service) == []


@pytest.mark.parametrize(
    "headers",
    [{"origin": BASE}, {"referer": f"{BASE}/subscribe"}, {"origin": "http://testserver:80"}, {}],
)
def test_a_form_posted_from_this_site_passes(
    service: Service, client: TestClient, headers: dict[str, str]
) -> None:
    assert post_signup(client, "ada@example.org", **headers).status_code == 200
    assert len(outbox(service)) == 1


def test_the_base_url_origin_passes_behind_a_proxy_that_renames_the_host(
    service: Service, client: TestClient
) -> None:
    forwarded = {"origin": BASE, "host": "digest-internal:8000"}
    assert post_signup(client, "ada@example.org", **forwarded).status_code == 200


def test_a_planted_csrf_cookie_is_replaced_and_never_signed(
    service: Service, client: TestClient
) -> None:
    """A value planted in the browser (by a neighbouring site, say) gets no form token: the
    page mints its own cookie and signs that, so the planted pair never matches."""
    planted = "p" * 32
    client.cookies.set(CSRF_COOKIE, planted)
    page = client.get("/subscribe")
    minted = page.cookies.get(CSRF_COOKIE)
    assert minted and minted != planted
    client.cookies.clear()
    client.cookies.set(CSRF_COOKIE, planted)
    data = {
        "email": "ada@example.org",
        "topics": "x",
        "website": "",
        "csrf_token": token_in(page.text),
    }
    assert client.post("/subscribe", data=data).status_code == 403
    assert outbox(service) == []


def test_a_minted_csrf_cookie_is_kept(client: TestClient) -> None:
    first = client.get("/subscribe").cookies.get(CSRF_COOKIE)
    assert first and client.get("/subscribe").cookies.get(CSRF_COOKIE) is None  # not reissued


# --- /metrics ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "headers", "status"),
    [
        ("127.0.0.1", {}, 200),
        ("::1", {}, 200),
        ("10.1.2.3", {}, 404),  # a private network is not the operator
        ("192.168.1.5", {}, 404),
        ("203.0.113.9", {"x-forwarded-for": "127.0.0.1"}, 404),
        ("127.0.0.1", {"x-forwarded-for": "203.0.113.9"}, 404),  # a proxy on this host
        ("127.0.0.1", {"forwarded": "for=203.0.113.9"}, 404),
    ],
)
def test_metrics_without_a_token_answer_a_direct_loopback_peer_only(
    service: Service, peer: str, headers: dict[str, str], status: int
) -> None:
    assert client_at(service, peer).get("/metrics", headers=headers).status_code == status


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Bearer wrong-token-of-some-length", 401),
        (f"Basic {METRICS_TOKEN}", 401),
        (f"Bearer {METRICS_TOKEN}x", 401),
        (f"Bearer {METRICS_TOKEN}", 200),
        (f"bearer  {METRICS_TOKEN}", 200),
    ],
)
def test_metrics_with_a_token_ask_everyone_for_it(
    with_token: Service, authorization: str | None, status: int
) -> None:
    headers = {"authorization": authorization} if authorization else {}
    for peer in ("203.0.113.9", "127.0.0.1"):
        response = client_at(with_token, peer).get("/metrics", headers=headers)
        assert response.status_code == status
    if status == 200:
        assert "digest_" in response.text


# --- forwarded headers ----------------------------------------------------------------------


def test_visitors_behind_a_trusted_proxy_each_get_their_own_allowance(
    behind_proxy: Service,
) -> None:
    proxy = client_at(behind_proxy, "10.0.0.2", RateLimits(per_ip=1))
    first = post_signup(proxy, "a@example.org", **{"x-forwarded-for": "198.51.100.1"})
    second = post_signup(proxy, "b@example.org", **{"x-forwarded-for": "198.51.100.2"})
    again = post_signup(proxy, "c@example.org", **{"x-forwarded-for": "198.51.100.1"})
    assert (first.status_code, second.status_code, again.status_code) == (200, 200, 429)


def test_a_stranger_cannot_choose_its_address_with_a_header(behind_proxy: Service) -> None:
    stranger = client_at(behind_proxy, "203.0.113.9", RateLimits(per_ip=1))
    assert post_signup(stranger, "a@example.org", **{"x-forwarded-for": "1.1.1.1"}).is_success
    refused = post_signup(stranger, "b@example.org", **{"x-forwarded-for": "2.2.2.2"})
    assert refused.status_code == 429


def test_the_consent_address_is_the_visitor_behind_the_proxy(behind_proxy: Service) -> None:
    proxy = client_at(behind_proxy, "10.0.0.2")
    headers = {"x-forwarded-for": "1.1.1.1, 198.51.100.1"}  # the visitor wrote 1.1.1.1
    post_signup(proxy, "ada@example.org", **headers)
    (message,) = outbox(behind_proxy)
    link = text_part(message).split(f"{BASE}/confirm/")[1].split()[0]
    page = proxy.get(f"/confirm/{link}", headers=headers)
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    proxy.post(f"/confirm/{link}", data={"csrf_token": token}, headers=headers)
    assert row_of(behind_proxy, "ada@example.org").consent_ip == "198.51.100.1"


# --- ranking pages ----------------------------------------------------------------------------


def test_a_cached_topic_page_does_not_spend_the_ranking_allowance(service: Service) -> None:
    client = client_at(service, limits=RateLimits(ranked_per_minute=2))
    assert client.get("/topics/agents").status_code == 200
    assert client.get("/topics/agents").status_code == 200  # from the cache
    assert client.get("/topics/ agents ").status_code == 200  # the same topic, spaced out
    assert client.get("/").status_code == 200
    refused = client.get("/topics/diffusion models")
    assert refused.status_code == 429 and refused.headers["retry-after"]
    assert client.get("/").status_code == 200  # cached too


def test_the_ranking_allowance_is_per_client_network(service: Service) -> None:
    limits = RateLimits(ranked_per_minute=1)
    assert client_at(service, "198.51.100.1", limits).get("/topics/agents").status_code == 200
    assert client_at(service, "198.51.100.1", limits).get("/topics/robots").status_code == 429
    assert client_at(service, "198.51.100.2", limits).get("/topics/robots").status_code == 200


def test_a_ranking_page_that_waits_too_long_for_the_slot_is_a_503(client: TestClient) -> None:
    rankings = client.app.state.web.rankings  # type: ignore[attr-defined]
    rankings.wait = 0.05
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with rankings.slot():
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        held.wait(5)
        response = client.get("/topics/agents")
    finally:
        release.set()
        holder.join()
    assert response.status_code == 503 and response.headers["retry-after"] == "30"
    assert client.get("/topics/agents").status_code == 200


# --- the settings that guard all this ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("DIGEST_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal", "'proxy.internal'"),
        ("DIGEST_TRUSTED_PROXIES", "10.0.0.0/33", "'10.0.0.0/33'"),
        ("DIGEST_METRICS_TOKEN", "short", "at least 16 characters"),
        ("DIGEST_METRICS_TOKEN", "a-long-enough-token\r\nX: y", "one line"),
    ],
)
def test_a_bad_guard_setting_stops_start_up_with_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, named: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert name in message and named in message and "\n" not in message


def test_trusted_proxies_read_as_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1 ,2001:db8::/32")
    networks = [str(n) for n in load_settings().trusted_proxy_networks]
    assert networks == ["10.0.0.0/8", "127.0.0.1/32", "2001:db8::/32"]


def test_over_https_the_csrf_cookie_is_host_only_and_secure(service: Service) -> None:
    https = Service.open(service.settings.model_copy(update={"base_url": "https://digest.test"}))
    try:
        client = TestClient(create_app(https), base_url="https://digest.test")
        cookie = client.get("/subscribe").headers["set-cookie"]
    finally:
        https.close()
    assert cookie.startswith("__Host-digest_csrf=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
