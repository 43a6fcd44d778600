"""reach: an index of the shares that cost something (the reports' spend reads them, not every share of the range)

Revision ID: b3d9f1e7a2c4
Revises: a7c3e9d1f4b2
Create Date: 2026-12-03 15:50:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'b3d9f1e7a2c4'
down_revision = 'a7c3e9d1f4b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_shares_priced", "shares", ["id", "price_micros"], unique=False,
                    sqlite_where=sa.text("price_micros IS NOT NULL"),
                    postgresql_where=sa.text("price_micros IS NOT NULL"))


def downgrade():
    op.drop_index("ix_shares_priced", table_name="shares")
