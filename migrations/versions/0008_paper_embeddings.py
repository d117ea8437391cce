"""paper_embeddings: each paper's sentence embedding, per embedding model

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 18:20:00

Papers are embedded once, at ingest, with the model DIGEST_EMBEDDING_MODEL names; the model is
part of the key, so naming another model embeds the papers again (lazily, the first time a
digest needs them) without losing the old vectors.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "paper_embeddings",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("dimensions", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", "model"),
    )


def downgrade() -> None:
    op.drop_table("paper_embeddings")
