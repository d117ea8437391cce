"""How people write topics and weekdays, read the same way by the CLI and the web forms."""

from __future__ import annotations

from digest.errors import DigestError
from digest.models import Topic

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_topic(text: str) -> Topic:
    """'reward models' or 'reward models:2.5': a numeric suffix after the last colon weighs it."""
    body, sep, weight = text.rpartition(":")
    if sep and body.strip():
        try:
            value = float(weight)
        except ValueError:
            pass
        else:
            if not 0 < value <= 10:
                raise DigestError(f"topic weight must be in (0, 10]: {text!r}")
            return Topic(body.strip(), value)
    if not text.strip():
        raise DigestError("a topic cannot be empty")
    return Topic(text.strip(), 1.0)
