"""content studio, screening rules, recall and audit log

Revision ID: bfae324fa511
Revises: b815834b005d
Create Date: 2026-11-21 23:35:17.485540

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'bfae324fa511'
down_revision = 'b815834b005d'
branch_labels = None
depends_on = None


def upgrade():
    # existing talking points keep working: defaults for the new NOT NULL columns
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('subject_type', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)

    op.create_table('screening_rules',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_screening_rules_updated_by_id_users')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_screening_rules'))
    )
    op.create_table('talking_point_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('talking_point_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['talking_point_id'], ['talking_points.id'], name=op.f('fk_talking_point_comments_talking_point_id_talking_points')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_talking_point_comments_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_talking_point_comments'))
    )
    with op.batch_alter_table('talking_point_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_talking_point_comments_talking_point_id'), ['talking_point_id'], unique=False)

    op.create_table('talking_point_media',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('talking_point_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('alt_text', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['talking_point_id'], ['talking_points.id'], name=op.f('fk_talking_point_media_talking_point_id_talking_points')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_talking_point_media')),
    sa.UniqueConstraint('key', name=op.f('uq_talking_point_media_key'))
    )
    with op.batch_alter_table('talking_point_media', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_talking_point_media_talking_point_id'), ['talking_point_id'], unique=False)

    op.create_table('talking_point_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('talking_point_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['talking_point_id'], ['talking_points.id'], name=op.f('fk_talking_point_revisions_talking_point_id_talking_points')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_talking_point_revisions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_talking_point_revisions')),
    sa.UniqueConstraint('talking_point_id', 'version', name='uq_talking_point_revisions_version')
    )
    with op.batch_alter_table('talking_point_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_talking_point_revisions_talking_point_id'), ['talking_point_id'], unique=False)

    op.create_table('talking_point_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('talking_point_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['talking_point_id'], ['talking_points.id'], name=op.f('fk_talking_point_targets_talking_point_id_talking_points')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_talking_point_targets_team_id_teams')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_talking_point_targets_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_talking_point_targets'))
    )
    with op.batch_alter_table('talking_point_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_talking_point_targets_talking_point_id'), ['talking_point_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_talking_point_targets_team_id'), ['team_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_talking_point_targets_user_id'), ['user_id'], unique=False)

    op.create_table('post_deletions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('share_id', sa.Integer(), nullable=False),
    sa.Column('deleted_by_id', sa.Integer(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deleted_by_id'], ['users.id'], name=op.f('fk_post_deletions_deleted_by_id_users')),
    sa.ForeignKeyConstraint(['share_id'], ['shares.id'], name=op.f('fk_post_deletions_share_id_shares')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_post_deletions')),
    sa.UniqueConstraint('share_id', name=op.f('uq_post_deletions_share_id'))
    )
    with op.batch_alter_table('talking_points', schema=None) as batch_op:
        batch_op.add_column(sa.Column('available_from', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('available_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('topics', sa.String(length=500), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('employees_may_edit', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('target_everyone', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('suggested', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_talking_points_withdrawn_by_id_users'), 'users', ['withdrawn_by_id'], ['id'])

    # ### end Alembic commands ###


def downgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('talking_points', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_talking_points_withdrawn_by_id_users'), type_='foreignkey')
        batch_op.drop_column('withdrawn_by_id')
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('suggested')
        batch_op.drop_column('version')
        batch_op.drop_column('target_everyone')
        batch_op.drop_column('employees_may_edit')
        batch_op.drop_column('topics')
        batch_op.drop_column('available_until')
        batch_op.drop_column('available_from')

    op.drop_table('post_deletions')
    with op.batch_alter_table('talking_point_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_talking_point_targets_user_id'))
        batch_op.drop_index(batch_op.f('ix_talking_point_targets_team_id'))
        batch_op.drop_index(batch_op.f('ix_talking_point_targets_talking_point_id'))

    op.drop_table('talking_point_targets')
    with op.batch_alter_table('talking_point_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_talking_point_revisions_talking_point_id'))

    op.drop_table('talking_point_revisions')
    with op.batch_alter_table('talking_point_media', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_talking_point_media_talking_point_id'))

    op.drop_table('talking_point_media')
    with op.batch_alter_table('talking_point_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_talking_point_comments_talking_point_id'))

    op.drop_table('talking_point_comments')
    op.drop_table('screening_rules')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    # ### end Alembic commands ###
