"""merge single sign-on and mastodon apps branches

Revision ID: e02df2440d93
Revises: 293e151c9a25, 57c15ecc4052
Create Date: 2026-11-21 23:53:19.161327

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e02df2440d93'
down_revision = ('293e151c9a25', '57c15ecc4052')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
