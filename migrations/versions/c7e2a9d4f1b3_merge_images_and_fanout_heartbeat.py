"""merge the talking point images and fan-out heartbeat branches

Revision ID: c7e2a9d4f1b3
Revises: 2b16a1cc8686, 5d1f0c7a9b21
Create Date: 2026-11-22 02:45:00.000000

"""


# revision identifiers, used by Alembic.
revision = 'c7e2a9d4f1b3'
down_revision = ('2b16a1cc8686', '5d1f0c7a9b21')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
