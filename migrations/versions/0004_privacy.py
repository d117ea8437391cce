"""privacy: keyed suppression hashes, rotatable feed links, subscriber ids never reused

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-03 07:45:00

- suppressions.scheme: the rows so far hold a bare SHA-256 of an address we no longer have, so
  they cannot be re-keyed; they become "sha256" rows, still honoured, and new rows are "hmac".
- subscribers.feed_generation: part of every feed link, so the manage page can replace one.
- subscribers on SQLite is rebuilt with AUTOINCREMENT: without it SQLite hands the largest id
  out again after that subscriber is deleted, and an old signed link would name the new one.
  (PostgreSQL's serial sequence never hands an id out twice.) The rebuild keeps every row and
  id; env.py turns foreign keys off for it, so the drop does not cascade.

Downgrade keeps both columns and AUTOINCREMENT: the older code ignores them, and the scheme
column's default marks the rows it writes as bare SHA-256, which they are. Dropping it would
leave the keyed rows indistinguishable from bare ones on the way back up, and never matched.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_column(table: str, column: str) -> bool:
    return column in {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    if not _has_column("suppressions", "scheme"):
        op.add_column(
            "suppressions",
            sa.Column("scheme", sa.String(length=10), nullable=False, server_default="sha256"),
        )
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "subscribers",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch_op:
        if not _has_column("subscribers", "feed_generation"):
            batch_op.add_column(
                sa.Column("feed_generation", sa.Integer(), nullable=False, server_default="0")
            )
    # Copying the rows into the rebuilt table sets its sequence to the largest id so far.


def downgrade() -> None:
    """Nothing to undo (see above)."""
