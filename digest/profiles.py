"""How people write topics and weekdays, read the same way by the CLI and the web forms."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digest.errors import DigestError
from digest.models import Topic

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


TOPIC_MAX = 200  # characters: a topic is a phrase or two, not an abstract
_WEIGHT_LIKE = re.compile(r"\S{1,12}")  # what follows the last colon when a weight was meant


def parse_topic(text: str) -> Topic:
    """'reward models' or 'reward models:2.5': a numeric suffix after the last colon weighs it."""
    body, weight = _split_weight(text)
    topic = body.strip()
    if not topic:
        raise DigestError("a topic cannot be empty")
    if len(topic) > TOPIC_MAX:
        raise DigestError(f"a topic is at most {TOPIC_MAX} characters: {topic[:40]!r}...")
    return Topic(topic, weight)


def _split_weight(text: str) -> tuple[str, float]:
    """A short suffix without spaces that is not a number ('agents:high') was meant as a
    weight, so it is refused; 'Note: agents' (a space after the colon) stays one topic."""
    body, sep, suffix = text.rpartition(":")
    if not (sep and body.strip() and _WEIGHT_LIKE.fullmatch(suffix)):
        return text, 1.0
    try:
        value = float(suffix)
    except ValueError:
        raise DigestError(
            f"topic weight must be a number, as in 'reward models:2': {text!r}"
        ) from None
    if not 0 < value <= 10:
        raise DigestError(f"topic weight must be in (0, 10]: {text!r}")
    return body, value


def check_timezone(name: str) -> str:
    """The IANA zone name as given, or DigestError saying what a valid one looks like."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DigestError(f"unknown time zone {name!r} (use e.g. Europe/Berlin)") from None
    return name
