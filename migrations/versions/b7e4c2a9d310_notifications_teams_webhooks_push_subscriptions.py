"""notifications: Teams Workflows webhooks (per team or person), the cards posted, Web Push subscriptions

Revision ID: b7e4c2a9d310
Revises: e5a1c0d9b7f2
Create Date: 2026-12-03 12:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'b7e4c2a9d310'
down_revision = 'e5a1c0d9b7f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "teams_webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("url_encrypted", sa.Text(), nullable=False),
        sa.Column("url_hint", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id"),
        sa.UniqueConstraint("user_id"),
    )
    op.create_table(
        "teams_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("talking_point_id", sa.Integer(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["webhook_id"], ["teams_webhooks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["talking_point_id"], ["talking_points.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("webhook_id", "talking_point_id", name="ux_teams_posts_once"),
    )
    op.create_index("ix_teams_posts_talking_point_id", "teams_posts", ["talking_point_id"])
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("endpoint_sha256", sa.String(length=64), nullable=False),
        sa.Column("endpoint_encrypted", sa.Text(), nullable=False),
        sa.Column("keys_encrypted", sa.Text(), nullable=False),
        sa.Column("device", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("endpoint_sha256"),
    )
    op.create_index("ix_push_subscriptions_user_id", "push_subscriptions", ["user_id"])


def downgrade():
    op.drop_index("ix_push_subscriptions_user_id", table_name="push_subscriptions")
    op.drop_table("push_subscriptions")
    op.drop_index("ix_teams_posts_talking_point_id", table_name="teams_posts")
    op.drop_table("teams_posts")
    op.drop_table("teams_webhooks")
