"""The send loop's one write per message, "DATA began" plus the outcomes finished since, on a
bare DBAPI connection.

This commit must happen before each body goes out, so it is the only statement a sending
process runs per message. Through SQLAlchemy's execution machinery (and psycopg's pipelined
executemany) it cost more CPU than the SMTP transaction itself on PostgreSQL. Here the
statements are compiled once by SQLAlchemy for the engine's dialect and their values converted
by the columns' own bind processors, so the rows read back exactly as if the ORM wrote them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from digest.store.deliveries import (
    FinalOutcome,
    data_started_statement,
    final_outcome_statement,
)


class _Compiled:
    """One statement as its dialect's SQL text, and how to turn values into its parameters."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        self._compiled = compiled
        self._order = compiled.positiontup if compiled.positional else None
        self._processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.bind_processor(dialect)
            if processor is not None:
                self._processors[name] = processor

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        bound = dict(self._compiled.construct_params(dict(values)))
        for name, processor in self._processors.items():
            if name in bound:
                bound[name] = processor(bound[name])
        return [bound[name] for name in self._order] if self._order is not None else bound


class SendJournal:
    """Commits DATA-began marks on a DBAPI connection of its own (reopened after an error)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._mark = _Compiled(data_started_statement(), engine.dialect)
        self._final = _Compiled(final_outcome_statement(), engine.dialect)
        self._connection: Any = None

    def data_started(
        self, delivery_id: int, finished: Sequence[FinalOutcome], now: dt.datetime
    ) -> None:
        """Commit the finished outcomes and the mark; returns once both are durable."""
        if self._connection is None:
            self._connection = self._engine.raw_connection()
        connection = self._connection
        try:
            with self._batch(connection):
                cursor = connection.cursor()
                for outcome in finished:
                    cursor.execute(self._final.sql, self._final.parameters(outcome.values(now)))
                mark = {"delivery_id": delivery_id, "now": now}
                cursor.execute(self._mark.sql, self._mark.parameters(mark))
                cursor.close()
                connection.commit()
        except BaseException:
            self.close(invalidate=True)
            raise

    @staticmethod
    def _batch(connection: Any) -> contextlib.AbstractContextManager[Any]:
        """psycopg's pipeline mode: the statements and the commit in one round trip."""
        pipeline = getattr(connection.driver_connection, "pipeline", None)
        return pipeline() if pipeline is not None else contextlib.nullcontext()

    def close(self, *, invalidate: bool = False) -> None:
        if self._connection is not None:
            if invalidate:
                self._connection.invalidate()
            else:
                self._connection.close()
            self._connection = None
