"""Form text → profile values: the web's counterpart of the CLI's flags, with the same rules.

Topics use the CLI's parser (``text`` or ``text:weight``), so the two can never disagree.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from starlette.datastructures import FormData

from digest.errors import DigestError
from digest.models import Topic
from digest.profiles import WEEKDAYS, parse_topic

MAX_ITEMS = 30
MAX_ITEM_CHARS = 120
_SPLIT = re.compile(r"[\n,;]+")
_CATEGORY = re.compile(r"[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?")  # cs.LG, q-bio.NC, hep-th
QUIET_DAYS = ("skip", "send")  # the Profile.quiet_days values, in the form's order


class FormError(Exception):
    """One field the person must fix, with a message that says how."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


def field_text(form: FormData, name: str, limit: int = 4000) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def split_items(text: str, field_name: str) -> tuple[str, ...]:
    """One item per line or comma; blanks and repeats dropped, order kept."""
    items = [" ".join(part.split()) for part in _SPLIT.split(text)]
    items = list(dict.fromkeys(item for item in items if item))
    if len(items) > MAX_ITEMS:
        raise FormError(field_name, f"at most {MAX_ITEMS} entries, please")
    if any(len(item) > MAX_ITEM_CHARS for item in items):
        raise FormError(field_name, f"each entry can be at most {MAX_ITEM_CHARS} characters")
    return tuple(items)


def parse_topics(text: str, field_name: str = "topics") -> tuple[Topic, ...]:
    """'reward models' or 'reward models:2' per line (or comma); the last spelling wins."""
    topics: dict[str, Topic] = {}
    for item in split_items(text, field_name):
        try:
            topic = parse_topic(item)
        except DigestError as exc:
            raise FormError(field_name, str(exc)) from None
        topics[topic.text.lower()] = topic
    return tuple(topics.values())


def parse_categories(form: FormData, field_name: str) -> tuple[str, ...]:
    """arXiv category names, one per line or comma, written as arXiv writes them."""
    items = split_items(field_text(form, field_name), field_name)
    wrong = next((item for item in items if not _CATEGORY.fullmatch(item)), None)
    if wrong is not None:
        raise FormError(field_name, f"{wrong!r} is not an arXiv category; write it like cs.LG")
    return items


def topic_lines(topics: tuple[Topic, ...]) -> str:
    """Topics back into the textarea's text, one per line, weights only where not 1."""
    return "\n".join(t.text if t.weight == 1.0 else f"{t.text}:{t.weight:g}" for t in topics)


def _number(form: FormData, name: str, low: float, high: float, integer: bool) -> float:
    text = field_text(form, name, 20).strip()
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise FormError(name, f"enter a number from {low:g} to {high:g}") from None
    if not low <= value <= high:
        raise FormError(name, f"enter a number from {low:g} to {high:g}")
    return value


_REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)


@cache
def time_zones() -> tuple[str, ...]:
    """The zones the sign-up select offers without scripts: UTC and the regional IANA names."""
    regional = (z for z in available_timezones() if z.split("/", 1)[0] in _REGIONS)
    return ("UTC", *sorted(regional))


def parse_timezone(text: str) -> str:
    """An IANA zone name ("UTC" when empty), or :class:`FormError` for one nobody has."""
    timezone = text.strip() or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise FormError("timezone", "unknown time zone; use a name like Europe/Berlin") from None
    return timezone


@dataclass
class ManageChanges:
    """The manage form, checked: profile fields, and schedule fields (``paused_until`` too)."""

    profile: dict[str, Any] = field(default_factory=dict)
    schedule: dict[str, Any] = field(default_factory=dict)


def parse_manage_form(form: FormData, *, today: dt.date) -> ManageChanges:
    """Every field of the manage page, checked; raises :class:`FormError` on the first bad one."""
    changes = ManageChanges()
    changes.profile["topics"] = parse_topics(field_text(form, "topics"))
    for name in ("exclude", "categories", "authors"):
        changes.profile[name] = split_items(field_text(form, name), name)
    changes.profile["exclude_categories"] = parse_categories(form, "exclude_categories")
    changes.profile["per_digest"] = int(_number(form, "per_digest", 1, 50, integer=True))
    changes.profile["min_score"] = round(_number(form, "min_score", 0, 1, integer=False), 2)
    changes.profile["trending"] = round(_number(form, "trending", 0, 1, integer=False), 2)
    quiet_days = field_text(form, "quiet_days", 10)
    if quiet_days not in QUIET_DAYS:
        raise FormError("quiet_days", "choose whether to get a note on days with nothing")
    changes.profile["quiet_days"] = quiet_days
    timezone = parse_timezone(field_text(form, "timezone", 64))
    frequency = field_text(form, "frequency", 10)
    if frequency not in ("daily", "weekly"):
        raise FormError("frequency", "choose daily or weekly")
    weekday = field_text(form, "weekday", 3)
    if weekday not in WEEKDAYS:
        raise FormError("weekday", "choose a day of the week")
    changes.schedule = {
        "timezone": timezone,
        "send_hour": int(_number(form, "send_hour", 0, 23, integer=True)),
        "frequency": frequency,
        "weekday": WEEKDAYS.index(weekday),
    }
    changes.schedule["paused_until"] = _pause_date(field_text(form, "paused_until", 10), today)
    return changes


def _pause_date(text: str, today: dt.date) -> dt.date | None:
    """The day digests resume; None (not paused) when empty or not after today."""
    if not text.strip():
        return None
    try:
        until = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise FormError("paused_until", "enter a date as YYYY-MM-DD") from None
    return until if until > today else None
