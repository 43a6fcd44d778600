"""delivery: the channel that led to each share (web, api, auto, slack, teams, email, push)

Revision ID: c1d2e3f4a5b6
Revises: b8d2f4a6c913
Create Date: 2026-12-03 12:20:00.000000

Existing shares were made on the web or the API (no record tells which) or by an auto-share fan-out (``auto``):
the auto ones say so, the rest count as web.
"""
from alembic import op
import sqlalchemy as sa


revision = 'c1d2e3f4a5b6'
down_revision = 'b8d2f4a6c913'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shares") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=16), nullable=False, server_default="web"))
    op.execute(sa.text("UPDATE shares SET channel = 'auto' WHERE auto"))


def downgrade():
    with op.batch_alter_table("shares") as batch:
        batch.drop_column("channel")
