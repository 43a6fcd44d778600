"""ThreadsConnector against the Threads sandbox over real HTTP: OAuth with the long-lived exchange and refresh, the
two-step publish (text, link card, image fetched by URL), container ERROR/EXPIRED, limits, the publishing quota,
insights, delete, the Graph error codes, find_post, and one post only when the publish answer is lost."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from flask import Flask, Response
from werkzeug.serving import make_server

from connectors.base import (
    AuthExpired,
    AuthRevoked,
    ConfigurationError,
    FindsPosts,
    Media,
    RateLimited,
    Rejected,
    Token,
    Transient,
)
from connectors.threads import ThreadsConnector, text_length
from sandbox.runner import SandboxServer, start
from tests.connectors.imagefiles import png

pytestmark = pytest.mark.timeout(60)
REDIRECT_URI = "http://127.0.0.1:5000/accounts/callback/threads"
LINK = "https://advocacy.example/r/abc123"


class Sandbox:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=5)
        assert response.ok, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def fault(self, **spec: Any) -> dict[str, Any]:
        return self.control("POST", "faults", spec)["fault"]

    def config(self, **changes: Any) -> dict[str, Any]:
        return self.control("POST", "config", changes)["config"]

    def posts(self) -> list[dict[str, Any]]:
        return self.control("GET", "posts")["posts"]

    def containers(self) -> list[dict[str, Any]]:
        return self.control("GET", "containers")["containers"]

    def advance(self, seconds: float) -> None:
        self.control("POST", "clock", {"advance": seconds})


class Store:
    """The app's container store, as a dict (the app keeps it in Redis)."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def put(self, key: str, container_id: str) -> None:
        self.data[key] = container_id


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with start("threads") as running:
        yield running


@pytest.fixture
def sandbox(server: SandboxServer) -> Sandbox:
    box = Sandbox(server.url)
    box.control("POST", "reset")
    box.config(image_processing_ms=100)
    return box


@pytest.fixture(scope="module")
def images() -> Iterator[dict[str, Any]]:
    """A tiny public web server the sandbox fetches images from (as Threads fetches ``image_url``)."""
    files: dict[str, bytes] = {}
    app = Flask("images")

    @app.get("/img/<name>")
    def image(name: str) -> Response:
        if name not in files:
            return Response("gone", 404)
        return Response(files[name], mimetype="image/png")

    web = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=web.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield {"files": files, "url": f"http://127.0.0.1:{web.server_port}/img/"}
    web.shutdown()
    web.server_close()


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def connector(sandbox: Sandbox, store: Store, images: dict[str, Any]) -> ThreadsConnector:
    def image_url(media: Media, key: str) -> str:
        images["files"][key] = media.data
        return images["url"] + key

    return make(sandbox, containers=store, image_url=image_url)


def make(sandbox: Sandbox, **kw: Any) -> ThreadsConnector:
    settings: dict[str, Any] = {
        "client_id": "threads-sandbox-app", "client_secret": "threads-sandbox-secret", "api_base_url": sandbox.url,
        "authorize_url": f"{sandbox.url}/oauth/authorize", "token_url": f"{sandbox.url}/oauth/access_token",
        "web_base_url": sandbox.url, "timeout": 2.0, "container_wait": 5.0}
    return ThreadsConnector(**(settings | kw))


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")


def consent(connector: ThreadsConnector, username: str = "alice", decision: str = "allow") -> dict[str, list[str]]:
    """The person's browser on Threads' consent page: returns the callback's query."""
    auth = connector.authorization_url(REDIRECT_URI)
    page = requests.get(auth.url, timeout=5)
    assert page.status_code == 200, page.text
    form = _Form()
    form.feed(page.text)
    answer = requests.post(urljoin(auth.url, form.action), timeout=5, allow_redirects=False,
                           data=form.fields | {"username": username, "decision": decision})
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == [auth.state]
    return query


def connect(connector: ThreadsConnector, username: str = "alice") -> Token:
    return connector.exchange_code(consent(connector, username)["code"][0], REDIRECT_URI, None)


# ------------------------------------------------------------------------------------------------------- OAuth
def test_connect_gives_a_long_lived_token_that_refreshes_after_a_day(sandbox: Sandbox,
                                                                     connector: ThreadsConnector) -> None:
    auth = connector.authorization_url(REDIRECT_URI)
    query = parse_qs(urlsplit(auth.url).query)
    assert query["scope"] == ["threads_basic,threads_content_publish,threads_manage_insights,threads_delete"]
    token = connect(connector)
    assert token.access_token.startswith("THL")  # the long-lived one, not the short-lived code answer
    assert token.expires_at is not None
    assert dt.timedelta(days=59) < token.expires_at - dt.datetime.now(dt.UTC) <= dt.timedelta(days=60)
    assert connector.profile(token.access_token).handle == "alice"
    with pytest.raises(Rejected, match="24 hours old"):  # Threads refreshes a token only once it is a day old
        connector.refresh(token)
    sandbox.advance(86400 + 60)
    fresh = connector.refresh(token)
    assert fresh.access_token != token.access_token and fresh.refresh_token == fresh.access_token
    assert connector.profile(fresh.access_token).handle == "alice"


def test_an_expired_token_cannot_be_refreshed_the_person_must_reconnect(sandbox: Sandbox,
                                                                        connector: ThreadsConnector) -> None:
    token = connect(connector)
    sandbox.control("POST", "tokens/expire", {"handle": "alice"})
    with pytest.raises(AuthExpired) as expired:
        connector.publish(token.access_token, "hello", LINK)
    assert expired.value.raw and '"error_subcode": 463' in expired.value.raw
    with pytest.raises(AuthRevoked, match="reconnect"):
        connector.refresh(token)
    assert sandbox.posts() == []


def test_a_revoked_token_is_auth_revoked(sandbox: Sandbox, connector: ThreadsConnector) -> None:
    token = connect(connector)
    sandbox.control("POST", "tokens/revoke", {"handle": "alice"})
    with pytest.raises(AuthRevoked, match="subcode 458"):
        connector.profile(token.access_token)


def test_a_wrong_secret_or_denied_consent(sandbox: Sandbox, connector: ThreadsConnector) -> None:
    code = consent(connector)["code"][0]
    with pytest.raises((ConfigurationError, Rejected)):
        make(sandbox, client_secret="wrong").exchange_code(code, REDIRECT_URI, None)
    assert consent(connector, decision="cancel")["error"] == ["access_denied"]
    with pytest.raises(ConfigurationError):
        make(sandbox, client_id="").authorization_url(REDIRECT_URI)


# ----------------------------------------------------------------------------------------------------- publish
def test_publish_text_with_the_link_as_its_card(sandbox: Sandbox, connector: ThreadsConnector,
                                                store: Store) -> None:
    token = connect(connector)
    post = connector.publish(token.access_token, "Our new report 🎉", LINK, idempotency_key="share-1",
                             topic_tag="Advocacy")
    [held] = sandbox.posts()
    assert held["id"] == post.id and held["text"] == "Our new report 🎉" and held["link"] == LINK
    assert held["media_type"] == "TEXT_POST" and held["topic_tag"] == "Advocacy"
    assert post.url.endswith(f"/post/{held['shortcode']}")
    assert store.data["share-1"] == held["container_id"]


def test_publish_an_image_fetched_by_url_with_alt_text(sandbox: Sandbox, connector: ThreadsConnector) -> None:
    token = connect(connector)
    post = connector.publish(token.access_token, "Look", LINK, idempotency_key="share-img",
                             media=[Media(png(), "image/png", "A red square")])
    [held] = sandbox.posts()
    assert held["id"] == post.id and held["media_type"] == "IMAGE" and held["alt_text"] == "A red square"
    assert held["text"] == f"Look {LINK}"  # an image post carries the link in its text


def test_an_image_threads_cannot_fetch_fails_with_its_message(sandbox: Sandbox, images: dict[str, Any]) -> None:
    connector = make(sandbox, image_url=lambda media, key: images["url"] + "missing")
    token = connect(connector)
    with pytest.raises(Rejected, match="could not be downloaded"):
        connector.publish(token.access_token, "Look", LINK, media=[Media(png(), "image/png", "alt")])
    assert sandbox.posts() == []
    with pytest.raises(ConfigurationError, match="public image URL"):
        make(sandbox).publish(token.access_token, "Look", LINK, media=[Media(png(), "image/png", "alt")])


@pytest.mark.parametrize("outcome", ["ERROR", "EXPIRED"])
def test_a_container_that_ends_error_or_expired_fails_the_share(sandbox: Sandbox, connector: ThreadsConnector,
                                                                outcome: str) -> None:
    token = connect(connector)
    if outcome == "ERROR":
        sandbox.config(container_outcome="ERROR", container_error_message="Text violates the rules.")
        with pytest.raises(Rejected, match="Text violates the rules"):
            connector.publish(token.access_token, "hello", LINK, idempotency_key="k")
    else:  # made on one attempt, never published, found expired a day later by the next attempt
        sandbox.config(text_processing_ms=60_000)
        with pytest.raises(Transient, match="still processing"):
            make(sandbox, containers=connector.containers, container_wait=0.2).publish(
                token.access_token, "hello", LINK, idempotency_key="k")
        sandbox.advance(86400 + 60)
        sandbox.config(text_processing_ms=0)
        fresh = connect(connector, "alice")
        post = connector.publish(fresh.access_token, "hello", LINK, idempotency_key="k")  # a new container
        assert [p["id"] for p in sandbox.posts()] == [post.id]
        assert sorted(c["status"] for c in sandbox.containers()) == ["EXPIRED", "PUBLISHED"]
        return
    assert sandbox.posts() == []


def test_limits_are_refused_before_sending_and_by_the_sandbox(sandbox: Sandbox, connector: ThreadsConnector) -> None:
    token = connect(connector)
    assert text_length("a" * 499 + "🎉") == 503  # an emoji counts as its 4 UTF-8 bytes
    with pytest.raises(Rejected, match="503 characters"):
        connector.publish(token.access_token, "a" * 499 + "🎉", LINK)
    connector.publish(token.access_token, "a" * 496 + "🎉", LINK)  # exactly 500
    six = " ".join(f"https://e{i}.example/" for i in range(5))
    with pytest.raises(Rejected, match="6 links"):
        connector.publish(token.access_token, six, LINK)
    with pytest.raises(Rejected, match="topic"):
        connector.publish(token.access_token, "hi", LINK, topic_tag="a.b")
    # the sandbox refuses what the connector would not send
    auth = {"Authorization": f"Bearer {token.access_token}"}
    raw = requests.post(f"{sandbox.url}/v1.0/me/threads", timeout=5, headers=auth,
                        data={"media_type": "TEXT", "text": six, "link_attachment": LINK})
    assert raw.status_code == 400 and "THREADS_API__LINK_LIMIT_EXCEEDED" in raw.json()["error"]["message"]
    bad = requests.post(f"{sandbox.url}/v1.0/me/threads_publish", timeout=5,
                        headers={"Authorization": f"Bearer {token.access_token}"}, data={"creation_id": "123"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 100 and "fbtrace_id" in bad.json()["error"]
    assert len(sandbox.posts()) == 1


def test_a_spent_quota_is_rate_limited_not_rejected(sandbox: Sandbox, connector: ThreadsConnector) -> None:
    token = connect(connector)
    sandbox.config(quota_total=2)
    connector.publish(token.access_token, "one", LINK + "1")
    connector.publish(token.access_token, "two", LINK + "2")
    assert connector.publishing_limit(token.access_token) == (2, 2, 86400)
    with pytest.raises(RateLimited, match="quota") as limited:
        connector.publish(token.access_token, "three", LINK + "3")
    assert limited.value.reset_at is not None and limited.value.reset_at > dt.datetime.now(dt.UTC)
    assert len(sandbox.posts()) == 2


@pytest.mark.parametrize("code, app_wide", [(4, True), (17, False), (32, True), (613, False)])
def test_graph_rate_limit_codes_are_rate_limited_whatever_the_status(sandbox: Sandbox, connector: ThreadsConnector,
                                                                     code: int, app_wide: bool) -> None:
    token = connect(connector)
    body = f'{{"error":{{"message":"(#{code}) limit","type":"OAuthException","code":{code},"is_transient":true}}}}'
    sandbox.fault(status=403 if code == 4 else 400, count=1, path_prefix="/v1.0/me", body=body)
    with pytest.raises(RateLimited) as limited:
        connector.profile(token.access_token)
    assert limited.value.app_wide is app_wide


def test_a_429_and_5xx_are_retryable(sandbox: Sandbox, connector: ThreadsConnector) -> None:
    token = connect(connector)
    sandbox.fault(status=429, count=1, path_prefix="/v1.0/me/threads", headers={"Retry-After": "30"})
    with pytest.raises(RateLimited) as limited:
        connector.publish(token.access_token, "hi", LINK)
    assert limited.value.reset_at is not None
    sandbox.fault(status=503, count=1, path_prefix="/v1.0/me/threads")
    with pytest.raises(Transient):
        connector.publish(token.access_token, "hi", LINK)
    assert sandbox.posts() == []


# ------------------------------------------------------------------------------------- metrics, delete, find
def test_metrics_and_delete(sandbox: Sandbox, connector: ThreadsConnector) -> None:
    token = connect(connector)
    post = connector.publish(token.access_token, "hi", LINK)
    sandbox.control("POST", f"posts/{post.id}/metrics", {"views": 120, "likes": 7, "replies": 2, "reposts": 1,
                                                          "quotes": 3})
    [m] = connector.metrics(token.access_token, [post.id])
    assert (m.impressions, m.likes, m.replies, m.reposts, m.quotes) == (120, 7, 2, 1, 3)
    connector.delete(token.access_token, post.id)
    assert sandbox.posts()[0]["deleted"] is True
    assert connector.metrics(token.access_token, [post.id]) == []  # gone: left out, never zeros
    with pytest.raises(Rejected):
        connector.delete(token.access_token, post.id)


def test_find_post_reads_the_persons_recent_posts_across_pages(sandbox: Sandbox, connector: ThreadsConnector) -> None:
    assert isinstance(connector, FindsPosts)
    token = connect(connector)
    wanted = connector.publish(token.access_token, "the one", LINK)
    for i in range(60):  # pushes it past the first page
        connector.publish(token.access_token, f"other {i}", f"https://other.example/{i}")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    found = connector.find_post(token.access_token, LINK, since)
    assert found is not None and found.id == wanted.id
    assert connector.find_post(token.access_token, "https://advocacy.example/r/nope", since) is None


# ------------------------------------------------------------------------------------------------ exactly once
def test_a_lost_publish_answer_reuses_the_container_and_posts_once(sandbox: Sandbox, connector: ThreadsConnector,
                                                                   store: Store) -> None:
    token = connect(connector)
    quick = make(sandbox, containers=store, timeout=0.5)
    sandbox.fault(path_prefix="/v1.0/me/threads_publish", count=1, after=True, delay=1.5)  # committed, answer late
    with pytest.raises(Transient):
        quick.publish(token.access_token, "once", LINK, idempotency_key="share-9")
    post = connector.publish(token.access_token, "once", LINK, idempotency_key="share-9")  # the retry
    [held] = sandbox.posts()
    assert held["id"] == post.id
    assert len(sandbox.containers()) == 1  # no second container was made


def test_a_publish_that_commits_after_the_retry_still_posts_once(sandbox: Sandbox, connector: ThreadsConnector,
                                                                  store: Store) -> None:
    token = connect(connector)
    quick = make(sandbox, containers=store, timeout=0.5)
    sandbox.fault(path_prefix="/v1.0/me/threads_publish", count=1, commit_late=True, delay=1.5)
    with pytest.raises(Transient):
        quick.publish(token.access_token, "once", LINK, idempotency_key="share-10")
    try:  # the retry publishes the same container first; the held request then meets "already published"
        connector.publish(token.access_token, "once", LINK, idempotency_key="share-10")
    except Transient:
        pass
    deadline = dt.datetime.now() + dt.timedelta(seconds=5)
    while len(sandbox.posts()) < 1 and dt.datetime.now() < deadline:
        threading.Event().wait(0.05)
    threading.Event().wait(1.6)  # the held request's own delay, so its outcome is in
    assert len(sandbox.posts()) == 1 and len(sandbox.containers()) == 1
    again = connector.publish(token.access_token, "once", LINK, idempotency_key="share-10")
    assert again.id == sandbox.posts()[0]["id"]


def test_a_kept_container_another_profile_cannot_read_is_replaced(sandbox: Sandbox, connector: ThreadsConnector,
                                                                  store: Store) -> None:
    alice = connect(connector, "alice")
    connector.publish(alice.access_token, "alice's", LINK, idempotency_key="share-11")
    bob = connect(connector, "bob")  # the person reconnected as another profile: the kept container is not theirs
    post = connector.publish(bob.access_token, "bob's", LINK + "b", idempotency_key="share-11")
    assert {p["author_handle"] for p in sandbox.posts()} == {"alice", "bob"}
    assert [p["id"] for p in sandbox.posts() if p["author_handle"] == "bob"] == [post.id]


def test_tokens_and_the_app_secret_never_reach_a_log_line(sandbox: Sandbox, connector: ThreadsConnector,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with caplog.at_level(logging.DEBUG):
        token = connect(connector)
        sandbox.advance(86400 + 60)
        fresh = connector.refresh(token)
        connector.find_post(fresh.access_token, LINK, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")  # werkzeug: the sandbox's
    assert "access_token=[redacted]" in logged  # urllib3 logged the token calls' request lines
    for secret in (token.access_token, fresh.access_token, "threads-sandbox-secret"):
        assert secret not in logged
