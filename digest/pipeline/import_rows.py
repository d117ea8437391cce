"""The rows of a subscriber import file (CSV with a header, or JSON Lines), checked one by one.

Pure: bytes in, :class:`ImportRow` or :class:`BadRow` out, each with the line it came from, so
a bad row is reported by its line number and the rest go on. The checks are the CLI's own:
:func:`~digest.addresses.normalize_email`, :func:`~digest.profiles.parse_topic` and
:func:`~digest.profiles.check_timezone`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from digest.addresses import normalize_email
from digest.errors import DigestError
from digest.models import Profile, Topic
from digest.profiles import check_timezone, parse_topic

REQUIRED = ("email", "topics")
OPTIONAL = ("exclude", "timezone", "send_hour", "frequency")
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".json")


@dataclass(frozen=True)
class ImportRow:
    line: int
    email: str
    profile: Profile
    timezone: str | None
    send_hour: int | None
    frequency: str | None


@dataclass(frozen=True)
class BadRow:
    line: int
    error: str


def read_rows(data: bytes, name: str) -> Iterator[ImportRow | BadRow]:
    """Every row of the file, good or bad; DigestError when the file as a whole is unusable
    (not UTF-8, a CSV header without email or topics)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DigestError(f"{name} is not UTF-8 text (byte {exc.start})") from None
    if is_json_lines(text, name):
        return _json_lines(text)
    return _csv_rows(text, name)


def is_json_lines(text: str, name: str) -> bool:
    """By the file's extension, else by its first character: JSON Lines start with ``{``."""
    if name.lower().endswith(JSON_LINES_SUFFIXES):
        return True
    return name.lower().endswith(".csv") is False and text.lstrip().startswith("{")


def _csv_rows(text: str, name: str) -> Iterator[ImportRow | BadRow]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [field.strip().lower() for field in reader.fieldnames or ()]
    missing = [field for field in REQUIRED if field not in header]
    if missing:
        raise DigestError(
            f"{name}: the header row must name {' and '.join(REQUIRED)} (missing: "
            f"{', '.join(missing)}); optional columns: {', '.join(OPTIONAL)}"
        )
    reader.fieldnames = header
    return _checked((reader.line_num, record) for record in reader)


def _json_lines(text: str) -> Iterator[ImportRow | BadRow]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield BadRow(number, f"not JSON: {exc.msg}")
            continue
        if not isinstance(record, dict):
            yield BadRow(number, "not a JSON object")
            continue
        yield from _checked([(number, record)])


def _checked(records: Any) -> Iterator[ImportRow | BadRow]:
    for line, record in records:
        try:
            yield import_row(line, record)
        except DigestError as exc:
            yield BadRow(line, str(exc))


def _items(value: Any) -> list[str]:
    """A CSV cell "a; b" or a JSON list ["a", "b"]: the non-empty items."""
    if value is None:
        return []
    parts = value if isinstance(value, list) else str(value).split(";")
    return [str(part).strip() for part in parts if str(part).strip()]


def import_row(line: int, record: Mapping[str, Any]) -> ImportRow:
    """One record checked; DigestError with the reason when it cannot be imported."""
    email = normalize_email(str(record.get("email") or ""))
    topics = {t.text.lower(): t for t in map(parse_topic, _items(record.get("topics")))}
    if not topics:
        raise DigestError("no topics (separate several with ';')")
    exclude = tuple(dict.fromkeys(_items(record.get("exclude"))))
    timezone = _text(record.get("timezone"))
    if timezone is not None:
        check_timezone(timezone)
    frequency = _text(record.get("frequency"))
    if frequency is not None and frequency not in ("daily", "weekly"):
        raise DigestError(f"frequency must be daily or weekly, not {frequency!r}")
    profile = Profile(topics=tuple[Topic, ...](topics.values()), exclude=exclude)
    return ImportRow(line, email, profile, timezone, _send_hour(record), frequency)


def _text(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _send_hour(record: Mapping[str, Any]) -> int | None:
    value = _text(record.get("send_hour"))
    if value is None:
        return None
    if not value.isdigit() or not 0 <= int(value) <= 23:
        raise DigestError(f"send_hour must be a whole hour 0-23, not {value!r}")
    return int(value)
