"""delivery: fan-out heartbeat, and one auto-share per talking point, person and network

Revision ID: 5d1f0c7a9b21
Revises: 274515e2d7e7
Create Date: 2026-11-22 02:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d1f0c7a9b21'
down_revision = '274515e2d7e7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('fanouts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.create_index('ux_shares_auto_once', ['talking_point_id', 'user_id', 'network'], unique=True,
                              sqlite_where=sa.text('auto'), postgresql_where=sa.text('auto'))


def downgrade():
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.drop_index('ux_shares_auto_once', sqlite_where=sa.text('auto'), postgresql_where=sa.text('auto'))
    with op.batch_alter_table('fanouts', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
