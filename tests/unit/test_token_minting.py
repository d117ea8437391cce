"""Tokens minted with hmac directly are the ones itsdangerous itself would mint and accepts."""

from __future__ import annotations

import datetime as dt

from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from digest.addresses import email_hash
from digest.models import Profile, Subscriber
from digest.tokens import LinkBuilder, Signer


class _FixedClock(TimestampSigner):
    def get_timestamp(self) -> int:
        return 1_777_000_000


def test_a_minted_token_is_byte_identical_to_itsdangerous_for_the_same_second() -> None:
    payload = {"s": 7, "h": email_hash("ada@example.org")[:16], "p": 42, "d": "less"}
    reference = URLSafeTimedSerializer("secret", salt="digest.feedback", signer=_FixedClock)
    minted = Signer("secret").sign_payload("feedback", payload, 1_777_000_000)
    assert minted == reference.dumps(payload)


def test_every_link_of_a_digest_verifies_for_its_purpose() -> None:
    signer = Signer("secret")
    subscriber = Subscriber(id=7, email="ada@example.org", state="confirmed", profile=Profile())
    links = LinkBuilder(signer, "https://d.test", "papers@d.test").for_subscriber(
        subscriber, dt.date(2026, 4, 30), (3, 4)
    )
    assert signer.verify("manage", links.manage.rsplit("/", 1)[1]).subscriber_id == 7
    assert signer.verify("unsubscribe", links.unsubscribe.rsplit("/", 1)[1]).subscriber_id == 7
    assert signer.verify("archive", links.archive.split("/")[-2]).subscriber_id == 7
    more, less = links.feedback[4]
    token, paper, direction = more.split("/")[-3:]
    assert signer.verify("feedback", token).subscriber_id == 7
    assert (paper, direction) == ("4", "more")
    assert less == more.removesuffix("more") + "less"
