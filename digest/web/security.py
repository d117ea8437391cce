"""What every response and every form needs: headers, CSRF tokens, and request rate limits.

CSRF is a signed double submit. Each browser gets a random value in an HttpOnly cookie; every
form carries that value signed with the service key (itsdangerous, its own salt). A POST passes
when the form token's signature is good, it is younger than a day, and it names the cookie's
value. Another site can make a browser send the cookie, but cannot read it or forge the form
field that must match it. The RFC 8058 one-click unsubscribe POST is exempt: mail providers
send it without cookies, and the signed URL alone already authorises it.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, MutableMapping
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "digest_csrf"
CSRF_FIELD = "csrf_token"
CSRF_MAX_AGE = 24 * 3600

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


def security_headers(https: bool) -> dict[str, str]:
    """The headers every response carries; HSTS only when the site is served over https."""
    headers = dict(SECURITY_HEADERS)
    if https:
        headers["strict-transport-security"] = "max-age=31536000"
    return headers


class SecurityHeadersMiddleware:
    """Adds the security headers, and ``Cache-Control: no-store`` unless a page set its own.

    Pages behind signed links hold personal data, so nothing is cached by default.
    """

    def __init__(self, app: ASGIApp, *, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers[name] = value
                if "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CsrfTokens:
    """Signs and checks the per-browser CSRF value; see the module docstring."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="digest.web.csrf")

    @staticmethod
    def new_cookie_value() -> str:
        return secrets.token_urlsafe(24)

    def form_token(self, cookie_value: str) -> str:
        return str(self._serializer.dumps(cookie_value))

    def is_valid(self, cookie_value: str | None, form_token: str | None) -> bool:
        if not cookie_value or not form_token:
            return False
        try:
            signed = self._serializer.loads(form_token, max_age=CSRF_MAX_AGE)
        except BadSignature:
            return False
        return isinstance(signed, str) and hmac.compare_digest(signed, cookie_value)


class SlidingWindowLimiter:
    """At most ``limit`` hits per key in any ``window`` seconds, kept in this process's memory.

    Good for one web process; several processes each count on their own, so the effective
    limit is multiplied by their number. Memory is bounded: past ``max_keys`` keys the ones
    with no recent hits are dropped, and if every key is busy the oldest is evicted.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 50_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._hits: MutableMapping[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> bool:
        """Count one attempt for ``key``; False (and not counted) when it is over the limit."""
        with self._lock:
            now = self._clock()
            hits = self._hits.get(key)
            if hits is None:
                self._make_room(now)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def _make_room(self, now: float) -> None:
        if len(self._hits) < self._max_keys:
            return
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
        while len(self._hits) >= self._max_keys:
            del self._hits[next(iter(self._hits))]


# Per client address and hour, for each POST that sends mail or changes state. Sign-up also
# counts per email address (subscription bombing). The RFC 8058 one-click POST is not limited
# per address: mail providers send everyone's from a few shared hosts, the signed URL already
# authorises it, and a repeat changes nothing.
POST_LIMITS: dict[str, int] = {
    "confirm": 20,  # sends the welcome email
    "manage": 30,  # sends "preferences changed"
    "unsubscribe": 30,
    "resubscribe": 20,
    "feedback": 120,  # one per paper of a digest is normal
    "delete": 10,
}


class RateLimits:
    """The site's request limits: per client address for every state-changing POST, and per
    email address as well for sign-up."""

    def __init__(
        self,
        *,
        per_ip: int = 20,
        per_address: int = 5,
        window: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        posts: dict[str, int] | None = None,
    ) -> None:
        self.ip = SlidingWindowLimiter(per_ip, window, clock=clock)
        self.address = SlidingWindowLimiter(per_address, window, clock=clock)
        self.posts = {
            action: SlidingWindowLimiter(limit, window, clock=clock)
            for action, limit in {**POST_LIMITS, **(posts or {})}.items()
        }
        self.window = window

    def allow_subscribe(self, client_ip: str, address_key: str) -> bool:
        return self.ip.hit(client_ip) and self.address.hit(address_key)

    def allow(self, action: str, client_ip: str) -> bool:
        """Count one ``action`` POST from ``client_ip``; False when it is over the limit."""
        return self.posts[action].hit(client_ip)


def cookie_options(https: bool) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "secure": https, "path": "/"}
