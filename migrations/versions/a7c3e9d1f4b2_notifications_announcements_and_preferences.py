"""notifications: per-person channel preferences, admin defaults, announcements once per person and talking point

The digest period each person chose (``users.digest``) becomes their announcement frequency: daily and weekly keep
their e-mail at that pace; ``off`` chooses no channel. ``users.digest`` stays for the digest of things needing
attention.

Revision ID: a7c3e9d1f4b2
Revises: d5e1a7c3b902
Create Date: 2026-12-03 12:40:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'a7c3e9d1f4b2'
down_revision = 'd5e1a7c3b902'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channels", sa.String(length=64), nullable=False),
        sa.Column("frequency", sa.String(length=8), nullable=False),
        sa.Column("quiet_start", sa.Integer(), nullable=True),
        sa.Column("quiet_end", sa.Integer(), nullable=True),
        sa.Column("unreachable", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "notification_defaults",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channels", sa.String(length=64), nullable=False),
        sa.Column("frequency", sa.String(length=8), nullable=False),
        sa.Column("quiet_start", sa.Integer(), nullable=True),
        sa.Column("quiet_end", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("talking_point_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["talking_point_id"], ["talking_points.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "talking_point_id", name="ux_announcements_once"),
    )
    op.create_index("ix_announcements_user_status_due", "announcements", ["user_id", "status", "due_at"])
    op.create_index("ix_announcements_tp_status", "announcements", ["talking_point_id", "status"])
    op.create_table(
        "announcement_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("talking_point_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["talking_point_id"], ["talking_points.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_announcement_runs_talking_point_id", "announcement_runs", ["talking_point_id"])
    # what each person chose for the digest becomes the pace of their announcements by e-mail
    op.execute(
        "INSERT INTO notification_preferences (user_id, channels, frequency, unreachable, updated_at) "
        "SELECT id, CASE WHEN digest IN ('daily', 'weekly') THEN 'email' ELSE '' END, "
        "CASE WHEN digest IN ('daily', 'weekly') THEN digest ELSE 'instant' END, '', CURRENT_TIMESTAMP FROM users")


def downgrade():
    op.drop_index("ix_announcement_runs_talking_point_id", table_name="announcement_runs")
    op.drop_table("announcement_runs")
    op.drop_index("ix_announcements_tp_status", table_name="announcements")
    op.drop_index("ix_announcements_user_status_due", table_name="announcements")
    op.drop_table("announcements")
    op.drop_table("notification_defaults")
    op.drop_table("notification_preferences")
