"""Alembic environment: uses the engine that digest.store.db.Database hands over."""

from alembic import context

from digest.store.schema import Base

target_metadata = Base.metadata
engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
