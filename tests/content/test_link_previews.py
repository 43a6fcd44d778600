"""The link's preview card: fetched once, in the background, under the outbound guard, from a real page server."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from advocacy.content import link_previews
from advocacy.content.link_previews import LinkPreview, link_preview, link_title, parse
from advocacy.extensions import db
from advocacy.outbound import UNREACHABLE
from tests.conftest import run_jobs

ARTICLE = """<!doctype html><html><head>
<meta charset="utf-8"><title>Fallback title | Acme</title>
<meta property="og:title" content="Acme opens a Lisbon office">
<meta property="og:description" content="  Two hundred engineers by 2027,
  hiring now. ">
<meta property="og:image" content="/images/lisbon.png">
<meta property="og:site_name" content="Acme Newsroom">
<meta name="twitter:title" content="Not this one">
</head><body><p>Story</p></body></html>"""


class Pages:
    """A tiny site on loopback: a page with Open Graph tags, a title-only page, an image, a 404, a redirect chain and
    a redirect to another host; it counts every request per path."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.redirect_to = ""
        self.server = make_server("127.0.0.1", 0, self.answer, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"

    @Request.application
    def answer(self, request: Request) -> Response:
        self.hits[request.path] += 1
        path = request.path
        if path == "/article":
            return Response(ARTICLE, content_type="text/html; charset=utf-8")
        if path == "/plain":
            return Response("<html><head><title>Only a\n title</title></head></html>", content_type="text/html")
        if path == "/big":
            return Response(ARTICLE + "<p>" + "x" * 3_000_000 + "</p>", content_type="text/html")
        if path == "/logo.png":
            return Response(b"\x89PNG\r\n\x1a\n", content_type="image/png")
        if path.startswith("/hop/"):
            return Response(status=302, headers={"Location": f"/hop/{int(path.rsplit('/', 1)[1]) + 1}"})
        if path == "/elsewhere":
            return Response(status=302, headers={"Location": self.redirect_to})
        return Response("gone", status=404, content_type="text/html")


@pytest.fixture()
def pages() -> Iterator[Pages]:
    site = Pages()
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    yield site
    site.server.shutdown()
    thread.join(5)


@pytest.fixture()
def previews_on(settings: dict[str, Any]) -> None:
    settings["LINK_PREVIEWS"] = True


@pytest.fixture()
def comms(previews_on: None, app: Any, browser_factory: Any, make_user: Any) -> Any:
    make_user("chris@acme.test", "comms")
    return browser_factory("chris@acme.test")


def write(comms: Any, link: str) -> int:
    created = comms.api("POST", "/api/talking-points", {"title": "Lisbon", "link": link, "text": "We are growing."})
    assert created.status_code == 201, created.get_json()
    return int(created.get_json()["id"])


def stored(tp_id: int) -> LinkPreview:
    db.session.expire_all()
    preview = link_preview(tp_id)
    assert preview is not None
    return preview


def test_saving_a_link_fetches_its_card_once_in_the_background(comms: Any, app: Any, pages: Pages) -> None:
    tp_id = write(comms, f"{pages.url}/article")
    assert pages.hits["/article"] == 0  # not fetched while comms waited for the save
    assert stored(tp_id).pending and link_title(tp_id) is None
    assert "Fetching the link" in comms.get(f"/studio/{tp_id}").get_data(as_text=True)

    run_jobs(app)  # a real RQ worker runs the job from the default queue
    preview = stored(tp_id)
    assert pages.hits["/article"] == 1
    assert (preview.title, preview.description, preview.site_name) == (
        "Acme opens a Lisbon office", "Two hundred engineers by 2027, hiring now.", "Acme Newsroom")
    assert preview.image_url == f"{pages.url}/images/lisbon.png" and preview.error is None and preview.fetched_at
    assert link_title(tp_id) == "Acme opens a Lisbon office"

    page = comms.get(f"/studio/{tp_id}")
    html = page.get_data(as_text=True)
    for shown in ("Acme opens a Lisbon office", "Two hundred engineers by 2027", "Acme Newsroom",
                  f'src="{pages.url}/images/lisbon.png"'):
        assert shown in html
    assert f"img-src 'self' data: {pages.url}" in page.headers["Content-Security-Policy"]  # that origin only
    assert comms.get("/studio/").headers["Content-Security-Policy"].count("img-src 'self' data:;") == 1

    card = comms.api("GET", f"/api/talking-points/{tp_id}").get_json()["link_preview"]
    assert card["link_title"] == "Acme opens a Lisbon office" and card["pending"] is False and card["error"] is None


def test_comms_give_the_link_its_own_title_and_fetch_again(comms: Any, app: Any, pages: Pages) -> None:
    tp_id = write(comms, f"{pages.url}/article")
    run_jobs(app)
    assert comms.api("PATCH", f"/api/talking-points/{tp_id}", {"link_title": "Lisbon, here we come"}).status_code \
        == 200
    assert link_title(tp_id) == "Lisbon, here we come"
    assert "Lisbon, here we come" in comms.get(f"/studio/{tp_id}").get_data(as_text=True)
    too_long = comms.api("PATCH", f"/api/talking-points/{tp_id}", {"link_title": "x" * 301})
    assert too_long.status_code == 422 and "link_title" in too_long.get_json()["errors"]["json"]
    assert link_title(tp_id) == "Lisbon, here we come"  # nothing stored is lost

    form = comms.post(f"/studio/{tp_id}/link-title", {"link_title": "y" * 301})
    assert form.status_code == 422 and "Title of the link: is 301 characters long" in form.get_data(as_text=True)
    assert 'value="' + "y" * 301 + '"' in form.get_data(as_text=True)  # what was typed is kept
    assert comms.post(f"/studio/{tp_id}/link-title", {"link_title": ""}).status_code == 302
    assert link_title(tp_id) == "Acme opens a Lisbon office"  # empty: the page's own title again

    again = comms.api("POST", f"/api/talking-points/{tp_id}/link-preview")
    assert again.status_code == 202 and again.get_json()["pending"] is True
    assert comms.post(f"/studio/{tp_id}/link-preview").status_code == 302  # the page's button
    run_jobs(app)
    assert pages.hits["/article"] == 3 and not stored(tp_id).pending

    comms.api("PATCH", f"/api/talking-points/{tp_id}", {"link_title": "Mine"})
    moved = comms.api("PATCH", f"/api/talking-points/{tp_id}", {"link": f"{pages.url}/plain"})
    assert moved.status_code == 200
    assert stored(tp_id).pending and link_title(tp_id) is None  # a new page: its title, not the old page's
    run_jobs(app)
    assert link_title(tp_id) == "Only a title" and stored(tp_id).url == f"{pages.url}/plain"
    comms.api("PATCH", f"/api/talking-points/{tp_id}", {"title": "Lisbon!"})
    run_jobs(app)
    assert pages.hits["/plain"] == 1  # an edit that keeps the link fetches nothing


@pytest.mark.parametrize(("path", "error"), [
    ("/logo.png", "the link is not a web page (image/png)"),
    ("/missing", "the page answered HTTP 404"),
    ("/hop/1", "the page redirects more than 3 times"),
])
def test_a_link_without_a_card_stores_and_shows_why(comms: Any, app: Any, pages: Pages, path: str, error: str) -> None:
    tp_id = write(comms, pages.url + path)
    run_jobs(app)
    preview = stored(tp_id)
    assert preview.error == error and preview.title is None and preview.fetched_at
    assert f"No preview: {error}." in comms.get(f"/studio/{tp_id}").get_data(as_text=True)
    if path == "/hop/1":
        assert [pages.hits[f"/hop/{n}"] for n in (1, 2, 3, 4, 5)] == [1, 1, 1, 1, 0]  # 3 redirects followed


def test_only_the_first_megabyte_is_read(comms: Any, app: Any, pages: Pages) -> None:
    tp_id = write(comms, f"{pages.url}/big")
    run_jobs(app)
    assert link_title(tp_id) == "Acme opens a Lisbon office"


@pytest.fixture()
def no_allow_list(settings: dict[str, Any]) -> None:
    settings["OUTBOUND_ALLOW"] = ""  # production's default: the public internet only


def test_a_private_link_is_never_fetched_and_reads_unreachable(no_allow_list: None, comms: Any, app: Any,
                                                               pages: Pages) -> None:
    tp_id = write(comms, f"{pages.url}/article")
    run_jobs(app)  # no crash: the job stores the reason
    preview = stored(tp_id)
    assert preview.error == UNREACHABLE and preview.title is None
    assert pages.hits["/article"] == 0  # the guard refused before connecting
    assert f"No preview: {UNREACHABLE}." in comms.get(f"/studio/{tp_id}").get_data(as_text=True)


@pytest.fixture()
def only_news_example(settings: dict[str, Any], monkeypatch: Any) -> None:
    """``news.example`` resolves to loopback and is the one allowed host; loopback by address is not allowed."""
    settings["OUTBOUND_ALLOW"] = "news.example"
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **kw: real(
        "127.0.0.1" if host == "news.example" else host, *a, **kw))


def test_a_redirect_to_a_private_address_is_refused(only_news_example: None, comms: Any, app: Any,
                                                    pages: Pages) -> None:
    pages.redirect_to = f"{pages.url}/article"
    tp_id = write(comms, f"http://news.example:{pages.port}/elsewhere")
    run_jobs(app)
    assert stored(tp_id).error == UNREACHABLE
    assert pages.hits["/elsewhere"] == 1 and pages.hits["/article"] == 0


def test_the_card_reads_twitter_cards_and_titles() -> None:
    twitter = parse('<meta name="twitter:title" content="T"><meta name="twitter:description" content="D">'
                    '<meta name="twitter:image" content="https://cdn.example/i.png"><title>ignored</title>',
                    "https://example.com/a")
    assert (twitter.title, twitter.description, twitter.image_url) == ("T", "D", "https://cdn.example/i.png")
    bare = parse('<title>Hello &amp; welcome</title><meta name="description" content="About us">'
                 '<meta property="og:image" content="javascript:alert(1)">', "https://example.com/")
    assert (bare.title, bare.description, bare.image_url, bare.site_name) == (
        "Hello & welcome", "About us", None, None)
    assert link_previews.parse("", "https://example.com/").title is None
