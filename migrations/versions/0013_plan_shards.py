"""plan_shards: replicas share the planning of a run

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 07:00:00

Each planning run on PostgreSQL is split into ranges of subscriber ids that replicas claim
with FOR UPDATE SKIP LOCKED (digest/store/plan_shards.py). Nothing to carry over.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_shards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_key", sa.String(length=100), nullable=False),
        sa.Column("first_id", sa.BigInteger(), nullable=False),
        sa.Column("end_id", sa.BigInteger()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        sa.Column("done_by", sa.String(length=100)),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_key", "first_id", name="uq_plan_shards_key_first"),
    )


def downgrade() -> None:
    op.drop_table("plan_shards")
