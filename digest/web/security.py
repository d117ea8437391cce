"""What every response and every form needs: security headers and CSRF checks.

CSRF is a signed double submit. Each browser gets a random value in an HttpOnly cookie; every
form carries that value signed with the service key (itsdangerous, its own salt). A POST passes
when the form token's signature is good, it is younger than a day, and it names the cookie's
value. Another site can make a browser send the cookie, but cannot read it or forge the form
field that must match it. The cookie's value is itself minted and signed here: a value the
server did not mint (one planted by a neighbouring site, say) is replaced, never signed. A
POST that names its origin (``Origin``, else ``Referer``) must come from this site. The RFC
8058 one-click unsubscribe POST is exempt: mail providers send it without cookies, and the
signed URL alone already authorises it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "digest_csrf"
# Over https the cookie takes the __Host- prefix: then no other host (a sibling subdomain)
# can set one for this site.
CSRF_COOKIE_HTTPS = "__Host-digest_csrf"
CSRF_FIELD = "csrf_token"
CSRF_MAX_AGE = 24 * 3600

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    # Not "no-referrer": with it, browsers send "Origin: null" on our own forms' POSTs, and the
    # Origin check could not tell them from another site's. Other sites still get nothing.
    "referrer-policy": "same-origin",
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
    """Mints the per-browser CSRF value and signs and checks form tokens for it; see the
    module docstring."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="digest.web.csrf")
        self._cookie_key = hashlib.sha256(f"digest.web.csrf-cookie:{secret_key}".encode()).digest()

    def _cookie_mac(self, nonce: str) -> str:
        return hmac.new(self._cookie_key, nonce.encode(), "sha256").hexdigest()[:32]

    def new_cookie_value(self) -> str:
        nonce = secrets.token_urlsafe(24)
        return f"{nonce}.{self._cookie_mac(nonce)}"

    def is_minted(self, cookie_value: str | None) -> bool:
        """Whether this server minted ``cookie_value`` (any other value is replaced)."""
        if not cookie_value or len(cookie_value) > 100:
            return False
        nonce, _, mac = cookie_value.partition(".")
        return bool(nonce) and hmac.compare_digest(mac, self._cookie_mac(nonce))

    def form_token(self, cookie_value: str) -> str:
        return str(self._serializer.dumps(cookie_value))

    def is_valid(self, cookie_value: str | None, form_token: str | None) -> bool:
        if not self.is_minted(cookie_value) or not form_token or len(form_token) > 300:
            return False
        try:
            signed = self._serializer.loads(form_token, max_age=CSRF_MAX_AGE)
        except BadSignature:
            return False
        return isinstance(signed, str) and hmac.compare_digest(signed, cookie_value or "")


def origin_of(url: str) -> str:
    """``scheme://host[:port]``, lower-case, default ports dropped; "" for anything else
    (``null``, a relative URL)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is not None and port != {"http": 80, "https": 443}[parts.scheme]:
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}"


def same_origin(origin: str | None, referer: str | None, allowed: set[str]) -> bool:
    """A POST's ``Origin`` (else its ``Referer``) names one of ``allowed``, or neither is sent.

    Browsers send ``Origin`` with every form POST; a request with neither header comes from
    something that is not a browser, and the CSRF token alone decides.
    """
    named = origin if origin is not None else referer
    return named is None or origin_of(named) in allowed


def csrf_cookie_name(https: bool) -> str:
    return CSRF_COOKIE_HTTPS if https else CSRF_COOKIE


def cookie_options(https: bool) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "secure": https, "path": "/"}
