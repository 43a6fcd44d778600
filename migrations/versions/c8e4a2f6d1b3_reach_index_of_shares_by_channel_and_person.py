"""reach: an index of the shares by channel and person (participation counts the people who shared from each
channel over a range from it, not from every row of the shares)

Revision ID: c8e4a2f6d1b3
Revises: b3d9f1e7a2c4
Create Date: 2026-12-03 16:45:00.000000
"""
from alembic import op

revision = 'c8e4a2f6d1b3'
down_revision = 'b3d9f1e7a2c4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_shares_channel_user_id_created_at", "shares", ["channel", "user_id", "created_at", "status"],
                    unique=False)


def downgrade():
    op.drop_index("ix_shares_channel_user_id_created_at", table_name="shares")
