"""The send loop's one write per message, "DATA began" plus the outcomes finished since, on a
bare driver connection.

This commit must happen before each body goes out, so it is the only statement a sending
process runs per message. Through SQLAlchemy's execution machinery it cost more CPU than the
SMTP transaction itself on PostgreSQL. Here the statements are compiled once by SQLAlchemy for
the engine's dialect and their values converted by the columns' own bind processors, so the rows
read back exactly as if the ORM wrote them.

On PostgreSQL the commit waits for the server's disk, so it goes over an asyncio connection:
the other SMTP connections keep working meanwhile, and the marks of messages that reach DATA
while a commit is under way share the next one (group commit). SQLite commits in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from digest.store.db import POSTGRESQL_SESSION_SETUP
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


_Mark = tuple[int, Sequence[FinalOutcome], dt.datetime]

# PostgreSQL: the finished outcomes (as final_outcome_statement writes them) and the marks (as
# data_started_statement) in one statement; the ids of the two never overlap. Prepared once per
# connection and run through libpq directly (see _run_prepared).
_GROUP_COMMIT = b"digest_group_commit"
_PREPARE_GROUP_COMMIT = """
PREPARE digest_group_commit (timestamptz, integer[], text[], integer[], text[], integer[]) AS
WITH finished AS (
    UPDATE deliveries AS d
    SET state = f.state, last_code = f.code, last_message = f.message, updated_at = $1,
        claimed_by = NULL, next_attempt_at = NULL,
        sent_at = CASE WHEN f.state = 'sent' THEN $1 END
    FROM unnest($2, $3, $4, $5) AS f (id, state, code, message)
    WHERE d.id = f.id
    RETURNING d.id
)
UPDATE deliveries
SET data_started_at = $1, attempts = attempts + 1, updated_at = $1
WHERE id = ANY($6)
"""


def _integers(values: Sequence[int | None]) -> bytes:
    """A PostgreSQL array literal of integers (None as NULL)."""
    return ("{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}").encode()


def _texts(values: Sequence[str]) -> bytes:
    """A PostgreSQL array literal of strings, each quoted (NUL, which text cannot hold, dropped)."""
    quoted = (v.replace("\\", "\\\\").replace('"', '\\"').replace("\x00", "") for v in values)
    return ("{" + ",".join(f'"{v}"' for v in quoted) + "}").encode("utf-8", "replace")


LINGER = 0.002  # seconds a commit may wait for the marks of messages already on their way


class SendJournal:
    """Commits DATA-began marks on a driver connection of its own (reopened after an error).

    ``marks_coming`` says how many messages have been handed to the transport but have neither
    reached DATA nor finished. On PostgreSQL a commit waits (at most ``LINGER``) until those
    have asked for their marks too, so connections that send side by side share one commit
    rather than taking turns at the disk; the caller calls :meth:`nudge` when one of them
    finishes without reaching DATA.
    """

    def __init__(self, engine: Engine, marks_coming: Callable[[], int] = lambda: 0) -> None:
        self._engine = engine
        self._marks_coming = marks_coming
        self._arrival: asyncio.Future[None] | None = None  # set when a mark or nudge comes
        self._mark = _Compiled(data_started_statement(), engine.dialect)
        self._final = _Compiled(final_outcome_statement(), engine.dialect)
        self._grouped = engine.dialect.name == "postgresql"
        self._connection: Any = None
        self._waiting: list[_Mark] = []
        self._committed: asyncio.Future[None] | None = None  # when ``_waiting`` is durable
        self._committer: asyncio.Task[None] | None = None

    async def data_started(
        self, delivery_id: int, finished: Sequence[FinalOutcome], now: dt.datetime
    ) -> None:
        """Commit the finished outcomes and the mark; returns once both are durable."""
        if not self._grouped:
            self._commit_now([(delivery_id, finished, now)])
            return
        if self._committed is None:
            self._committed = asyncio.get_running_loop().create_future()
        committed = self._committed
        self._waiting.append((delivery_id, finished, now))
        self.nudge()
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_waiting())
        await asyncio.shield(committed)

    def nudge(self) -> None:
        """Something ``marks_coming`` counts has changed: a lingering commit looks again."""
        arrival, self._arrival = self._arrival, None
        if arrival is not None and not arrival.done():
            arrival.set_result(None)

    async def _linger(self) -> None:
        """Wait until no mark is on its way, or ``LINGER`` has passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LINGER
        while self._marks_coming() > 0 and loop.time() < deadline:
            arrival = self._arrival = loop.create_future()
            timer = loop.call_at(deadline, self.nudge)
            try:
                await arrival
            finally:
                timer.cancel()

    def _statements(self, marks: Sequence[_Mark]) -> Iterator[tuple[str, Any]]:
        for delivery_id, finished, now in marks:
            for outcome in finished:
                yield self._final.sql, self._final.parameters(outcome.values(now))
            yield self._mark.sql, self._mark.parameters({"delivery_id": delivery_id, "now": now})

    def _commit_now(self, marks: Sequence[_Mark]) -> None:
        if self._connection is None:
            self._connection = self._engine.raw_connection()
        connection = self._connection
        try:
            cursor = connection.cursor()
            for sql, parameters in self._statements(marks):
                cursor.execute(sql, parameters)
            cursor.close()
            connection.commit()
        except BaseException:
            connection.invalidate()
            self._connection = None
            raise

    async def _commit_waiting(self) -> None:
        """Commit what is waiting, then what came meanwhile, until nothing is left."""
        while self._waiting:
            await self._linger()
            marks, self._waiting = self._waiting, []
            committed, self._committed = self._committed, None
            assert committed is not None
            try:
                await self._commit_async(marks)
            except asyncio.CancelledError:
                committed.cancel()
                raise
            except BaseException as exc:  # every waiter of this batch gets the failure
                committed.set_exception(exc)
                committed.exception()  # retrieved here, whoever still awaits it
            else:
                committed.set_result(None)

    async def _commit_async(self, marks: Sequence[_Mark]) -> None:
        """One statement, so one round trip: in autocommit it is its own transaction."""
        import psycopg  # only PostgreSQL gets here

        if self._connection is None:
            url = self._engine.url.set(drivername="postgresql")
            conninfo = url.render_as_string(hide_password=False)
            connection = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
            await connection.execute("SET client_encoding TO 'UTF8'")
            await connection.execute(POSTGRESQL_SESSION_SETUP)
            await connection.execute(_PREPARE_GROUP_COMMIT)
            self._connection = connection
        connection = self._connection
        finished = [outcome for _, outcomes, _ in marks for outcome in outcomes]
        parameters = [
            marks[-1][2].isoformat().encode(),  # the run's clock: the same for every mark
            _integers([outcome.delivery_id for outcome in finished]),
            _texts([outcome.state for outcome in finished]),
            _integers([outcome.code for outcome in finished]),
            _texts([outcome.message[:2000] for outcome in finished]),
            _integers([delivery_id for delivery_id, _, _ in marks]),
        ]
        try:
            await _run_prepared(connection.pgconn, _GROUP_COMMIT, parameters)
        except BaseException:
            self._connection = None
            await connection.close()
            raise

    async def aclose(self) -> None:
        if self._committer is not None and not self._committer.done():
            self._committer.cancel()
            with contextlib.suppress(BaseException):
                await self._committer
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._grouped:
            await connection.close()
        else:
            connection.close()


async def _run_prepared(pgconn: Any, name: bytes, parameters: Sequence[bytes]) -> None:
    """Run a prepared statement on a nonblocking libpq connection, waiting in the event loop.

    The statement runs for every message; psycopg's cursor machinery (query conversion, value
    dumpers, result objects) cost more client CPU per message than libpq's own calls do.
    """
    from psycopg import OperationalError
    from psycopg.pq import ExecStatus

    loop = asyncio.get_running_loop()
    pgconn.send_query_prepared(name, parameters)
    while pgconn.flush():  # 1 while some of the query is still to be sent
        await _socket_ready(loop, pgconn.socket, write=True)
    pgconn.consume_input()
    while pgconn.is_busy():
        await _socket_ready(loop, pgconn.socket, write=False)
        pgconn.consume_input()
    error = None
    while (result := pgconn.get_result()) is not None:
        if result.status != ExecStatus.COMMAND_OK and error is None:
            error = result.error_message.decode("utf-8", "replace").strip()
    if error is not None:
        raise OperationalError(f"recording DATA began failed: {error}")


async def _socket_ready(loop: asyncio.AbstractEventLoop, fd: int, *, write: bool) -> None:
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    (loop.add_writer if write else loop.add_reader)(fd, wake)
    try:
        await ready
    finally:
        (loop.remove_writer if write else loop.remove_reader)(fd)
