"""papers.metadata_attempts/metadata_checked_at and paper_tldrs

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-03 14:30:00

A paper first seen without authors or categories is completed once from the arXiv API; the
two columns record that it was asked (and how many requests failed), so a bad id is not asked
every run. paper_tldrs caches each paper's one-line TL;DR. Existing rows start unasked.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases: a batch rebuild of papers on SQLite would drop the
    # table that sightings and edition_items reference.
    op.add_column(
        "papers", sa.Column("metadata_attempts", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("papers", sa.Column("metadata_checked_at", sa.DateTime(timezone=True)))
    op.create_table(
        "paper_tldrs",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id"),
    )


def downgrade() -> None:
    op.drop_table("paper_tldrs")
    op.drop_column("papers", "metadata_checked_at")  # SQLite 3.35+ drops columns in place
    op.drop_column("papers", "metadata_attempts")
