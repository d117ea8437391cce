"""The soft-bounce count decays with good deliveries; the complaint rate has a ceiling."""

from __future__ import annotations

import datetime as dt

from digest.deliver.policy import BouncePolicy, soft_count

T0 = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)


def at(*hours: int) -> list[dt.datetime]:
    return [T0 + dt.timedelta(hours=h) for h in hours]


def test_soft_bounces_in_a_row_all_count() -> None:
    assert soft_count(at(0, 24, 48), []) == 3


def test_each_good_delivery_after_takes_one_off() -> None:
    assert soft_count(at(0, 24), at(48)) == 1
    assert soft_count(at(0, 24), at(48, 72, 96)) == 0


def test_a_good_delivery_before_the_bounces_forgives_nothing() -> None:
    assert soft_count(at(24, 48, 72), at(0, 1, 2)) == 3


def test_the_complaint_ceiling_is_a_share_of_digests_sent() -> None:
    policy = BouncePolicy(hard_limit=1, soft_limit=3, soft_days=14)
    assert policy.complaint_rate == 0.003 and policy.complaint_days == 7
    assert not policy.complaints_too_many(3, 1000)  # 0.3 %: not past it
    assert policy.complaints_too_many(4, 1000)
    assert not policy.complaints_too_many(0, 0)
    assert policy.complaints_too_many(1, 0)
