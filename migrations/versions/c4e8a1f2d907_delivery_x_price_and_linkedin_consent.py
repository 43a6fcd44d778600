"""delivery: the price each share cost on its network, and consents to automatic posting

Revision ID: c4e8a1f2d907
Revises: c3f1a9e5d720
Create Date: 2026-12-03 09:20:00

X charges per post: each share records the price it was sent at (millionths of a dollar), so the month's spend is
counted from the shares and a later price change does not rewrite it. LinkedIn's automatic posting needs a consent
renewed every year: people already auto-sharing on LinkedIn when this runs start their year today (their choice to
auto-share with LinkedIn connected was their consent), so nobody's auto-shares pause on upgrade.
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "c4e8a1f2d907"
down_revision = "c3f1a9e5d720"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shares", schema=None) as batch_op:
        batch_op.add_column(sa.Column("price_micros", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_shares_network_status_published_at", ["network", "status", "published_at"],
                              unique=False)
    op.create_table(
        "auto_share_consents",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(length=32), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_auto_share_consents_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "network", name=op.f("pk_auto_share_consents")),
    )
    now = dt.datetime.now(dt.UTC)
    op.execute(sa.text(
        "INSERT INTO auto_share_consents (user_id, network, consented_at) "
        "SELECT DISTINCT users.id, 'linkedin', :now FROM users JOIN connected_accounts "
        "ON connected_accounts.user_id = users.id AND connected_accounts.network = 'linkedin' "
        "AND connected_accounts.status = 'active' WHERE users.auto_share_topics <> ''"
    ).bindparams(sa.bindparam("now", now, type_=sa.DateTime(timezone=True))))


def downgrade():
    op.drop_table("auto_share_consents")
    with op.batch_alter_table("shares", schema=None) as batch_op:
        batch_op.drop_index("ix_shares_network_status_published_at")
        batch_op.drop_column("price_micros")
