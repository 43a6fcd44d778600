"""Content sources: the company's RSS and Atom feeds, whose new items become draft talking points.

Comms register a feed (its URL, a name, optional defaults for the drafts: topics, teams to target, a disclosure
line). A periodic job (``workers.sources``) fetches each feed that is due, with a conditional GET (the ETag and
Last-Modified of its last answer; a 304 means nothing new), under the outbound guard (``advocacy.outbound``: public
addresses only unless allow-listed, each redirect checked, at most ``MAX_REDIRECTS``), reads at most
``SOURCES_MAX_BYTES`` and parses what came with ``feedparser`` (it never fetches anything itself here).

Each item not seen before in that feed, by its GUID or by its link, becomes a draft written by the feed's owner
through ``content.workflow.create_talking_point``: the item's title, link and summary are the starting copy, and
the draft goes through screening and four-eyes review like any other. A feed that cannot be read (an HTML page, an
oversized body, a redirect loop, no answer, a 4xx/5xx) keeps its error and the time of the attempt for the sources
page, and is tried again later with a backoff that doubles up to ``SOURCES_MAX_BACKOFF_SECONDS``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import logging
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from advocacy import outbound
from advocacy.audit.services import record
from advocacy.content.checks import EDITORS, _ids, _text, _topics, check_link
from advocacy.errors import DomainError, NotAllowed, NotFound
from advocacy.extensions import db
from advocacy.integrations.models import FeedItem, FeedSource
from advocacy.models_base import utcnow
from advocacy.people.models import Team, User

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
FEED_TYPES = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_ITEMS = 100  # items read from one answer (the newest); a feed of thousands is read over several fetches
FETCH_JOB = "workers.sources.fetch_source"


# --------------------------------------------------------------------------------------------------- registering
def _editor(user: User) -> None:
    if not user.has_role(*EDITORS):
        raise NotAllowed("only comms staff manage content sources")


def _clean(values: dict[str, Any], current: FeedSource | None = None) -> dict[str, Any]:
    """Check a source's fields; raises ``DomainError`` naming the field."""
    def given(name: str) -> bool:
        return name in values or current is None

    out: dict[str, Any] = {}
    if given("url"):
        raw = values.get("url")
        try:
            out["url"] = check_link(raw if isinstance(raw, str) else "")
        except DomainError as exc:
            raise DomainError(exc.message, "url") from None
    if given("name"):
        out["name"] = _text(values.get("name"), "name", 200) or urlsplit(out.get("url") or current.url).netloc  # type: ignore[union-attr]
    if given("default_topics"):
        out["default_topics"] = _topics(values.get("default_topics"))
    if given("default_team_ids"):
        raw = values.get("default_team_ids")
        if isinstance(raw, str):
            raw = [t for t in re.split(r"[\s,]+", raw) if t]
        out["default_team_ids"] = " ".join(str(i) for i in _ids(raw, "default_team_ids", Team))
    if given("default_disclosure"):
        out["default_disclosure"] = _text(values.get("default_disclosure"), "default_disclosure", 200)
    if "enabled" in values:
        raw = values["enabled"]
        out["enabled"] = raw if isinstance(raw, bool) else str(raw).strip().lower() in {"1", "true", "on", "yes"}
    unknown = set(values) - {"url", "name", "default_topics", "default_team_ids", "default_disclosure", "enabled"}
    if unknown:
        raise DomainError("unknown field", sorted(unknown)[0])
    return out


def create_source(user: User, **values: Any) -> FeedSource:
    """Register a feed; its first fetch is due at once. Raises ``DomainError`` naming the field at fault.

    Args:
        user: comms staff; the drafts made from the feed are theirs (they cannot approve them: four eyes).
        values: ``url``, ``name``, ``default_topics``, ``default_team_ids``, ``default_disclosure``, ``enabled``.
    """
    _editor(user)
    source = FeedSource(owner_id=user.id, **_clean(values), next_attempt_at=utcnow())
    db.session.add(source)
    db.session.flush()
    record(user, "create", "feed_source", source.id, url=source.url)
    db.session.commit()
    log.info("event=feed_source_created source_id=%s user_id=%s", source.id, user.id)
    return source


def update_source(source: FeedSource, user: User, **values: Any) -> FeedSource:
    """Change a feed's address, name, defaults, or turn it on or off (a new address is fetched at once)."""
    _editor(user)
    cleaned = _clean(values, source)
    if "url" in cleaned and cleaned["url"] != source.url:
        source.etag = source.last_modified = None
        source.failures, source.next_attempt_at = 0, utcnow()
    if cleaned.get("enabled") and not source.enabled:
        source.failures, source.next_attempt_at = 0, utcnow()
    for name, value in cleaned.items():
        setattr(source, name, value)
    record(user, "edit", "feed_source", source.id, **{k: str(v) for k, v in cleaned.items()})
    db.session.commit()
    return source


def delete_source(source: FeedSource, user: User) -> None:
    """Forget a feed (its drafts stay)."""
    _editor(user)
    record(user, "edit", "feed_source", source.id, url=source.url, deleted=True)
    db.session.delete(source)
    db.session.commit()


def get_source(source_id: int) -> FeedSource:
    source = db.session.get(FeedSource, source_id)
    if source is None:
        raise NotFound("no such content source")
    return source


def sources() -> list[FeedSource]:
    return list(db.session.scalars(select(FeedSource).order_by(FeedSource.name, FeedSource.id)))


def recent_items(source_id: int, limit: int = 20) -> list[FeedItem]:
    return list(db.session.scalars(select(FeedItem).where(FeedItem.source_id == source_id)
                                   .order_by(FeedItem.id.desc()).limit(limit)))


def fetch_soon(source: FeedSource) -> None:
    """Comms asked for a fetch now: make it due and queue it (Redis down: the periodic job finds it due)."""
    from redis.exceptions import RedisError

    from advocacy.extensions import redis_client
    from workers import queues

    source.next_attempt_at = utcnow()
    db.session.commit()
    try:
        queues.queue(queues.DEFAULT, redis_client()).enqueue(FETCH_JOB, source.id, job_timeout=120, result_ttl=600,
                                                             failure_ttl=7 * 86400)
    except RedisError as exc:
        log.warning("event=feed_fetch_not_queued source_id=%s error=%s", source.id, type(exc).__name__)


# ------------------------------------------------------------------------------------------------------ fetching
class FeedError(Exception):
    """The feed could not be read: ``reason`` is shown on the sources page, ``detail`` goes to the log."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Answer:
    not_modified: bool
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    url: str = ""  # where the body came from, after redirects (relative item links resolve against it)


def download(url: str, etag: str | None, last_modified: str | None) -> Answer:
    """GET ``url`` under the outbound guard, conditionally; raises ``FeedError``.

    Args:
        url: the feed.
        etag: ``If-None-Match`` to send (the last answer's ETag).
        last_modified: ``If-Modified-Since`` to send.
    """
    config = current_app.config
    timeout, limit = float(config["SOURCES_TIMEOUT"]), int(config["SOURCES_MAX_BYTES"])
    headers = {"Accept": FEED_TYPES}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    import requests

    session = outbound.session(timeout, MAX_REDIRECTS)
    try:
        with session, session.get(url, stream=True, headers=headers) as answer:
            if answer.status_code == 304:
                return Answer(True, etag=etag, last_modified=last_modified)
            if answer.status_code >= 400:
                raise FeedError(f"the feed answered HTTP {answer.status_code}")
            if answer.status_code >= 300:
                raise FeedError(f"the feed answered HTTP {answer.status_code} without a place to go")
            declared = answer.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise FeedError(f"the feed is larger than {limit:,} bytes")
            body, deadline = bytearray(), time.monotonic() + timeout * 3
            for chunk in answer.iter_content(65536):
                body += chunk
                if len(body) > limit:
                    raise FeedError(f"the feed is larger than {limit:,} bytes")
                if time.monotonic() > deadline:
                    raise FeedError(f"the feed took longer than {timeout * 3:g} s to send")
            return Answer(False, bytes(body), answer.headers.get("Content-Type", ""),
                          answer.headers.get("ETag"), answer.headers.get("Last-Modified"), answer.url)
    except requests.TooManyRedirects:
        raise FeedError(f"the feed redirects more than {MAX_REDIRECTS} times (a redirect loop?)") from None
    except requests.Timeout as exc:
        raise FeedError(f"the feed did not answer within {timeout:g} s", str(exc)) from None
    except requests.RequestException as exc:  # a refused address, DNS, connection, TLS: all read the same
        raise FeedError(outbound.UNREACHABLE, f"{type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class Entry:
    guid: str
    link: str
    title: str
    summary: str


def parse(answer: Answer) -> list[Entry]:
    """The entries of an RSS or Atom document, oldest first; raises ``FeedError`` when it is not one."""
    kind = answer.content_type.split(";")[0].strip().lower()
    import feedparser  # imported when a feed is first read, not when the app starts (a web worker rarely needs it)

    parsed = feedparser.parse(answer.body, response_headers={"content-type": answer.content_type or "text/xml",
                                                             "content-location": answer.url})
    if not parsed.get("version"):
        if kind in HTML_TYPES or answer.body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
            raise FeedError("this address is a web page, not an RSS or Atom feed")
        problem = parsed.get("bozo_exception")
        raise FeedError("this address is not an RSS or Atom feed", repr(problem))
    entries = []
    for raw in list(parsed.entries)[:MAX_ITEMS]:
        link = (raw.get("link") or "").strip()
        if not link:
            continue
        title = _plain(raw.get("title") or "") or link
        summary = _plain(raw.get("summary") or raw.get("description") or "")
        entries.append(Entry(guid=(raw.get("id") or link).strip(), link=link, title=title, summary=summary))
    entries.reverse()  # feeds list the newest first; drafts are made oldest first
    return entries


def _plain(text: str) -> str:
    """The text of an HTML fragment, whitespace folded."""
    text = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", text, flags=re.S | re.I)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return re.sub(r"\s+", " ", text).strip()


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _backoff(failures: int) -> dt.timedelta:
    config = current_app.config
    seconds = float(config["SOURCES_FETCH_SECONDS"]) * 2 ** min(max(failures - 1, 0), 20)
    return dt.timedelta(seconds=min(seconds, float(config["SOURCES_MAX_BACKOFF_SECONDS"])))


def _claim(source_id: int, now: dt.datetime) -> bool:
    """Take a due source for one fetch (its next attempt moved past the fetch's lease), so two workers never fetch
    the same feed at once."""
    lease = now + dt.timedelta(seconds=float(current_app.config["SOURCES_TIMEOUT"]) * 3 + 60)
    result = db.session.execute(
        update(FeedSource).where(FeedSource.id == source_id, FeedSource.enabled.is_(True),
                                 (FeedSource.next_attempt_at.is_(None)) | (FeedSource.next_attempt_at <= now))
        .values(next_attempt_at=lease).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]


def fetch_source(source_id: int, now: dt.datetime | None = None) -> int:
    """Fetch one feed if it is due, and make drafts of its new items. Returns how many drafts were made.

    A feed that cannot be read is not an error of the job: its reason, the time and the next attempt (backing off)
    are stored on the source.

    Args:
        source_id: the source.
        now: the time (tests).
    """
    now = now or utcnow()
    if not _claim(source_id, now):
        return 0
    source = db.session.get(FeedSource, source_id)
    if source is None:
        return 0
    db.session.refresh(source)
    source.last_attempt_at = now
    try:
        answer = download(source.url, source.etag, source.last_modified)
        entries = [] if answer.not_modified else parse(answer)
    except FeedError as exc:
        source.failures += 1
        source.last_error = exc.reason[:500]
        source.next_attempt_at = now + _backoff(source.failures)
        db.session.commit()
        log.info("event=feed_fetch_failed source_id=%s failures=%s reason=%r detail=%r", source_id, source.failures,
                 exc.reason, exc.detail)
        return 0
    if not answer.not_modified:
        source.etag, source.last_modified = answer.etag, answer.last_modified
    source.failures, source.last_error, source.last_success_at = 0, None, now
    source.next_attempt_at = now + _backoff(0)
    db.session.commit()
    made = sum(_new_item(source, entry) for entry in entries)
    log.info("event=feed_fetched source_id=%s not_modified=%s entries=%s drafts=%s", source_id, answer.not_modified,
             len(entries), made)
    return made


def _new_item(source: FeedSource, entry: Entry) -> bool:
    """Make a draft of ``entry`` unless the feed showed it before (by GUID or link). The item is recorded first, so
    a crash or a second worker never makes two drafts of it."""
    guid_hash, link_hash = _hash(entry.guid), _hash(entry.link)
    seen = db.session.scalar(select(FeedItem.id).where(
        FeedItem.source_id == source.id, (FeedItem.guid_hash == guid_hash) | (FeedItem.link_hash == link_hash)))
    if seen is not None:
        return False
    item = FeedItem(source_id=source.id, guid_hash=guid_hash, link_hash=link_hash, link=entry.link[:2048],
                    title=entry.title[:300])
    db.session.add(item)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return _draft(source, item, entry)


def _draft(source: FeedSource, item: FeedItem, entry: Entry) -> bool:
    from advocacy.content.workflow import create_talking_point

    author = db.session.get(User, source.owner_id)
    team_ids = source.team_ids
    try:
        if author is None or not author.active:
            raise NotAllowed("the feed's owner is no longer active; give the feed to someone else")
        tp = create_talking_point(
            author, title=_fit(entry.title, 200), link=entry.link, text=_fit(entry.summary or entry.title, 5000),
            topics=source.default_topics, disclosure=source.default_disclosure,
            target_everyone=not team_ids, team_ids=team_ids)
    except DomainError as exc:
        db.session.rollback()
        item = db.session.merge(item)
        item.error = (f"{exc.field}: {exc.message}" if exc.field else exc.message)[:500]
        db.session.commit()
        log.info("event=feed_item_refused source_id=%s item_id=%s reason=%r", source.id, item.id, item.error)
        return False
    item.talking_point_id = tp.id
    source.items_created += 1
    db.session.commit()
    log.info("event=feed_item_drafted source_id=%s item_id=%s talking_point_id=%s", source.id, item.id, tp.id)
    return True


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def due_sources(now: dt.datetime | None = None, limit: int = 100) -> list[int]:
    """Ids of the enabled sources whose next fetch is due."""
    now = now or utcnow()
    return list(db.session.scalars(
        select(FeedSource.id).where(FeedSource.enabled.is_(True),
                                    (FeedSource.next_attempt_at.is_(None)) | (FeedSource.next_attempt_at <= now))
        .order_by(FeedSource.next_attempt_at).limit(limit)))


def fetch_due(now: dt.datetime | None = None) -> int:
    """Fetch every feed that is due (the periodic job's work); returns the drafts made."""
    return sum(fetch_source(source_id, now) for source_id in due_sources(now))
