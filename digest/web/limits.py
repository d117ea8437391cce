"""The site's request limits, counted in the database (:mod:`digest.store.rate_limits`).

Per client the unit is the network (:func:`~digest.web.clients.network_of`: an IPv4 address,
an IPv6 /64). Sign-up also counts per mailbox, as the mailbox receives mail: ``ada+1@`` and
``ada+2@`` are one mailbox, and so are ``a.da@gmail.com`` and ``ada@googlemail.com``; and
site-wide per hour. Whatever the path, a mailbox gets at most three account emails from the
sign-up form a day. Buckets are named by a keyed hash, so the table holds no address.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from digest.config import Settings
from digest.store import rate_limits
from digest.store.db import Database
from digest.store.rate_limits import Allowance

log = logging.getLogger(__name__)

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)
SWEEP_EVERY = 200  # counted requests per process between sweeps of expired rows
TAKE_CHUNK = 200  # account emails counted per transaction (each bucket an advisory lock)

# Per client network and hour, for each POST that sends mail or changes state. The RFC 8058
# one-click POST is not limited per client: mail providers send everyone's from a few shared
# hosts, the signed URL already authorises it, and a repeat changes nothing.
POST_LIMITS: dict[str, int] = {
    "confirm": 20,  # sends the welcome email
    "manage": 30,  # sends "preferences changed"
    "unsubscribe": 30,
    "resubscribe": 20,
    "feedback": 120,  # one per paper of a digest is normal
    "delete": 10,
}

# Providers that deliver ``a.da@`` to ``ada@``, and the domain each is an alias of.
DOTS_IGNORED = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def mailbox_of(address: str) -> str:
    """The mailbox a normalised address lands in: plus-tag dropped, dots where ignored."""
    local, _, domain = address.lower().rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in DOTS_IGNORED:
        domain = DOTS_IGNORED[domain]
        local = local.replace(".", "") or local
    return f"{local}@{domain}"


@dataclass(frozen=True)
class RateLimits:
    """How much is allowed; :class:`Limiter` counts against it."""

    per_ip: int = 20  # sign-ups per client network and hour
    per_address: int = 5  # sign-ups per mailbox and hour
    overall: int = 100  # sign-ups per hour, site-wide (DIGEST_SIGNUPS_PER_HOUR)
    mails_per_day: int = 3  # account emails per mailbox and day, whatever asked for them
    ranked_per_minute: int = 30  # ranking pages per client network (DIGEST_RANKED_PAGES_...)
    window: float = 3600.0  # seconds: the sign-up and POST window
    posts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        return cls(
            overall=settings.signups_per_hour, ranked_per_minute=settings.ranked_pages_per_minute
        )

    def post_limit(self, action: str) -> int:
        return {**POST_LIMITS, **self.posts}[action]


@dataclass(frozen=True)
class SignupRefusal:
    """Why a sign-up was not counted; ``mails`` says the mailbox had its emails for today."""

    mails: bool


class Limiter:
    """:class:`RateLimits` counted in the database, with the app's clock."""

    def __init__(
        self,
        limits: RateLimits,
        db: Database,
        secret: str,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.limits = limits
        self.window = limits.window
        self._db = db
        self._key = hashlib.sha256(f"digest.web.limits:{secret}".encode()).digest()
        self._clock = clock
        self._counter = itertools.count(1)

    def bucket(self, kind: str, value: str) -> str:
        mac = hmac.new(self._key, f"{kind}\x00{value}".encode(), "sha256").hexdigest()
        return f"{kind}:{mac[:40]}"

    def _take(self, *allowances: Allowance) -> Allowance | None:
        now = self._clock()
        with self._db.session() as session:
            refused = rate_limits.take(session, allowances, now=now)
        if next(self._counter) % SWEEP_EVERY == 0:
            with self._db.session() as session:
                rate_limits.sweep_expired(session, now=now)
        return refused

    def allow(self, action: str, network: str) -> bool:
        """Count one ``action`` POST from ``network``; False when it is over the limit."""
        window = dt.timedelta(seconds=self.window)
        limit = self.limits.post_limit(action)
        return self._take(Allowance(self.bucket(action, network), limit, window)) is None

    def allow_ranking(self, network: str) -> bool:
        """Count one page that ranks the window's papers for ``network``."""
        limit = self.limits.ranked_per_minute
        return self._take(Allowance(self.bucket("ranked", network), limit, MINUTE)) is None

    def allow_account_mail(self, address: str) -> bool:
        """Count one account email to ``address`` asked for outside a sign-up (the CLI)."""
        limit = self.limits.mails_per_day
        return self._take(Allowance(self.bucket("mails", mailbox_of(address)), limit, DAY)) is None

    def allow_account_mails(self, addresses: Sequence[str]) -> list[bool]:
        """:meth:`allow_account_mail` for many addresses, TAKE_CHUNK per transaction."""
        limit, allowed = self.limits.mails_per_day, []
        for start in range(0, len(addresses), TAKE_CHUNK):
            allowances = [
                Allowance(self.bucket("mails", mailbox_of(address)), limit, DAY)
                for address in addresses[start : start + TAKE_CHUNK]
            ]
            with self._db.session() as session:
                allowed += rate_limits.take_each(session, allowances, now=self._clock())
        return allowed

    def refuse_signup(self, network: str, address: str) -> SignupRefusal | None:
        """Count one sign-up that will email ``address``; why not, when it must not."""
        window, mailbox, limits = (
            dt.timedelta(seconds=self.window),
            mailbox_of(address),
            self.limits,
        )
        mails = Allowance(self.bucket("mails", mailbox), limits.mails_per_day, DAY)
        refused = self._take(
            Allowance(self.bucket("signup-net", network), limits.per_ip, window),
            Allowance(self.bucket("signup-box", mailbox), limits.per_address, window),
            Allowance(self.bucket("signup-all", ""), limits.overall, window),
            mails,
        )
        return None if refused is None else SignupRefusal(mails=refused == mails)
