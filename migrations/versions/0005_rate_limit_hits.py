"""rate_limit_hits: request counters every replica shares

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 07:30:00

One row per counted request (sign-up, state-changing POST, ranking page) in a bucket named by
a keyed hash, until the bucket's window has passed. Nothing to carry over: the counters were
in each process's memory before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_hits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bucket", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_rate_limit_hits_bucket_expires", "rate_limit_hits", ["bucket", "expires_at"]
    )
    op.create_index("ix_rate_limit_hits_expires_at", "rate_limit_hits", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_rate_limit_hits_expires_at", table_name="rate_limit_hits")
    op.drop_index("ix_rate_limit_hits_bucket_expires", table_name="rate_limit_hits")
    op.drop_table("rate_limit_hits")
