"""editions: a digest's picks stored once and shared by the deliveries that got it

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 06:55:00

Each existing delivery with picks becomes an edition of its own (same id), its items become the
edition's items, and delivery_items goes. Downgrade copies them back, one row per delivery.

On SQLite, altering `deliveries` rebuilds the table, and dropping the old one cascades to every
table that references it (foreign keys are on). So the picks are moved out of the way of that
rebuild first, in both directions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PICK_COLUMNS = "paper_id, position, score, relevance, trending, topic, reasons, version"


def _pick_columns() -> list[sa.Column[object]]:
    """What a pick records besides where it belongs (the same in both tables)."""
    return [
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("relevance", sa.Float(), nullable=False),
        sa.Column("trending", sa.Float(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "editions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "edition_items",
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        *_pick_columns(),
        sa.ForeignKeyConstraint(["edition_id"], ["editions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("edition_id", "position"),
    )
    op.create_index("ix_edition_items_paper_id", "edition_items", ["paper_id"])
    op.execute(
        "INSERT INTO editions (id, digest_date, created_at) "
        "SELECT d.id, d.digest_date, d.created_at FROM deliveries d "
        "WHERE EXISTS (SELECT 1 FROM delivery_items i WHERE i.delivery_id = d.id)"
    )
    op.execute(
        f"INSERT INTO edition_items (edition_id, {_PICK_COLUMNS}) "
        f"SELECT delivery_id, {_PICK_COLUMNS} FROM delivery_items"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('editions', 'id'), "
            "COALESCE((SELECT MAX(id) FROM editions), 0) + 1, false)"
        )
    op.drop_index("ix_delivery_items_subscriber_id", table_name="delivery_items")
    op.drop_index("ix_delivery_items_paper_id", table_name="delivery_items")
    op.drop_table("delivery_items")

    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.add_column(sa.Column("edition_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_deliveries_edition_id", ["edition_id"])
        batch_op.create_foreign_key(
            "fk_deliveries_edition_id_editions", "editions", ["edition_id"], ["id"]
        )
    op.execute("UPDATE deliveries SET edition_id = id WHERE id IN (SELECT id FROM editions)")


def downgrade() -> None:
    picked = ", ".join("i." + column for column in _PICK_COLUMNS.split(", "))
    op.execute(  # a plain copy: nothing references it while deliveries is rebuilt
        f"CREATE TABLE delivery_items_copy AS SELECT d.id AS delivery_id, d.subscriber_id, "
        f"{picked} FROM deliveries d JOIN edition_items i ON i.edition_id = d.edition_id"
    )
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_constraint("fk_deliveries_edition_id_editions", type_="foreignkey")
        batch_op.drop_index("ix_deliveries_edition_id")
        batch_op.drop_column("edition_id")
    op.drop_index("ix_edition_items_paper_id", table_name="edition_items")
    op.drop_table("edition_items")
    op.drop_table("editions")

    op.create_table(
        "delivery_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        *_pick_columns(),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_id", "paper_id", name="uq_delivery_item"),
    )
    op.create_index("ix_delivery_items_paper_id", "delivery_items", ["paper_id"])
    op.create_index("ix_delivery_items_subscriber_id", "delivery_items", ["subscriber_id"])
    columns = f"delivery_id, subscriber_id, {_PICK_COLUMNS}"
    op.execute(
        f"INSERT INTO delivery_items ({columns}) SELECT {columns} FROM delivery_items_copy "
        "ORDER BY delivery_id, position"
    )
    op.drop_table("delivery_items_copy")
