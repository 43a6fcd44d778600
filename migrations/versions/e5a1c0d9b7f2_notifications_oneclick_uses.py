"""notifications: one-tap share links used (each link works once)

Revision ID: e5a1c0d9b7f2
Revises: c1d2e3f4a5b6
Create Date: 2026-12-03 12:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'e5a1c0d9b7f2'
down_revision = 'c1d2e3f4a5b6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "oneclick_uses",
        sa.Column("jti", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("talking_point_id", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("share_id", sa.Integer(), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["share_id"], ["shares.id"]),
        sa.ForeignKeyConstraint(["talking_point_id"], ["talking_points.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("jti"),
    )
    op.create_index("ix_oneclick_uses_user_id", "oneclick_uses", ["user_id"])
    op.create_index("ix_oneclick_uses_talking_point_id", "oneclick_uses", ["talking_point_id"])


def downgrade():
    op.drop_index("ix_oneclick_uses_talking_point_id", table_name="oneclick_uses")
    op.drop_index("ix_oneclick_uses_user_id", table_name="oneclick_uses")
    op.drop_table("oneclick_uses")
