"""Alembic environment: uses the engine that digest.store.db.Database hands over.

On SQLite, foreign keys are off while migrations run: batch mode rebuilds a table by dropping
it, and with them on that drop would delete every row that references it (ON DELETE CASCADE).
The pragma only takes effect outside a transaction, so it is set before the first statement;
the references are checked before the migrations commit.
"""

from alembic import context
from sqlalchemy import Connection

from digest.store.schema import Base

target_metadata = Base.metadata
engine = context.config.attributes["engine"]


def _check_references(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"a migration left rows whose references are broken: {broken[:5]}")


with engine.connect() as connection:
    is_sqlite = connection.dialect.name == "sqlite"
    if is_sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=is_sqlite,
            )
            context.run_migrations()
            if is_sqlite:
                _check_references(connection)
    finally:
        if is_sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
