"""Who is asking: the visitor's address behind trusted proxies, and the network it counts in.

Behind a reverse proxy every request comes from the proxy, so X-Forwarded-For is believed,
but only from peers in DIGEST_TRUSTED_PROXIES: anyone else could write any address there.
Walking the header from the right, each address a trusted peer vouches for is the next peer;
the first one that is not trusted is the visitor (the addresses further left are whatever the
visitor chose to send). The direct peer stays in the scope for the one decision that must not
rest on a header at all: /metrics without a token answers loopback peers only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DIRECT_PEER = "digest.direct_peer"
MAX_FORWARDED_HOPS = 20  # a longer chain is not a real proxy's


def parse_address(text: str) -> IPAddress | None:
    """An address as a forwarded header writes it: bare, ``1.2.3.4:80`` or ``[::1]:80``."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def is_trusted(address: IPAddress | None, trusted: Sequence[IPNetwork]) -> bool:
    return address is not None and any(address in network for network in trusted)


def forwarded_client(peer: str, forwarded_for: Iterable[str], trusted: Sequence[IPNetwork]) -> str:
    """The visitor's address: ``peer`` itself unless a trusted peer forwarded the request."""
    current = parse_address(peer)
    if not is_trusted(current, trusted):
        return peer
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops[-MAX_FORWARDED_HOPS:]):
        address = parse_address(hop)
        if address is None:  # garbage where a proxy should have written an address
            break
        current = address
        if not is_trusted(current, trusted):
            break
    return str(current)


class ClientAddressMiddleware:
    """Puts the visitor's address in ``scope["client"]`` (what ``request.client`` reads, and
    uvicorn's access log) and the direct peer in ``scope[DIRECT_PEER]``. From a trusted peer,
    X-Forwarded-Proto sets the scheme too, as the site's own URLs are seen through the proxy."""

    def __init__(self, app: ASGIApp, *, trusted: Sequence[IPNetwork]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            peer = str(client[0]) if client else ""
            scope[DIRECT_PEER] = peer
            headers = [(k.lower(), v.decode("latin-1")) for k, v in scope.get("headers", [])]
            forwarded = [v for k, v in headers if k == b"x-forwarded-for"]
            if forwarded and is_trusted(parse_address(peer), self.trusted):
                scope["client"] = (forwarded_client(peer, forwarded, self.trusted), 0)
                proto = [v.strip().lower() for k, v in headers if k == b"x-forwarded-proto"]
                if proto and proto[-1] in ("http", "https"):
                    scope["scheme"] = proto[-1]
        await self.app(scope, receive, send)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def direct_peer(request: Request) -> str:
    """The address of the connection itself, whatever any header says."""
    peer = request.scope.get(DIRECT_PEER)
    if isinstance(peer, str):
        return peer
    return request.client.host if request.client else ""


def network_of(client: str) -> str:
    """The unit a per-client limit counts: an IPv4 address, or an IPv6 address's /64.

    One IPv6 subscriber line usually holds a whole /64 and can use any address in it, so
    keying on the full address would give one visitor billions of allowances.
    """
    address = parse_address(client)
    if address is None:
        return client[:100]
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)
