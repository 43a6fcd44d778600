"""content: link previews (the card of a talking point's link, fetched once when it is saved)

Revision ID: 7e3b9a1c5d42
Revises: d41c9e7a2b60
Create Date: 2026-12-03 08:50:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7e3b9a1c5d42'
down_revision = 'd41c9e7a2b60'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('link_previews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('talking_point_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=True),
    sa.Column('description', sa.String(length=1000), nullable=True),
    sa.Column('image_url', sa.String(length=2048), nullable=True),
    sa.Column('site_name', sa.String(length=200), nullable=True),
    sa.Column('edited_title', sa.String(length=300), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['talking_point_id'], ['talking_points.id'],
                            name=op.f('fk_link_previews_talking_point_id_talking_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_previews')),
    sa.UniqueConstraint('talking_point_id', name=op.f('uq_link_previews_talking_point_id'))
    )


def downgrade():
    op.drop_table('link_previews')
