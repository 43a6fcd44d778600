"""The archive export for compliance archivers: everything posted in a date range, streamed.

Each record is one post as its network received it (the exact text with the tracked link where the connector put
it, from :func:`advocacy.audit.services.posted`), with the network, the account handle, the post id and URL, the
person, whether the post was deleted from the network since (and by whom), and the approval its talking point was
shared under: who approved which version, when, and what screening found in it then.

Two forms, both streamed (a generator over keyset pages of the database, never the whole archive in memory):

* ``jsonl``: one JSON object per line (JSON Lines).
* ``eml``: an mbox (RFC 4155, "From " lines quoted as ``>From ``) of RFC 5322 messages, one per post, built with
  the standard ``email`` package. An mbox rather than a ZIP of ``.eml`` files: it streams in constant memory (a ZIP
  must keep every entry for its central directory until the end, so memory grows with the archive), it is one file
  that mail and archive import tools read as a sequence of ordinary messages, and splitting it into ``.eml`` files
  is a one-liner (Python's ``mailbox.mbox``) where an importer wants those.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from email.utils import format_datetime, formataddr
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from advocacy.accounts.models import ConnectedAccount
from advocacy.accounts.networks import LABELS
from advocacy.audit.models import AuditEvent
from advocacy.audit.services import posted
from advocacy.content.models import PostDeletion, TalkingPoint, TalkingPointImage
from advocacy.delivery.models import Share, ShareStatus
from advocacy.extensions import db
from advocacy.people.models import User

if TYPE_CHECKING:
    from email.message import EmailMessage

PAGE = 500  # posts per query


def _approvals(tp_ids: set[int]) -> dict[int, list[Any]]:
    """Every approval of these talking points, oldest first (the audit log keeps one per version approved)."""
    found: dict[int, list[Any]] = {}
    if not tp_ids:
        return found
    for event in db.session.execute(select(AuditEvent.subject_id, AuditEvent.at, AuditEvent.actor_id,
                                           AuditEvent.detail).where(
            AuditEvent.action == "approve", AuditEvent.subject_type == "talking_point",
            AuditEvent.subject_id.in_(tp_ids)).order_by(AuditEvent.at, AuditEvent.id)):
        found.setdefault(int(event.subject_id or 0), []).append(event)
    return found


def _person(people: dict[int, Any], user_id: int | None) -> tuple[str | None, str | None]:
    found = people.get(user_id or 0)
    return (found.email, found.name) if found is not None else (None, None)


def _approval(row: Any, approvals: list[Any], people: dict[int, Any]) -> dict[str, Any]:
    """The approval the share was made under: the last one of its talking point at or before the share's creation."""
    chosen = None
    for event in approvals:
        if event.at <= row.created_at:
            chosen = event
    if chosen is None:  # made before the audit log recorded approvals: the talking point's last approval
        email, name = _person(people, row.approved_by_id)
        return {"approver_id": row.approved_by_id, "approver": email, "approver_name": name,
                "approved_at": row.approved_at.isoformat() if row.approved_at else None,
                "version": row.approved_version, "screening_findings": None}
    detail = json.loads(chosen.detail or "{}")
    email, name = _person(people, chosen.actor_id)
    return {"approver_id": chosen.actor_id, "approver": email, "approver_name": name,
            "approved_at": chosen.at.isoformat(), "version": detail.get("version"),
            # what screening found in the approved version when it was approved (warnings: blocking findings
            # refuse an approval); None: approved before the findings were recorded with it
            "screening_findings": detail.get("findings")}


def records(since: dt.datetime | None = None, until: dt.datetime | None = None) -> Iterator[dict[str, Any]]:
    """Every published share with ``since <= published_at < until``, oldest first, one dict per post.

    Posts deleted from their network since are included, with ``deleted`` true and when and by whom. Rows are read
    a page at a time (keyset on published time and id) as plain columns, never ORM objects, so nothing accumulates
    in the session and an archive of any size streams.

    Args:
        since: aware start (inclusive), or None.
        until: aware end (exclusive), or None.
    """
    from advocacy.reach.links import destination

    base = current_app.config["PUBLIC_URL"]
    deleter = aliased(User)
    columns = (Share.id, Share.talking_point_id, Share.network, Share.text, Share.code, Share.link, Share.post_id,
               Share.post_url, Share.published_at, Share.created_at, TalkingPoint.title, TalkingPoint.approved_by_id,
               TalkingPoint.approved_at, TalkingPoint.approved_version, User.id.label("user_id"),
               User.email.label("user_email"), User.name.label("user_name"), ConnectedAccount.handle,
               PostDeletion.deleted_at, deleter.email.label("deleted_by"))
    after: tuple[dt.datetime, int] | None = None
    while True:
        stmt = (select(*columns)
                .join(TalkingPoint, TalkingPoint.id == Share.talking_point_id)
                .join(User, User.id == Share.user_id)
                .outerjoin(ConnectedAccount, ConnectedAccount.id == Share.account_id)
                .outerjoin(PostDeletion, PostDeletion.share_id == Share.id)
                .outerjoin(deleter, deleter.id == PostDeletion.deleted_by_id)
                .where(Share.status == ShareStatus.PUBLISHED, Share.published_at.is_not(None))
                .order_by(Share.published_at, Share.id).limit(PAGE))
        if since is not None:
            stmt = stmt.where(Share.published_at >= since)
        if until is not None:
            stmt = stmt.where(Share.published_at < until)
        if after is not None:
            stmt = stmt.where(or_(Share.published_at > after[0],
                                  and_(Share.published_at == after[0], Share.id > after[1])))
        page = db.session.execute(stmt).all()
        if not page:
            return
        tp_ids = {r.talking_point_id for r in page}
        approvals = _approvals(tp_ids)
        people_ids = {e.actor_id for events in approvals.values() for e in events if e.actor_id}
        people_ids |= {r.approved_by_id for r in page if r.approved_by_id}
        people = {p.id: p for p in db.session.execute(select(User.id, User.email, User.name)
                                                      .where(User.id.in_(people_ids)))}
        with_image = set(db.session.scalars(select(TalkingPointImage.talking_point_id).where(
            TalkingPointImage.talking_point_id.in_(tp_ids), TalkingPointImage.approved.is_(True))))
        for r in page:
            tracked = f"{base}/r/{r.code}"
            text, link_in = posted(r.network, r.text, tracked, r.talking_point_id in with_image)
            yield {"share_id": r.id, "talking_point_id": r.talking_point_id, "talking_point_title": r.title,
                   "user_id": r.user_id, "user": r.user_email, "user_name": r.user_name,
                   "network": r.network, "account_handle": r.handle, "post_id": r.post_id, "post_url": r.post_url,
                   "published_at": r.published_at.isoformat(),
                   "text": text, "copy": r.text, "tracked_link": tracked, "link_in": link_in,
                   "destination": destination(r.id, r.network, r.talking_point_id, r.link),
                   "deleted": r.deleted_at is not None,
                   "deleted_at": r.deleted_at.isoformat() if r.deleted_at else None,
                   "deleted_by": r.deleted_by if r.deleted_at else None,
                   "approval": _approval(r, approvals.get(r.talking_point_id, []), people)}
        if len(page) < PAGE:
            return
        after = (page[-1].published_at, page[-1].id)


# ------------------------------------------------------------------------------------------------------- JSONL
def jsonl(rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """JSON Lines, a few hundred records per chunk."""
    chunk: list[str] = []
    for row in rows:
        chunk.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
        if len(chunk) >= 200:
            yield ("\n".join(chunk) + "\n").encode()
            chunk = []
    if chunk:
        yield ("\n".join(chunk) + "\n").encode()


# --------------------------------------------------------------------------------------------------------- EML
def message(row: dict[str, Any], domain: str) -> EmailMessage:
    """One post as an RFC 5322 message: From the person, Date the publication, Subject the talking point and
    network, a Message-ID stable for the share (the same post exported twice is the same message), the post's
    facts in ``X-Advocacy-*`` headers, the exact text as the body, and the whole record attached as JSON."""
    from email.message import EmailMessage  # here: the e-mail package costs a web worker that never exports 0.5 MiB
    from email.policy import SMTP

    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((row["user_name"], row["user"]))
    msg["To"] = formataddr((f"{LABELS.get(row['network'], row['network'])} {row['account_handle'] or ''}".strip(),
                            row["user"]))
    published = dt.datetime.fromisoformat(row["published_at"])
    msg["Date"] = format_datetime(published if published.tzinfo else published.replace(tzinfo=dt.UTC))
    msg["Subject"] = f"{row['talking_point_title']} ({LABELS.get(row['network'], row['network'])})"
    msg["Message-ID"] = f"<share-{row['share_id']}@{domain}>"
    approval = row["approval"]
    headers = {"Network": row["network"], "Account": row["account_handle"], "Post-Id": row["post_id"],
               "Post-URL": row["post_url"], "Tracked-Link": row["tracked_link"], "Share-Id": str(row["share_id"]),
               "Talking-Point-Id": str(row["talking_point_id"]),
               "Approver": formataddr((approval["approver_name"] or "", approval["approver"]))
               if approval["approver"] else None,
               "Approved-At": approval["approved_at"],
               "Approved-Version": str(approval["version"]) if approval["version"] is not None else None,
               "Screening-Findings": str(len(approval["screening_findings"]))
               if approval["screening_findings"] is not None else "not recorded",
               "Deleted-At": row["deleted_at"]}
    for name, value in headers.items():
        if value:
            msg[f"X-Advocacy-{name}"] = value
    msg.set_content(row["text"] + "\n", charset="utf-8")
    msg.add_attachment(json.dumps(row, ensure_ascii=False, indent=2).encode(), maintype="application",
                       subtype="json", filename=f"share-{row['share_id']}.json")
    return msg


def mbox(rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """An mbox of the posts' messages, written as it streams: each message after its ``From `` separator line, body
    lines that start with "From " quoted as ``>From `` (the generator's ``mangle_from_``), a blank line after each."""
    from email.generator import BytesGenerator
    from email.policy import default

    mbox_policy = default.clone(linesep="\n")  # an mbox's lines end with LF; each message is RFC 5322 inside
    domain = urlsplit(current_app.config["PUBLIC_URL"]).hostname or "advocacy.invalid"
    out = io.BytesIO()
    for i, row in enumerate(rows, 1):
        published = dt.datetime.fromisoformat(row["published_at"])
        out.write(f"From {row['user']} {published.astimezone(dt.UTC):%a %b %d %H:%M:%S %Y}\n".encode())
        BytesGenerator(out, mangle_from_=True, policy=mbox_policy).flatten(message(row, domain))
        out.write(b"\n")
        if i % 50 == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
