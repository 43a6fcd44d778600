"""people: SCIM provisioning (tokens per identity provider, userName and externalId on people, group memberships)

Revision ID: b8d2f4a6c913
Revises: c4e8a1f2d907
Create Date: 2026-12-03 09:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "b8d2f4a6c913"
down_revision = "c4e8a1f2d907"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "scim_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_scim_tokens_created_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_scim_tokens_token_hash")),
    )
    op.create_table(
        "team_memberships",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("display", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_team_memberships_team_id_teams"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_team_memberships_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_memberships")),
    )
    with op.batch_alter_table("team_memberships") as batch:
        batch.create_index(batch.f("ix_team_memberships_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("teams") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("scim_managed", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.create_index(batch.f("ix_teams_external_id"), ["external_id"], unique=False)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("scim_user_name", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("external_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("scim_attributes", sa.Text(), nullable=True))
        batch.add_column(sa.Column("scim_deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_users_external_id"), ["external_id"], unique=False)
        batch.create_unique_constraint(batch.f("uq_users_scim_user_name"), ["scim_user_name"])


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(batch.f("uq_users_scim_user_name"), type_="unique")
        batch.drop_index(batch.f("ix_users_external_id"))
        batch.drop_column("scim_deleted_at")
        batch.drop_column("scim_attributes")
        batch.drop_column("external_id")
        batch.drop_column("scim_user_name")
    with op.batch_alter_table("teams") as batch:
        batch.drop_index(batch.f("ix_teams_external_id"))
        batch.drop_column("scim_managed")
        batch.drop_column("external_id")
    with op.batch_alter_table("team_memberships") as batch:
        batch.drop_index(batch.f("ix_team_memberships_user_id"))
    op.drop_table("team_memberships")
    op.drop_table("scim_tokens")
