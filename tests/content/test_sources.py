"""Content sources: a local feed server over real HTTP serves RSS and Atom; new items become drafts in the studio.

The feed server answers conditional GETs (ETag and Last-Modified) with 304 and counts them, and serves the broken
feeds a company's web server does serve: an HTML page, a body over the limit, a redirect loop, a 500.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from advocacy.content.models import Status, TalkingPoint
from advocacy.extensions import db
from advocacy.integrations import sources
from advocacy.integrations.models import FeedItem, FeedSource
from advocacy.models_base import utcnow
from tests.conftest import connect_x, run_jobs

MODIFIED = format_datetime(dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC), usegmt=True)


def rss(items: list[tuple[str, str, str, str]]) -> str:
    """An RSS 2.0 document of (guid, link, title, summary) items, newest first."""
    body = "".join(f"<item><guid isPermaLink=\"false\">{g}</guid><link>{link}</link><title>{t}</title>"
                   f"<description><![CDATA[{s}]]></description></item>" for g, link, t, s in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Acme blog</title>'
            f"<link>https://acme.test/blog</link><description>News</description>{body}</channel></rss>")


def atom(items: list[tuple[str, str, str, str]]) -> str:
    body = "".join(f"<entry><id>{g}</id><link href=\"{link}\"/><title>{t}</title><updated>2026-11-30T09:00:00Z"
                   f"</updated><summary>{s}</summary></entry>" for g, link, t, s in items)
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Newsroom</title>'
            f"<id>urn:acme:newsroom</id><updated>2026-11-30T09:00:00Z</updated>{body}</feed>")


class FeedServer:
    """Serves ``documents[path] = (content type, body)`` with an ETag (and Last-Modified on /lm paths)."""

    def __init__(self) -> None:
        self.documents: dict[str, tuple[str, str]] = {}
        self.hits: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path
                server.hits[path] += 1
                if path == "/loop":
                    self.send_response(302)
                    self.send_header("Location", "/loop")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if path == "/slow":  # answers after the client's timeout
                    time.sleep(2)
                if path == "/broken":
                    body = b"<h1>Internal Server Error</h1>"
                    self.send_response(500)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if path not in server.documents:
                    self.send_error(404)
                    return
                kind, text = server.documents[path]
                body = text.encode()
                etag = f'"{hash(text) & 0xFFFFFFFF:x}"'
                by_date = path.startswith("/lm")
                if (not by_date and self.headers.get("If-None-Match") == etag) or (
                        by_date and self.headers.get("If-Modified-Since") == MODIFIED):
                    server.not_modified[path] += 1
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                if by_date:
                    self.send_header("Last-Modified", MODIFIED)
                else:
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def feeds() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.stop()


@pytest.fixture()
def comms(app, make_user, browser_factory):
    make_user("writer@acme.test", "comms")
    make_user("reviewer@acme.test", "comms")
    return browser_factory("writer@acme.test")


def add_feed(browser, url: str, **extra: Any) -> Any:
    return browser.post("/studio/sources", {"url": url, "name": "Acme blog", **extra})


def drafts() -> list[TalkingPoint]:
    return list(db.session.scalars(select(TalkingPoint).order_by(TalkingPoint.id)))


def fetch_again() -> int:
    """Make every source due and run the periodic job's work."""
    db.session.execute(FeedSource.__table__.update().values(next_attempt_at=utcnow()))
    db.session.commit()
    return sources.fetch_due()


ITEMS = [("post-2", "https://acme.test/blog/two", "Second post", "<p>We opened an <b>office</b> in Lyon.</p>"),
         ("post-1", "https://acme.test/blog/one", "First post", "Our new platform is live.")]


def test_rss_items_become_drafts_with_link_title_and_summary_and_the_feeds_defaults(app, comms, feeds, make_user):
    from advocacy.people.models import Team

    team = Team(name="Sales")
    db.session.add(team)
    db.session.commit()
    team_id = team.id
    feeds.documents["/blog.xml"] = ("application/rss+xml", rss(ITEMS))
    added = add_feed(comms, f"{feeds.url}/blog.xml", default_topics="news lyon", default_disclosure="#iworkforacme",
                     default_team_ids=str(team_id))
    assert added.status_code == 302, added.get_data(as_text=True)[:500]
    run_jobs(app)  # the fetch queued when the feed was added

    made = drafts()
    assert [(tp.title, tp.link) for tp in made] == [("First post", "https://acme.test/blog/one"),
                                                    ("Second post", "https://acme.test/blog/two")]
    second = made[1]
    assert second.status == Status.DRAFT and second.author.email == "writer@acme.test"
    assert [v.text for v in second.variants] == ["We opened an office in Lyon."]  # the summary, as text
    assert second.topics == "news lyon" and second.disclosure == "#iworkforacme"
    assert not second.target_everyone and second.team_ids == [team_id]
    page = comms.get("/studio/sources").get_data(as_text=True)
    assert "Acme blog" in page and "Second post" in page and "ok" in page
    assert "First post" in comms.get("/studio/").get_data(as_text=True)  # in the studio, as drafts


def test_atom_items_are_deduplicated_by_guid_and_by_link_across_fetches(app, comms, feeds):
    feeds.documents["/news.atom"] = ("application/atom+xml", atom(ITEMS))
    add_feed(comms, f"{feeds.url}/news.atom")
    run_jobs(app)
    assert len(drafts()) == 2

    feeds.documents["/news.atom"] = ("application/atom+xml", atom([
        ("post-3", "https://acme.test/blog/three", "Third post", "Brand new."),
        ("post-2", "https://acme.test/blog/two?utm=moved", "Second post, retitled", "Same GUID, new link."),
        ("post-1-again", "https://acme.test/blog/one", "First post", "New GUID, same link."),
    ]))
    assert fetch_again() == 1
    assert [tp.title for tp in drafts()] == ["First post", "Second post", "Third post"]
    feeds.documents["/news.atom"] = ("application/atom+xml", atom([("post-4", "/blog/four", "Fourth", "Relative.")]))
    assert fetch_again() == 1  # a relative link is made absolute against the feed's address
    assert drafts()[-1].link == f"{feeds.url}/blog/four"
    feeds.documents["/news.atom"] = ("application/atom+xml", atom([
        ("post-3", "https://acme.test/blog/three", "Third post", "Brand new."),
        ("post-2", "https://acme.test/blog/two?utm=moved", "Second post, retitled", "Same GUID, new link."),
        ("post-1-again", "https://acme.test/blog/one", "First post", "New GUID, same link."),
    ]))
    assert fetch_again() == 0  # items seen before
    assert fetch_again() == 0  # unchanged: a 304, nothing new
    assert len(drafts()) == 4
    assert db.session.scalar(select(db.func.count()).select_from(FeedItem)) == 4


def test_etag_and_last_modified_are_sent_back_and_a_304_makes_nothing(app, comms, feeds):
    feeds.documents["/blog.xml"] = ("application/rss+xml", rss(ITEMS))
    feeds.documents["/lm.xml"] = ("text/xml", rss([("lm-1", "https://acme.test/lm/1", "Dated", "By date.")]))
    add_feed(comms, f"{feeds.url}/blog.xml")
    add_feed(comms, f"{feeds.url}/lm.xml")
    run_jobs(app)
    assert len(drafts()) == 3 and feeds.not_modified == Counter()

    assert fetch_again() == 0
    assert feeds.not_modified == Counter({"/blog.xml": 1, "/lm.xml": 1})  # If-None-Match, If-Modified-Since
    source = db.session.scalars(select(FeedSource).where(FeedSource.url.endswith("/blog.xml"))).one()
    assert source.etag and source.last_error is None and source.last_success_at is not None
    assert len(drafts()) == 3


@pytest.mark.parametrize(("path", "expected"), [
    ("/page.html", "a web page, not an RSS or Atom feed"),
    ("/huge.xml", "larger than 2,000 bytes"),
    ("/loop", "redirects more than 5 times"),
    ("/broken", "answered HTTP 500"),
    ("/slow", "did not answer within 0.5 s"),
])
def test_a_broken_feed_is_shown_with_its_error_and_backs_off(app, comms, feeds, path, expected):
    app.config.update(SOURCES_MAX_BYTES=2000, SOURCES_TIMEOUT=0.5)
    feeds.documents["/page.html"] = ("text/html; charset=utf-8", "<!doctype html><html><body>Blog</body></html>")
    feeds.documents["/huge.xml"] = ("application/rss+xml", rss([(f"g{i}", f"https://acme.test/{i}", "T" * 50, "S" * 50)
                                                                for i in range(40)]))
    add_feed(comms, f"{feeds.url}{path}")
    run_jobs(app)
    source = db.session.scalars(select(FeedSource)).one()
    assert expected in (source.last_error or "")
    assert source.failures == 1 and source.last_attempt_at is not None
    page = comms.get("/studio/sources").get_data(as_text=True)
    assert expected.replace(",", "&#44;") in page or expected in page
    assert source.last_attempt_at.strftime("%Y-%m-%d %H:%M:%S") in page
    assert drafts() == []

    # not retried in a tight loop: not due again at once, and each failure waits twice as long
    hits = sum(feeds.hits.values())
    assert sources.fetch_due() == 0 and sum(feeds.hits.values()) == hits
    first_wait = source.next_attempt_at - source.last_attempt_at
    assert first_wait >= dt.timedelta(seconds=app.config["SOURCES_FETCH_SECONDS"] - 1)
    sources.fetch_source(source.id, now=source.next_attempt_at)
    db.session.refresh(source)
    assert source.failures == 2
    assert source.next_attempt_at - source.last_attempt_at == 2 * first_wait


def test_a_feed_at_a_private_address_is_refused_and_shown(app, comms, feeds):
    app.config["OUTBOUND_ALLOW"] = ""  # the feed server is on loopback: not a public address
    feeds.documents["/blog.xml"] = ("application/rss+xml", rss(ITEMS))
    add_feed(comms, f"{feeds.url}/blog.xml")
    run_jobs(app)
    assert sum(feeds.hits.values()) == 0  # never reached
    source = db.session.scalars(select(FeedSource)).one()
    assert source.last_error == "could not reach that server; check the address or try again later"
    assert "could not reach that server" in comms.get("/studio/sources").get_data(as_text=True)
    assert drafts() == []


def test_bad_input_names_the_field_on_the_page_and_over_the_api(app, comms):
    page = comms.post("/studio/sources", {"url": "ftp://acme.test/feed", "name": "x"})
    assert page.status_code == 422 and "must be an http:// or https:// address" in page.get_data(as_text=True)
    answer = comms.api("POST", "/api/sources", {"url": "javascript:alert(1)"})
    assert answer.status_code == 422
    assert answer.get_json()["errors"]["json"] == {"url": ["must be an http:// or https:// address"]}
    answer = comms.api("POST", "/api/sources", {"url": "https://acme.test/feed", "default_team_ids": [424242]})
    assert answer.status_code == 422 and "default_team_ids" in answer.get_json()["errors"]["json"]
    assert db.session.scalars(select(FeedSource)).all() == []


def test_the_api_lists_and_registers_sources_and_employees_may_not(app, comms, make_user, browser_factory, feeds):
    feeds.documents["/blog.xml"] = ("application/rss+xml", rss(ITEMS))
    created = comms.api("POST", "/api/sources", {"url": f"{feeds.url}/blog.xml", "name": "Blog",
                                                 "default_topics": "news"})
    assert created.status_code == 201, created.get_data(as_text=True)
    run_jobs(app)
    listed = comms.api("GET", "/api/sources").get_json()
    assert listed[0]["name"] == "Blog" and listed[0]["items_created"] == 2 and listed[0]["last_error"] is None
    assert {i["title"] for i in listed[0]["items"]} == {"First post", "Second post"}
    make_user("emp@acme.test", "employee")
    assert browser_factory("emp@acme.test").api("GET", "/api/sources").status_code == 403


def test_a_feed_item_becomes_a_draft_and_once_a_second_person_approves_it_a_share(app, comms, feeds, browser_factory,
                                                                                  make_user, policy):
    feeds.documents["/blog.xml"] = ("application/rss+xml", rss(ITEMS[1:]))
    add_feed(comms, f"{feeds.url}/blog.xml")
    run_jobs(app)
    tp_id = drafts()[0].id
    assert comms.post(f"/studio/{tp_id}/submit").status_code == 302  # screened on the way
    own = comms.post(f"/studio/{tp_id}/approve")
    assert own.status_code == 403  # four eyes: the feed's owner wrote it
    reviewer = browser_factory("reviewer@acme.test")
    assert reviewer.post(f"/studio/{tp_id}/approve").status_code == 302

    make_user("emma@acme.test", "employee")
    emma = browser_factory("emma@acme.test")
    assert emma.post("/policy/acknowledge", {"version": 1}).status_code == 302
    assert emma.post("/opt-in").status_code == 302
    connect_x(emma, "emma_acme")
    assert "First post" in emma.get("/feed").get_data(as_text=True)
    assert emma.post("/share", {"talking_point_id": tp_id, "network": "x"}).status_code == 302
    run_jobs(app)
    from advocacy.delivery.models import Share

    share = db.session.scalars(select(Share)).one()
    assert share.status == "published" and share.talking_point_id == tp_id
