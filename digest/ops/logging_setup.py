"""Logging for the long-running commands: one JSON object per line when stderr is not a terminal.

A journal or a log shipper gets fields it can filter on (run_id, job, source, subscriber_id);
a person at a terminal gets plain lines. Callers pass identifiers with ``extra={...}``; the
subscriber's address is never a field, and messages must not contain it at info level.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

RUN_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("digest_run_id", default=None)
FIELDS = ("run_id", "job", "source", "subscriber_id", "delivery_id")


@contextmanager
def run_context(run_id: str) -> Iterator[None]:
    """Every record logged inside (in this thread or task) carries this run id."""
    token = RUN_ID.set(run_id)
    try:
        yield
    finally:
        RUN_ID.reset(token)


class RunIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "run_id", None) is None:
            record.run_id = RUN_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """{"ts", "level", "logger", "message", run_id, source, subscriber_id, ...} per line."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                data[name] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [f"{n}={getattr(record, n)}" for n in FIELDS if getattr(record, n, None)]
        return f"{line}  [{' '.join(fields)}]" if fields else line


def configure_logging(
    stream: TextIO | None = None, *, level: int = logging.INFO, json_lines: bool | None = None
) -> None:
    """Send the root logger to `stream` (stderr), JSON unless it is a terminal."""
    stream = stream or sys.stderr
    if json_lines is None:
        json_lines = not stream.isatty()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RunIdFilter())
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else PlainFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_digest", False):
            root.removeHandler(old)
    handler._digest = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("apscheduler", "alembic"):  # per-tick and per-health-check chatter
        logging.getLogger(noisy).setLevel(logging.WARNING)
