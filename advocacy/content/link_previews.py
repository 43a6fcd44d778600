"""The link's preview card: its page's title, description, image and site name, fetched once when comms save it.

When a talking point is created with a link, or its link changes, its page is fetched once by a background job (the
default queue), under the outbound guard (``advocacy.outbound``: public addresses only, at most 3 redirects each
checked, 5 s, the first megabyte, HTML only), and what its Open Graph, Twitter card and ``<title>`` tags say is
stored here, one row per talking point. A page that cannot be fetched stores its error instead, shown to comms with
a button to fetch again. Comms may give the link their own title (``link_title`` then returns it): LinkedIn shows it
as the article's title.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from flask import current_app
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from advocacy import outbound
from advocacy.extensions import db, redis_client
from advocacy.models_base import UTCDateTime, utcnow

log = logging.getLogger(__name__)

JOB = "workers.previews.fetch_link_preview"
TIMEOUT = 5.0  # seconds for the whole fetch
MAX_BYTES = 1_000_000  # of the page read; the tags are in its head
MAX_REDIRECTS = 3
HTML_TYPES = ("text/html", "application/xhtml+xml")
LIMITS = {"title": 300, "description": 1000, "site_name": 200, "image_url": 2048}


class LinkPreview(db.Model):
    """What a talking point's link looks like as a card; ``url`` is the link it was fetched for."""

    __tablename__ = "link_previews"

    id: Mapped[int] = mapped_column(primary_key=True)
    talking_point_id: Mapped[int] = mapped_column(ForeignKey("talking_points.id", ondelete="CASCADE"), unique=True)
    url: Mapped[str] = mapped_column(String(2048))
    title: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(String(1000))
    image_url: Mapped[str | None] = mapped_column(String(2048))
    site_name: Mapped[str | None] = mapped_column(String(200))
    edited_title: Mapped[str | None] = mapped_column(String(300))  # comms' own title for the link; wins when set
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    fetched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # None: waiting for the job
    error: Mapped[str | None] = mapped_column(String(300))  # why the last fetch found no card

    @property
    def pending(self) -> bool:
        return self.fetched_at is None

    @property
    def shown_title(self) -> str | None:
        return self.edited_title or self.title


# ------------------------------------------------------------------------------------------------------ reading
def link_preview(tp_id: int) -> LinkPreview | None:
    """The stored preview of talking point ``tp_id``'s link, or None when none was ever asked for.

    Args:
        tp_id: the talking point.
    """
    return db.session.scalar(select(LinkPreview).where(LinkPreview.talking_point_id == tp_id))


def link_title(tp_id: int) -> str | None:
    """The title of talking point ``tp_id``'s link: the one comms gave it if they did, else its page's own (Open
    Graph, Twitter card or ``<title>``); None when neither is known.

    Args:
        tp_id: the talking point.
    """
    preview = link_preview(tp_id)
    return preview.shown_title if preview is not None else None


def shared_link_title(tp_id: int, link: str) -> str | None:
    """The link title a share of talking point ``tp_id`` carries (LinkedIn's article card): only an approved one.

    None while the talking point waits for review (its title may be an edit nobody approved yet), and None when the
    card is of another page than ``link``, the share's own (approved) link: a later edit's page never titles it.
    One query.

    Args:
        tp_id: the talking point.
        link: the share's link (``Share.link``).
    """
    from advocacy.content.models import Status, TalkingPoint

    row = db.session.execute(
        select(LinkPreview, TalkingPoint.status).join(TalkingPoint, TalkingPoint.id == LinkPreview.talking_point_id)
        .where(LinkPreview.talking_point_id == tp_id)).first()
    if row is None or row[1] != Status.APPROVED or row[0].url != link:
        return None
    return row[0].shown_title


# ------------------------------------------------------------------------------------------------------ writing
def link_saved(tp_id: int) -> None:
    """A talking point was saved with a new link (committed): forget the old card and fetch the new one in the
    background. Comms' own title belonged to the old page and is forgotten too.

    Args:
        tp_id: the talking point.
    """
    from advocacy.content.models import TalkingPoint

    tp = db.session.get(TalkingPoint, tp_id)
    if tp is None:
        return
    preview = link_preview(tp_id) or LinkPreview(talking_point_id=tp_id)
    preview.url = tp.link
    preview.title = preview.description = preview.image_url = preview.site_name = preview.edited_title = None
    preview.error = None
    preview.fetched_at = None
    preview.requested_at = utcnow()
    db.session.add(preview)
    db.session.commit()
    request_fetch(tp_id)


def request_fetch(tp_id: int) -> None:
    """Queue a fetch of the talking point's link (default queue). Redis being down is logged, never raised: the
    card stays pending, and comms can ask again.

    Args:
        tp_id: the talking point.
    """
    from redis.exceptions import RedisError

    from workers import queues

    if not current_app.config.get("LINK_PREVIEWS", True):
        return
    try:
        queues.queue(queues.DEFAULT, redis_client()).enqueue(
            JOB, tp_id, job_timeout=60, result_ttl=0, failure_ttl=7 * 86400,  # the card's row holds the outcome
            description=f"link preview of talking point {tp_id}")
    except RedisError as exc:
        log.warning("event=link_preview_not_queued talking_point_id=%s error=%s", tp_id, type(exc).__name__)
        return
    log.info("event=link_preview_queued talking_point_id=%s", tp_id)


def refetch(tp_id: int) -> LinkPreview:
    """Comms asked for the card again: mark it pending and queue a fetch (the title they gave is kept).

    Args:
        tp_id: the talking point.
    """
    from advocacy.content.models import TalkingPoint

    tp = db.session.get(TalkingPoint, tp_id)
    if tp is None:
        raise LookupError(tp_id)
    preview = link_preview(tp_id) or LinkPreview(talking_point_id=tp_id)
    if preview.url != tp.link:
        preview.title = preview.description = preview.image_url = preview.site_name = None
    preview.url, preview.error, preview.fetched_at, preview.requested_at = tp.link, None, None, utcnow()
    db.session.add(preview)
    db.session.commit()
    request_fetch(tp_id)
    return preview


def set_title(tp_id: int, title: str | None) -> LinkPreview:
    """Comms' own title for the talking point's link (empty or None: use the page's own). Committed by the caller.

    Args:
        tp_id: the talking point.
        title: the title, at most 300 characters.
    """
    from advocacy.content.models import TalkingPoint
    from advocacy.errors import DomainError

    cleaned = " ".join((title or "").split())
    if len(cleaned) > LIMITS["title"]:
        raise DomainError(f"is {len(cleaned)} characters long; at most {LIMITS['title']}", "link_title")
    tp = db.session.get(TalkingPoint, tp_id)
    if tp is None:
        raise LookupError(tp_id)
    preview = link_preview(tp_id)
    if preview is None:
        preview = LinkPreview(talking_point_id=tp_id, url=tp.link)
        db.session.add(preview)
    preview.edited_title = cleaned or None
    return preview


def save_title(tp_id: int, user: Any, title: str | None) -> LinkPreview:
    """Comms set (or clear) their own title for the talking point's link: checked, recorded in the audit log,
    committed. Raises ``DomainError`` on the ``link_title`` field when it is too long.

    Args:
        tp_id: the talking point.
        user: comms staff making the change.
        title: the title; empty or None goes back to the page's own.
    """
    from advocacy.audit.services import record

    preview = set_title(tp_id, title)
    record(user, "edit", "talking_point", tp_id, link_title=preview.edited_title)
    db.session.commit()
    log.info("event=link_title_set talking_point_id=%s user_id=%s", tp_id, getattr(user, "id", None))
    return preview


def refresh(tp_id: int) -> LinkPreview | None:
    """Fetch the talking point's link now and store its card, or the reason there is none (committed).

    The job's work: the link read is the talking point's link at this moment, so a late job for an older link
    stores the current one. A page that cannot be fetched is not an error of the job: its reason is stored.

    Args:
        tp_id: the talking point.
    """
    from advocacy.content.models import TalkingPoint

    tp = db.session.get(TalkingPoint, tp_id)
    if tp is None:
        return None
    url = tp.link
    try:
        card, error = fetch(url), None
    except PreviewError as exc:
        card, error = Card(), exc.reason
        log.info("event=link_preview_failed talking_point_id=%s reason=%r", tp_id, exc.detail or exc.reason)
    preview = link_preview(tp_id) or LinkPreview(talking_point_id=tp_id)
    if preview.url != url:
        preview.edited_title = None
    preview.url, preview.error, preview.fetched_at = url, error, utcnow()
    preview.title, preview.description = card.title, card.description
    preview.image_url, preview.site_name = card.image_url, card.site_name
    db.session.add(preview)
    db.session.commit()
    log.info("event=link_preview_stored talking_point_id=%s ok=%s", tp_id, error is None)
    return preview


# ----------------------------------------------------------------------------------------------------- fetching
@dataclass(frozen=True)
class Card:
    title: str | None = None
    description: str | None = None
    image_url: str | None = None
    site_name: str | None = None


class PreviewError(Exception):
    """No card: ``reason`` is what comms read, ``detail`` what the log keeps."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def fetch(url: str) -> Card:
    """Fetch ``url`` under the outbound guard and read its card; raises ``PreviewError``.

    Args:
        url: an http(s) page.
    """
    if urlsplit(url).scheme not in ("http", "https"):
        raise PreviewError("the link is not an http(s) address")
    import requests

    deadline = time.monotonic() + TIMEOUT
    session = outbound.session(TIMEOUT, MAX_REDIRECTS)
    try:
        with session, session.get(url, stream=True, headers={"Accept": ", ".join(HTML_TYPES)}) as answer:
            if answer.status_code >= 400:
                raise PreviewError(f"the page answered HTTP {answer.status_code}")
            kind = answer.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if kind not in HTML_TYPES:
                raise PreviewError(f"the link is not a web page ({kind or 'no content type'})")
            body = bytearray()
            for chunk in answer.iter_content(16384):
                body += chunk
                if len(body) >= MAX_BYTES or time.monotonic() > deadline:
                    break
            text = _decode(bytes(body[:MAX_BYTES]), answer.encoding)
            final_url = answer.url
    except requests.TooManyRedirects:
        raise PreviewError(f"the page redirects more than {MAX_REDIRECTS} times") from None
    except requests.RequestException as exc:  # a refused address, DNS, connection, TLS, timeout: all read the same
        raise PreviewError(outbound.UNREACHABLE, f"{type(exc).__name__}: {exc}") from None
    return parse(text, final_url)


def _decode(body: bytes, encoding: str | None) -> str:
    try:
        return body.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


class _HeadReader(HTMLParser):
    """The ``<meta>`` tags (by ``property`` or ``name``) and the ``<title>`` of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title: list[str] = []
        self._in_title = False
        self._title_done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k.lower(): v for k, v in attrs if v is not None}
        if tag == "meta":
            key = (found.get("property") or found.get("name") or "").strip().lower()
            if key and "content" in found:
                self.meta.setdefault(key, found["content"])
        elif tag == "title" and not self._title_done:
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title, self._title_done = False, True

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)


def _tidy(value: str | None, limit: int) -> str | None:
    cleaned = re.sub(r"\s+", " ", value or "").strip()
    return cleaned[:limit] or None


def parse(html: str, base_url: str) -> Card:
    """The card a page's tags describe: Open Graph first, then the Twitter card, then ``<title>`` and the meta
    description. The image is made absolute against ``base_url`` and kept only if it is http(s).

    Args:
        html: the page (its start is enough).
        base_url: the address it was read from (after redirects).
    """
    reader = _HeadReader()
    reader.feed(html)
    reader.close()
    meta = reader.meta

    def first(*keys: str) -> str | None:
        return next((meta[k] for k in keys if meta.get(k, "").strip()), None)

    image = first("og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src")
    image_url = urljoin(base_url, image.strip()) if image else None
    if image_url and urlsplit(image_url).scheme not in ("http", "https"):
        image_url = None
    return Card(
        title=_tidy(first("og:title", "twitter:title") or "".join(reader.title), LIMITS["title"]),
        description=_tidy(first("og:description", "twitter:description", "description"), LIMITS["description"]),
        image_url=_tidy(image_url, LIMITS["image_url"]),
        site_name=_tidy(first("og:site_name", "application-name"), LIMITS["site_name"]),
    )
