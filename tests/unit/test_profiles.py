"""How people write topics: weights after the last colon, refused when they cannot be right."""

from __future__ import annotations

import pytest

from digest.errors import DigestError
from digest.models import Topic
from digest.profiles import TOPIC_MAX, parse_topic


def test_a_numeric_suffix_weighs_the_topic() -> None:
    assert parse_topic("reward models:2.5") == Topic("reward models", 2.5)
    assert parse_topic("  diffusion  ") == Topic("diffusion", 1.0)


def test_a_colon_followed_by_words_stays_part_of_the_topic() -> None:
    assert parse_topic("Note: agents that plan") == Topic("Note: agents that plan", 1.0)


@pytest.mark.parametrize("text", ["agents:high", "agents:2,5", "agents:nan", "agents:inf", "rl:0"])
def test_a_weight_that_is_not_a_usable_number_is_refused(text: str) -> None:
    with pytest.raises(DigestError, match="weight"):
        parse_topic(text)


def test_a_topic_longer_than_a_phrase_or_two_is_refused() -> None:
    assert parse_topic("x" * TOPIC_MAX).text == "x" * TOPIC_MAX
    with pytest.raises(DigestError, match="at most"):
        parse_topic("x" * (TOPIC_MAX + 1))
