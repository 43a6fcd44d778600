"""content: review cycles (who changed what since the last approval), the approved link, and each share's own link

Revision ID: a3c5e7f90b12
Revises: 7e3b9a1c5d42
Create Date: 2026-12-03 08:50:00.000000

Existing rows: every revision belongs to cycle 1; an approved (or withdrawn after approval) talking point starts
cycle 2, so its old edits count as approved, while a talking point in review or in draft keeps every edit it ever had
in its current cycle (the strict side: nobody who ever changed it approves it). The changed fields of old revisions
are worked out from their snapshots. Each existing share gets the link of the talking point as it was when the share
was made (the last revision saved before it), not a later edit waiting for review.
"""
import bisect
import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a3c5e7f90b12'
down_revision = '7e3b9a1c5d42'
branch_labels = None
depends_on = None

FIELDS = {"variants": "text", "link": "link", "image": "image", "title": "title", "hashtags": "hashtags",
          "disclosure": "disclosure", "topics": "topics", "available_from": "availability",
          "available_until": "availability",
          "employees_may_edit": "employee editing", "target_everyone": "targeting", "team_ids": "targeting",
          "user_ids": "targeting"}


def _changed(before, after):
    if before is None:
        return "created"
    out = []
    for key, name in FIELDS.items():
        if before.get(key) != after.get(key) and name not in out:
            out.append(name)
    return ",".join(out)


def upgrade():
    # plain ADD/DROP COLUMN (SQLite has both): no table is copied, so rows that reference these tables stay valid
    op.add_column('talking_points', sa.Column('review_cycle', sa.Integer(), server_default='1', nullable=False))
    op.add_column('talking_points', sa.Column('approved_version', sa.Integer(), nullable=True))
    op.add_column('talking_points', sa.Column('approved_link', sa.String(length=2048), nullable=True))
    op.add_column('talking_point_revisions', sa.Column('cycle', sa.Integer(), server_default='1', nullable=False))
    op.add_column('talking_point_revisions',
                  sa.Column('changed', sa.String(length=500), server_default='', nullable=False))
    op.add_column('shares', sa.Column('link', sa.String(length=2048), server_default='', nullable=False))

    conn = op.get_bind()
    conn.execute(sa.text("UPDATE talking_points SET review_cycle = 2, approved_version = version, "
                         "approved_link = link WHERE status = 'approved'"))
    conn.execute(sa.text("UPDATE talking_points SET review_cycle = 2 "
                         "WHERE status = 'withdrawn' AND approved_at IS NOT NULL"))
    history = {}
    for rev_id, tp_id, created_at, snapshot in conn.execute(sa.text(
            "SELECT id, talking_point_id, created_at, snapshot FROM talking_point_revisions "
            "ORDER BY talking_point_id, version")):
        history.setdefault(tp_id, []).append((rev_id, created_at, json.loads(snapshot or "{}")))
    for revisions in history.values():
        before = None
        for rev_id, _created_at, snap in revisions:
            conn.execute(sa.text("UPDATE talking_point_revisions SET changed = :c WHERE id = :i"),
                         {"c": _changed(before, snap), "i": rev_id})
            before = snap
    for share_id, tp_id, created_at, tp_link in conn.execute(sa.text(
            "SELECT s.id, s.talking_point_id, s.created_at, t.link FROM shares s "
            "JOIN talking_points t ON t.id = s.talking_point_id")).all():
        link = tp_link
        revisions = history.get(tp_id, [])
        times = [r[1] for r in revisions]
        at = bisect.bisect_right(times, created_at) if created_at is not None and None not in times else 0
        if at:
            link = revisions[at - 1][2].get("link") or tp_link
        conn.execute(sa.text("UPDATE shares SET link = :l WHERE id = :i"), {"l": link, "i": share_id})


def downgrade():
    op.drop_column('shares', 'link')
    op.drop_column('talking_point_revisions', 'changed')
    op.drop_column('talking_point_revisions', 'cycle')
    op.drop_column('talking_points', 'approved_link')
    op.drop_column('talking_points', 'approved_version')
    op.drop_column('talking_points', 'review_cycle')
