"""content: one image per talking point, its bytes in the database

Images used to be files in one folder (``ADVOCACY_MEDIA_PATH`` or ``<instance>/media``), which the other hosts of a
shared PostgreSQL could not read. Each talking point's newest image is moved into ``talking_point_images`` from that
folder on the host that runs the upgrade; a file that is not there is named in the log (its row cannot carry bytes it
does not have). The image of an approved talking point counts as approved: it was added before that approval.

Revision ID: 2b16a1cc8686
Revises: 274515e2d7e7
Create Date: 2026-11-22 02:14:34.428661

"""
import hashlib
import logging
import os

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2b16a1cc8686'
down_revision = '274515e2d7e7'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade():
    op.create_table('talking_point_images',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('talking_point_id', sa.Integer(), nullable=False),
    sa.Column('current', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('approved', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('alt_text', sa.String(length=1000), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['talking_point_id'], ['talking_points.id'], name=op.f('fk_talking_point_images_talking_point_id_talking_points')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_talking_point_images_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_talking_point_images'))
    )
    with op.batch_alter_table('talking_point_images', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_talking_point_images_talking_point_id'), ['talking_point_id'], unique=False)

    _move_files_into_the_database()
    with op.batch_alter_table('talking_point_media', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_talking_point_media_talking_point_id'))

    op.drop_table('talking_point_media')


def _folder():
    try:
        from flask import current_app

        return current_app.config.get("MEDIA_PATH") or os.path.join(current_app.instance_path, "media")
    except RuntimeError:  # outside the app: nothing to read
        return None


def _move_files_into_the_database():
    conn = op.get_bind()
    media = sa.table("talking_point_media", sa.column("id"), sa.column("talking_point_id"), sa.column("key"),
                     sa.column("filename"), sa.column("content_type"), sa.column("alt_text"),
                     sa.column("created_at"))
    images = sa.table("talking_point_images", sa.column("talking_point_id"), sa.column("current"),
                      sa.column("approved"), sa.column("content_type"), sa.column("size"), sa.column("sha256"),
                      sa.column("filename"), sa.column("alt_text"), sa.column("data", sa.LargeBinary()),
                      sa.column("created_at"))
    points = sa.table("talking_points", sa.column("id"), sa.column("status"))
    rows = conn.execute(sa.select(media, points.c.status).join(points, points.c.id == media.c.talking_point_id)
                        .order_by(media.c.talking_point_id, media.c.id.desc())).all()
    folder = _folder() if rows else None
    done = set()
    for row in rows:
        if row.talking_point_id in done:
            continue  # one image per talking point now: its newest
        safe = row.key and "/" not in row.key and "\\" not in row.key and not row.key.startswith(".")
        path = os.path.join(folder, row.key) if folder and safe else None
        if path is None or not os.path.isfile(path):
            log.warning("image of talking point %s (%s, file %s) not found in %s: not moved", row.talking_point_id,
                        row.filename, row.key, folder)
            continue
        with open(path, "rb") as handle:
            data = handle.read()
        conn.execute(images.insert().values(
            talking_point_id=row.talking_point_id, current=True, approved=row.status == "approved",
            content_type=row.content_type, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
            filename=row.filename, alt_text=row.alt_text, data=data, created_at=row.created_at))
        done.add(row.talking_point_id)
        log.info("image of talking point %s moved into the database (%s bytes)", row.talking_point_id, len(data))


def downgrade():
    # images in the database are not written back to disk: a downgrade drops them (the talking points stay)
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

    with op.batch_alter_table('talking_point_images', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_talking_point_images_talking_point_id'))

    op.drop_table('talking_point_images')
