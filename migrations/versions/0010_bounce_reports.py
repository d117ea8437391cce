"""bounce_reports and bounce_events: reports that come back after sending, kept for audit

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-03 17:45:00

A DSN, an ARF complaint or a provider's webhook call is kept byte for byte (bounce_reports,
unique per report so the same one counts once), with one row per recipient it names and what
that did (bounce_events). Nothing to carry over: only in-session replies counted before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bounce_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=255)),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_key"),
    )
    op.create_index("ix_bounce_reports_received_at", "bounce_reports", ["received_at"])
    op.create_table(
        "bounce_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=320)),
        sa.Column("verp_id", sa.String(length=40)),
        sa.Column("delivery_id", sa.Integer()),
        sa.Column("subscriber_id", sa.Integer()),
        sa.Column("status", sa.String(length=16)),
        sa.Column("diagnostic", sa.Text()),
        sa.Column("detector", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["bounce_reports.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("report_id", "delivery_id", "subscriber_id", "created_at"):
        op.create_index(f"ix_bounce_events_{column}", "bounce_events", [column])


def downgrade() -> None:
    op.drop_table("bounce_events")  # its indexes go with it
    op.drop_index("ix_bounce_reports_received_at", table_name="bounce_reports")
    op.drop_table("bounce_reports")
