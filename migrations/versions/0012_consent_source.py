"""subscribers.consent_source

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-03 17:45:00

consent_source says how a confirmed subscriber agreed when it was not a confirm link ("import":
an operator imported them with --confirmed). Existing rows: no source.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases: a batch rebuild of subscribers on SQLite would drop
    # the table that deliveries and feedback reference.
    op.add_column("subscribers", sa.Column("consent_source", sa.String(length=40)))


def downgrade() -> None:
    op.drop_column("subscribers", "consent_source")  # SQLite 3.35+ drops columns in place
