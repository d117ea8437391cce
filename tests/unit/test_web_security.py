"""The pieces of the web's defences on their own: CSRF values and origins, the visitor's address
behind proxies, the units the limits count in, and the ranking cache."""

from __future__ import annotations

import ipaddress

import pytest

from digest.web.clients import forwarded_client, network_of
from digest.web.limits import mailbox_of
from digest.web.ranked import TtlCache
from digest.web.security import CsrfTokens, origin_of, same_origin


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_csrf_token_is_good_only_with_its_own_cookie() -> None:
    tokens = CsrfTokens("secret")
    cookie = tokens.new_cookie_value()
    token = tokens.form_token(cookie)
    assert tokens.is_valid(cookie, token)
    assert not tokens.is_valid(tokens.new_cookie_value(), token)
    assert not tokens.is_valid(cookie, None)
    assert not tokens.is_valid(None, token)
    assert not CsrfTokens("other secret").is_valid(cookie, token)


@pytest.mark.parametrize("planted", ["a" * 32, "x" * 24 + "." + "0" * 32, "", "."])
def test_a_cookie_value_the_server_did_not_mint_is_never_valid(planted: str) -> None:
    tokens = CsrfTokens("secret")
    assert not tokens.is_minted(planted)
    assert not tokens.is_valid(planted, tokens.form_token(planted))
    assert tokens.is_minted(tokens.new_cookie_value())
    assert not CsrfTokens("other secret").is_minted(tokens.new_cookie_value())


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Digest.Example.org/", "https://digest.example.org"),
        ("https://digest.example.org:443/manage/x", "https://digest.example.org"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://[::1]:80/", "http://[::1]"),
        ("null", ""),
        ("/relative", ""),
        ("javascript:alert(1)", ""),
        ("http://host:99999/", ""),
    ],
)
def test_origins_are_compared_in_one_form(url: str, origin: str) -> None:
    assert origin_of(url) == origin


def test_a_post_must_name_this_site_when_it_names_an_origin() -> None:
    allowed = {"https://digest.example.org"}
    assert same_origin("https://digest.example.org", None, allowed)
    assert same_origin(None, "https://digest.example.org/manage/abc", allowed)
    assert same_origin(None, None, allowed)  # not a browser: the token alone decides
    assert not same_origin("https://evil.example", None, allowed)
    assert not same_origin("null", None, allowed)
    assert not same_origin(None, "https://evil.example/page", allowed)
    assert not same_origin("https://evil.example", "https://digest.example.org/", allowed)


TRUSTED = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32"))


@pytest.mark.parametrize(
    ("peer", "header", "visitor"),
    [
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not a proxy of ours: header ignored
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "1.1.1.1, 198.51.100.1", "198.51.100.1"),  # the visitor wrote 1.1.1.1
        ("10.0.0.2", "198.51.100.1, 10.0.0.3", "198.51.100.1"),  # two proxies of ours
        ("127.0.0.1", "10.0.0.5, 10.0.0.3", "10.0.0.5"),  # all trusted: the left-most
        ("10.0.0.2", "not-an-ip", "10.0.0.2"),  # garbage where an address belongs
        ("10.0.0.2", "[2001:db8::1]:4711", "2001:db8::1"),
        ("10.0.0.2", "198.51.100.1:4711", "198.51.100.1"),
        ("::ffff:10.0.0.2", "198.51.100.1", "198.51.100.1"),
    ],
)
def test_the_visitor_is_the_right_most_address_no_proxy_of_ours_wrote(
    peer: str, header: str, visitor: str
) -> None:
    assert forwarded_client(peer, [header], TRUSTED) == visitor


def test_several_forwarded_headers_read_as_one_list() -> None:
    assert forwarded_client("10.0.0.2", ["1.1.1.1", "198.51.100.1"], TRUSTED) == "198.51.100.1"


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("198.51.100.7", "198.51.100.7"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("testclient", "testclient"),
    ],
)
def test_a_client_counts_in_its_ipv6_64_or_its_ipv4_address(address: str, network: str) -> None:
    assert network_of(address) == network


@pytest.mark.parametrize(
    ("address", "mailbox"),
    [
        ("victim+1@example.org", "victim@example.org"),
        ("victim+a+b@example.org", "victim@example.org"),
        ("v.i.c.t.i.m@example.org", "v.i.c.t.i.m@example.org"),  # dots matter elsewhere
        ("v.i.c.t.i.m+x@gmail.com", "victim@gmail.com"),
        ("victim@googlemail.com", "victim@gmail.com"),
        ("+tag@example.org", "+tag@example.org"),
    ],
)
def test_addresses_fold_into_the_mailbox_that_receives_them(address: str, mailbox: str) -> None:
    assert mailbox_of(address) == mailbox


def test_the_cache_keeps_the_most_recently_used_entries_only() -> None:
    cache: TtlCache[int, str] = TtlCache(3, 60, clock=FakeClock())
    for key in range(3):
        cache.put(key, f"v{key}")
    assert cache.get(0) == "v0"  # now the most recent
    cache.put(3, "v3")
    assert len(cache) == 3
    assert cache.get(1) is None
    assert [cache.get(k) for k in (0, 2, 3)] == ["v0", "v2", "v3"]


def test_cache_entries_expire() -> None:
    clock = FakeClock()
    cache: TtlCache[str, int] = TtlCache(10, 60, clock=clock)
    cache.put("topic", 1)
    clock.now += 59
    assert cache.get("topic") == 1
    clock.now += 2
    assert cache.get("topic") is None
    assert len(cache) == 0
