"""Engine and session factory from Settings, the Alembic upgrade, and the stale-schema guard.

Nothing is created at import time: callers build a :class:`Database` from their settings.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Engine,
    Integer,
    any_,
    bindparam,
    create_engine,
    event,
    select,
)
from sqlalchemy.exc import DatabaseError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from digest.errors import DigestError, SchemaOutOfDate
from digest.resources import migrations_dir
from digest.store.schema import KeyValue

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# Custom plans only, on every PostgreSQL connection (the send journal's own one too). A prepared
# statement (psycopg prepares one on its fifth run) may otherwise keep a generic plan judged on
# the tables as they were: an outbox still nearly empty at the start of a run gets a plan that
# scans every row, for every later claim or commit. A custom plan costs microseconds.
POSTGRESQL_SESSION_SETUP = "SET plan_cache_mode TO force_custom_plan"


def _postgresql_session(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute(POSTGRESQL_SESSION_SETUP)
    dbapi_connection.commit()


def one_of(session: Session, column: Any, ids: Collection[int]) -> ColumnElement[bool]:
    """``column IN (ids)``; on PostgreSQL ``column = ANY(%s)`` with the ids as one array.

    An IN list has one placeholder per id, so every batch is a new, long statement that
    psycopg parses again (it caches only short ones) and PostgreSQL plans again.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))
    return column.in_(ids)


def new_secret_key() -> str:
    """A fresh secret for a database that has none configured."""
    return secrets.token_urlsafe(48)


class Database:
    """One engine and its sessions; the URL decides SQLite or PostgreSQL.

    ``secret_key`` is the configured secret (DIGEST_SECRET_KEY), if any: the suppression list
    is hashed with it, so every session carries it (``session.info["secret_key"]``); without
    one, the key kept in the database is used, as for signed links.
    """

    def __init__(self, url: str, *, secret_key: str | None = None) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if not self.is_sqlite:
            kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=5)
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        elif self.engine.dialect.name == "postgresql":
            event.listen(self.engine, "connect", _postgresql_session)
        self._sessions = sessionmaker(
            self.engine, expire_on_commit=False, info={"secret_key": secret_key}
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()

    # --- schema -------------------------------------------------------------------------

    # Alembic is imported by the functions that use it: it costs each process 80 ms to import,
    # and a sending process never needs it.

    def _alembic_config(self) -> AlembicConfig:
        from alembic.config import Config as AlembicConfig

        config = AlembicConfig()
        config.set_main_option("script_location", str(migrations_dir()))
        config.attributes["engine"] = self.engine
        return config

    def head_revision(self) -> str | None:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        try:
            with self.engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision()
        except DatabaseError as exc:  # not a database file, no such folder, no permission
            raise DigestError(f"cannot open the database {self.safe_url}: {exc.orig}") from None

    def upgrade(self, revision: str = "head") -> tuple[str | None, str | None]:
        """Bring the schema to ``revision``; returns (revision before, revision after)."""
        if self.is_sqlite:
            path = self.engine.url.database
            if path and path != ":memory:":
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        from alembic import command

        before = self.current_revision()
        command.upgrade(self._alembic_config(), revision)
        return before, self.current_revision()

    def downgrade(self, revision: str) -> None:
        """Take the schema back to ``revision``, keeping the data the migrations can carry."""
        from alembic import command

        command.downgrade(self._alembic_config(), revision)

    def require_current_schema(self) -> None:
        """Refuse to work on a database whose schema is not the code's, saying what to do."""
        if self.is_sqlite and not self._sqlite_file_exists():
            raise SchemaOutOfDate(
                f"there is no database at {self.safe_url} yet: run `digest db upgrade` to create it"
            )
        current, head = self.current_revision(), self.head_revision()
        if current == head:
            return
        if current is not None and not self._knows_revision(current):
            raise SchemaOutOfDate(
                f"the database is at revision {current}, newer than this code (it needs {head}):"
                " run the digest version that wrote it, or set DIGEST_DATABASE_URL to another"
            )
        state = "has no schema yet" if current is None else f"is at revision {current}"
        raise SchemaOutOfDate(
            f"the database {state}, the code needs {head}: run `digest db upgrade`"
        )

    def _sqlite_file_exists(self) -> bool:
        """Connecting would create a missing file: ask first, so a typo leaves nothing behind."""
        path = self.engine.url.database
        return not path or path == ":memory:" or path.startswith("file:") or os.path.exists(path)

    def _knows_revision(self, revision: str) -> bool:
        from alembic.script import ScriptDirectory
        from alembic.util import CommandError

        try:
            return (
                ScriptDirectory.from_config(self._alembic_config()).get_revision(revision)
                is not None
            )
        except CommandError:
            return False

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    # --- facts the service keeps about itself --------------------------------------------

    def secret_key(self) -> str:
        """The link-signing key kept in the database, generated once when none is configured.

        Replicas starting together may race to create it: the loser reads the winner's key.
        """
        try:
            with self.session() as session:
                row = session.get(KeyValue, "secret_key")
                if row is None:
                    row = KeyValue(key="secret_key", value=new_secret_key())
                    session.add(row)
                return row.value
        except IntegrityError:
            value = self.get_value("secret_key")
            assert value is not None
            return value

    def get_value(self, key: str) -> str | None:
        with self.session() as session:
            return session.scalar(select(KeyValue.value).where(KeyValue.key == key))


class SchedulerLock:
    """Only one scheduler per database: a file lock for SQLite, an advisory lock for PostgreSQL.

    On PostgreSQL the lock lives as long as one dedicated connection, so a crashed leader
    releases it by itself.
    """

    ADVISORY_KEY = 0x64696765  # "dige"

    def __init__(self, db: Database) -> None:
        self.db = db
        self._file: Any = None
        self._connection: Any = None

    def acquire(self) -> None:
        if self.db.is_sqlite:
            self._acquire_file()
            return
        connection = self.db.engine.connect()
        got = connection.exec_driver_sql(f"SELECT pg_try_advisory_lock({self.ADVISORY_KEY})")
        if not got.scalar():
            connection.close()
            raise DigestError("another digest scheduler already runs on this database")
        connection.commit()
        self._connection = connection

    def _acquire_file(self) -> None:
        import fcntl

        path = (self.db.engine.url.database or "digest.db") + ".scheduler.lock"
        handle = open(path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise DigestError(
                f"another digest scheduler already runs on {self.db.safe_url} (lock {path}); "
                "SQLite supports one: stop it, or use PostgreSQL for several replicas"
            ) from None
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._connection is not None:
            self._connection.exec_driver_sql(f"SELECT pg_advisory_unlock({self.ADVISORY_KEY})")
            self._connection.commit()
            self._connection.close()
            self._connection = None


def describe_database_error(exc: BaseException) -> str | None:
    """One line for an operator when the database itself refuses (read-only, locked, corrupt,
    gone); None for anything else, which is a bug and keeps its traceback."""
    if isinstance(exc, DatabaseError) and not isinstance(exc, IntegrityError):
        return f"the database refused: {exc.orig}"
    return None
