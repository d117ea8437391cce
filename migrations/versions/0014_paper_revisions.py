"""papers.revised_at, papers.revision, deliveries.updates

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 18:10:00

A new version of a paper whose title or abstract changed is dated (revised_at) and described
(revision), so a reader who got an earlier version is told once, in the digest's "Updated"
block; deliveries.updates records which papers that block named. Existing rows: none revised.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("papers", sa.Column("revised_at", sa.DateTime(timezone=True)))
    op.add_column("papers", sa.Column("revision", sa.String(length=80)))
    op.add_column("deliveries", sa.Column("updates", sa.JSON()))


def downgrade() -> None:
    op.drop_column("deliveries", "updates")  # SQLite 3.35+ drops columns in place
    op.drop_column("papers", "revision")
    op.drop_column("papers", "revised_at")
