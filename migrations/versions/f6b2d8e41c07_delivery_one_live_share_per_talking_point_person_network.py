"""delivery: one live share per talking point, person and network

Revision ID: f6b2d8e41c07
Revises: a3c5e7f90b12
Create Date: 2026-12-03 08:50:00.000000

A person shares a talking point at most once per account: a second live share of it on the same network is refused.
The database holds it with a partial unique index over the live statuses it can see (scheduled, queued, publishing,
paused). An older database may hold such duplicates already: the newest of each group is kept (one being published
is kept before any other, its post may be on its way) and the others are cancelled with a reason their owner reads.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f6b2d8e41c07'
down_revision = 'a3c5e7f90b12'
branch_labels = None
depends_on = None

WHERE = "status IN ('scheduled', 'queued', 'publishing', 'paused')"
DUPLICATE = "cancelled: a newer share of the same talking point on this network was already on its way"


def upgrade():
    # a row goes when another live row of its group ranks higher: being published first, then the newest
    op.execute(sa.text(f"""
        UPDATE shares SET status = 'cancelled', last_error = :reason
        WHERE {WHERE} AND EXISTS (
            SELECT 1 FROM shares AS other
            WHERE other.talking_point_id = shares.talking_point_id AND other.user_id = shares.user_id
              AND other.network = shares.network AND other.id <> shares.id
              AND other.status IN ('scheduled', 'queued', 'publishing', 'paused')
              AND (CASE WHEN other.status = 'publishing' THEN 1 ELSE 0 END, other.id)
                > (CASE WHEN shares.status = 'publishing' THEN 1 ELSE 0 END, shares.id))
    """).bindparams(reason=DUPLICATE))
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.create_index('ux_shares_live_once', ['talking_point_id', 'user_id', 'network'], unique=True,
                              sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))


def downgrade():
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.drop_index('ux_shares_live_once', sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))
