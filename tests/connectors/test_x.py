"""XConnector against the X sandbox over real HTTP: OAuth, posting, metrics, and every failure mapped."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

import connectors
from connectors.base import (
    AuthExpired,
    AuthRevoked,
    ConfigurationError,
    Connector,
    Duplicate,
    RateLimited,
    Rejected,
    Token,
    Transient,
    connector_class,
)
from connectors.x import XConnector
from sandbox.runner import NETWORKS, start_all, stop_all

pytestmark = pytest.mark.timeout(30)
REPO = Path(__file__).resolve().parents[2]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def api(sandbox: Any, method: str, path: str, token: Token, **kw: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token.access_token}", **kw.pop("headers", {})}
    return requests.request(method, f"{sandbox.url}{path}", headers=headers, timeout=5, **kw)


# ---------------------------------------------------------------------------------------------------- registry
def test_registered_and_implements_the_protocol(x_connector: XConnector) -> None:
    assert connector_class("x") is XConnector
    assert "x" in connectors.registered_networks()
    assert isinstance(x_connector, Connector)


def test_bad_base_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        XConnector(api_base_url="api.x.com")


# ------------------------------------------------------------------------------------------------------- OAuth
def test_connect_flow_with_pkce(x_sandbox: Any, x_flow: Any, x_connector: XConnector) -> None:
    auth = x_connector.authorization_url(x_flow.redirect_uri)
    query = {k: v[0] for k, v in parse_qs(urlsplit(auth.url).query).items()}
    assert auth.url.startswith(f"{x_sandbox.url}/i/oauth2/authorize?")
    assert query["response_type"] == "code"
    assert query["client_id"] == x_flow.client_id
    assert query["redirect_uri"] == x_flow.redirect_uri
    assert query["scope"].split() == ["tweet.read", "tweet.write", "users.read", "offline.access", "media.write"]
    assert query["state"] == auth.state
    assert query["code_challenge_method"] == "S256"
    assert auth.code_verifier and 43 <= len(auth.code_verifier) <= 128
    digest = hashlib.sha256(auth.code_verifier.encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    page = requests.get(auth.url, timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    for shown in (x_flow.client_id, "tweet.write", "offline.access", 'name="username"', "Authorize", "Cancel"):
        assert shown in page.text

    params = x_flow.callback_params(x_flow.consent(auth.url, username="alice"))
    assert params["state"] == auth.state and params["code"]
    token = x_connector.exchange_code(params["code"], x_flow.redirect_uri, auth.code_verifier)
    assert token.access_token and token.refresh_token
    assert token.expires_at is not None and token.expires_at.tzinfo is not None
    assert abs((token.expires_at - now()).total_seconds() - 7200) < 30
    assert set(token.scope.split()) == {"tweet.read", "tweet.write", "users.read", "offline.access", "media.write"}
    assert x_connector.profile(token.access_token).handle == "alice"

    with pytest.raises(Rejected) as reused:  # codes are single use
        x_connector.exchange_code(params["code"], x_flow.redirect_uri, auth.code_verifier)
    assert reused.value.status == 400


def test_cancel_sends_access_denied(x_flow: Any, x_connector: XConnector) -> None:
    auth = x_connector.authorization_url(x_flow.redirect_uri)
    params = x_flow.callback_params(x_flow.consent(auth.url, decision="cancel"))
    assert params == {"error": "access_denied", "state": auth.state}


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("response_type", "token"),
        ("client_id", ""),
        ("redirect_uri", "not-a-url"),
        ("scope", "tweet.read nonsense.scope"),
        ("state", ""),
        ("code_challenge", "short"),
        ("code_challenge_method", "plain"),
    ],
)
def test_consent_page_names_a_bad_parameter(x_flow: Any, x_connector: XConnector, param: str, value: str) -> None:
    auth = x_connector.authorization_url(x_flow.redirect_uri)
    parts = urlsplit(auth.url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {param: value}
    page = requests.get(f"{parts.scheme}://{parts.netloc}{parts.path}", params=query, timeout=5)
    assert page.status_code == 400
    assert page.headers["Content-Type"].startswith("text/html")
    assert f"<code>{param}</code>" in page.text


def test_consent_rejects_a_bad_handle(x_flow: Any, x_connector: XConnector) -> None:
    auth = x_connector.authorization_url(x_flow.redirect_uri)
    answer = x_flow.consent(auth.url, username="not a handle!")
    assert answer.status_code == 400 and "handle" in answer.text


def test_wrong_code_verifier_is_refused(x_flow: Any, x_connector: XConnector) -> None:
    auth = x_connector.authorization_url(x_flow.redirect_uri)
    params = x_flow.callback_params(x_flow.consent(auth.url))
    other = x_connector.authorization_url(x_flow.redirect_uri).code_verifier
    with pytest.raises(Rejected) as refused:
        x_connector.exchange_code(params["code"], x_flow.redirect_uri, other)
    assert refused.value.status == 400 and "verifier" in refused.value.message


def test_wrong_redirect_uri_is_refused(x_flow: Any, x_connector: XConnector) -> None:
    auth = x_connector.authorization_url(x_flow.redirect_uri)
    params = x_flow.callback_params(x_flow.consent(auth.url))
    with pytest.raises(Rejected):
        x_connector.exchange_code(params["code"], "http://127.0.0.1:5000/elsewhere", auth.code_verifier)


def test_confidential_client_authenticates_with_basic(x_sandbox: Any, x_flow: Any, x_make_connector: Any) -> None:
    x_sandbox.config(clients={"conf-app": {"secret": "s3cret", "name": "Advocacy"}})
    confidential = x_make_connector(client_id="conf-app", client_secret="s3cret")
    token = x_flow.connect(confidential)
    assert confidential.refresh(token).access_token != token.access_token

    wrong = x_make_connector(client_id="conf-app", client_secret="wrong")
    with pytest.raises(ConfigurationError) as refused:
        wrong.refresh(token)
    assert refused.value.status == 401


def test_refresh_rotates_the_refresh_token(x_connector: XConnector, x_token: Token) -> None:
    fresh = x_connector.refresh(x_token)
    assert fresh.access_token != x_token.access_token
    assert fresh.refresh_token and fresh.refresh_token != x_token.refresh_token
    assert fresh.expires_at is not None and fresh.expires_at > now()
    with pytest.raises(AuthRevoked) as dead:
        x_connector.refresh(x_token)  # the old refresh token died when it was used
    assert dead.value.status == 400
    assert x_connector.refresh(fresh).access_token


def test_no_offline_access_no_refresh_token(x_flow: Any, x_make_connector: Any) -> None:
    connector = x_make_connector(scopes=("tweet.read", "tweet.write", "users.read"))
    token = x_flow.connect(connector)
    assert token.refresh_token is None
    with pytest.raises(AuthRevoked):
        connector.refresh(token)


def test_exchange_needs_a_client_id(x_make_connector: Any) -> None:
    with pytest.raises(ConfigurationError):
        x_make_connector(client_id="").authorization_url("http://127.0.0.1/cb")


def test_token_endpoint_outage_is_transient(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    x_sandbox.fault(status=503, path_prefix="/2/oauth2/token", count=1)
    with pytest.raises(Transient) as outage:
        x_connector.refresh(x_token)
    assert outage.value.status == 503
    x_sandbox.fault(status=200, body="<html>maintenance</html>", path_prefix="/2/oauth2/token", count=1)
    with pytest.raises(Transient):
        x_connector.refresh(x_token)


# --------------------------------------------------------------------------------------------------- the API
def test_profile(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    user = x_sandbox.user("alice", followers=4321)
    profile = x_connector.profile(x_token.access_token)
    assert (profile.id, profile.handle, profile.followers) == (user["id"], "alice", 4321)


def test_publish_appends_the_link(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    post = x_connector.publish(x_token.access_token, "Our new report is out", link="https://example.com/r/abc")
    assert post.url == f"{x_sandbox.url}/i/web/status/{post.id}"
    again = x_connector.publish(x_token.access_token, "Read https://example.com/r/abc now", "https://example.com/r/abc")
    stored = {p["id"]: p for p in x_sandbox.posts()}
    assert stored[post.id]["text"] == "Our new report is out https://example.com/r/abc"
    assert stored[again.id]["text"] == "Read https://example.com/r/abc now"
    assert stored[post.id]["author_handle"] == "alice" and not stored[post.id]["deleted"]
    page = requests.get(post.url, timeout=5)
    assert page.status_code == 200 and "Our new report is out" in page.text and "@alice" in page.text


def test_one_connector_kept_for_many_people_and_threads_posts_as_each(
    x_sandbox: Any, x_flow: Any, x_connector: XConnector, x_token: Token
) -> None:
    """The kept client (one per thread) carries only the token of the call in progress."""
    from concurrent.futures import ThreadPoolExecutor

    bob = x_flow.connect(x_connector, "bob")
    tokens = {"alice": x_token.access_token, "bob": bob.access_token}
    jobs = [(name, f"Post {i} by {name}") for i in range(6) for name in tokens]
    for name, text in jobs[:4]:  # alternating people on one thread's client
        x_connector.publish(tokens[name], text)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda job: x_connector.publish(tokens[job[0]], job[1]), jobs[4:]))
    authors = {p["text"]: p["author_handle"] for p in x_sandbox.posts()}
    assert authors == {text: name for name, text in jobs}
    with pytest.raises(AuthExpired):  # an empty token is refused, never sent with the previous caller's
        x_connector.publish("", "Nobody's post")


def test_duplicate_is_duplicate(x_connector: XConnector, x_token: Token) -> None:
    x_connector.publish(x_token.access_token, "Same words twice")
    with pytest.raises(Duplicate) as dup:
        x_connector.publish(x_token.access_token, "Same words twice")
    assert dup.value.status == 403 and "duplicate content" in dup.value.message
    assert dup.value.raw and "duplicate" in dup.value.raw


def test_delete(x_sandbox: Any, x_flow: Any, x_connector: XConnector, x_token: Token) -> None:
    post = x_connector.publish(x_token.access_token, "Short-lived")
    other = x_flow.connect(x_connector, "bob")
    with pytest.raises(Rejected) as not_author:
        x_connector.delete(other.access_token, post.id)
    assert not_author.value.status == 403
    x_connector.delete(x_token.access_token, post.id)
    assert [p["deleted"] for p in x_sandbox.posts() if p["id"] == post.id] == [True]
    with pytest.raises(Rejected) as gone:
        x_connector.delete(x_token.access_token, post.id)
    assert gone.value.status == 404
    assert requests.get(post.url, timeout=5).status_code == 410


def test_metrics_keep_none_apart_from_zero(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    first = x_connector.publish(x_token.access_token, "First")
    second = x_connector.publish(x_token.access_token, "Second")
    x_sandbox.set_metrics(
        first.id, like_count=7, retweet_count=2, reply_count=1, quote_count=0, bookmark_count=3, impression_count=None
    )
    x_sandbox.set_metrics(second.id, like_count=0, retweet_count=0, reply_count=0, quote_count=0, bookmark_count=0)
    missing = "1899999999999999999"
    figures = {m.post_id: m for m in x_connector.metrics(x_token.access_token, [first.id, second.id, missing])}
    assert set(figures) == {first.id, second.id}  # a post X does not have is left out
    one = figures[first.id]
    assert (one.likes, one.reposts, one.replies, one.quotes, one.impressions) == (7, 2, 1, 0, None)
    assert one.extra == {"bookmarks": 3}
    two = figures[second.id]
    assert (two.likes, two.reposts, two.replies, two.quotes, two.impressions) == (0, 0, 0, 0, 0)
    assert x_connector.metrics(x_token.access_token, []) == []


def test_metrics_grow_when_not_pinned(x_connector: XConnector, x_token: Token) -> None:
    post = x_connector.publish(x_token.access_token, "Growing")
    before = x_connector.metrics(x_token.access_token, [post.id])[0]
    after = x_connector.metrics(x_token.access_token, [post.id])[0]
    assert before.impressions is not None and after.impressions is not None and after.impressions > before.impressions


def test_metrics_are_fetched_100_per_request(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    post = x_connector.publish(x_token.access_token, "Batched")
    ids = [post.id] + [str(1_800_000_000_000_000_000 + i) for i in range(149)]
    assert [m.post_id for m in x_connector.metrics(x_token.access_token, ids)] == [post.id]
    x_sandbox.config(rate_limits={"GET /2/tweets": 1})  # two batches cannot fit in one request
    with pytest.raises(RateLimited):
        x_connector.metrics(x_token.access_token, ids)


# ------------------------------------------------------------------------------------------------ auth errors
def test_expired_token_is_auth_expired_then_refresh_works(
    x_sandbox: Any, x_connector: XConnector, x_token: Token
) -> None:
    assert x_sandbox.expire_tokens() >= 1
    with pytest.raises(AuthExpired) as expired:
        x_connector.publish(x_token.access_token, "After expiry")
    assert expired.value.status == 401 and not expired.value.retryable
    fresh = x_connector.refresh(x_token)
    assert x_connector.publish(fresh.access_token, "After expiry").id


def test_revoked_consent_is_auth_revoked(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    assert x_sandbox.revoke_tokens("alice") == 2
    with pytest.raises(AuthExpired):
        x_connector.profile(x_token.access_token)
    with pytest.raises(AuthRevoked) as revoked:
        x_connector.refresh(x_token)
    assert revoked.value.status == 400 and revoked.value.raw


def test_revoke_endpoint_kills_a_token(x_sandbox: Any, x_flow: Any, x_connector: XConnector, x_token: Token) -> None:
    form = {"token": x_token.access_token, "client_id": x_flow.client_id}
    answer = requests.post(f"{x_sandbox.url}/2/oauth2/revoke", data=form, timeout=5)
    assert answer.status_code == 200 and answer.json() == {"revoked": True}
    with pytest.raises(AuthExpired):
        x_connector.profile(x_token.access_token)
    assert x_connector.refresh(x_token).access_token  # revoking the access token leaves the refresh token


def test_missing_token_is_auth_expired(x_connector: XConnector) -> None:
    with pytest.raises(AuthExpired):
        x_connector.profile("")
    with pytest.raises(AuthExpired):
        x_connector.profile("made-up-token")


# ------------------------------------------------------------------------------------------------ rate limits
def test_injected_429_gives_reset_at(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    x_sandbox.fault(status=429, reset_in=120, path_prefix="/2/tweets", count=1)
    with pytest.raises(RateLimited) as limited:
        x_connector.publish(x_token.access_token, "Too soon")
    assert limited.value.retryable and limited.value.status == 429
    assert limited.value.reset_at is not None
    assert abs((limited.value.reset_at - now()).total_seconds() - 120) <= 2


def test_exhausted_24_hour_cap_wins_over_the_window(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    later = int(time.time()) + 40_000
    headers = {"x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": str(later)}
    x_sandbox.fault(status=429, reset_in=60, headers=headers, path_prefix="/2/tweets", count=1)
    with pytest.raises(RateLimited) as limited:
        x_connector.publish(x_token.access_token, "Over the cap")
    assert limited.value.reset_at == dt.datetime.fromtimestamp(later, dt.UTC)


def test_window_limit_of_the_sandbox(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    x_sandbox.config(rate_limits={"POST /2/tweets": 1})
    x_connector.publish(x_token.access_token, "One")
    with pytest.raises(RateLimited) as limited:
        x_connector.publish(x_token.access_token, "Two")
    assert limited.value.reset_at is not None
    assert 880 <= (limited.value.reset_at - now()).total_seconds() <= 901


def test_app_24_hour_cap_of_the_sandbox(x_sandbox: Any, x_flow: Any, x_connector: XConnector, x_token: Token) -> None:
    x_sandbox.config(app_24h_cap=1)
    x_connector.publish(x_token.access_token, "Only one today")
    bob = x_flow.connect(x_connector, "bob")
    with pytest.raises(RateLimited) as limited:  # the cap is the app's, whoever posts
        x_connector.publish(bob.access_token, "Bob too")
    assert limited.value.reset_at is not None
    assert (limited.value.reset_at - now()).total_seconds() > 86000
    answer = api(x_sandbox, "POST", "/2/tweets", bob, json={"text": "raw"})
    assert answer.status_code == 429 and answer.headers["x-app-limit-24hour-remaining"] == "0"
    assert answer.headers["x-rate-limit-remaining"].isdigit()


# ------------------------------------------------------------------------------------------- transient faults
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(x_sandbox: Any, x_connector: XConnector, x_token: Token, status: int) -> None:
    x_sandbox.fault(status=status, count=1)
    with pytest.raises(Transient) as failed:
        x_connector.publish(x_token.access_token, "During an outage")
    assert failed.value.status == status and failed.value.retryable


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, "<html><body>Over capacity</body></html>"), (201, ""), (403, "<html>Blocked by proxy</html>")],
)
def test_unreadable_bodies_are_transient(
    x_sandbox: Any, x_connector: XConnector, x_token: Token, status: int, body: str
) -> None:
    x_sandbox.fault(status=status, body=body, count=1)
    with pytest.raises(Transient):
        x_connector.publish(x_token.access_token, "Unreadable")


def test_slow_answer_times_out_as_transient(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    x_sandbox.fault(delay=1.0, count=1)
    started = time.monotonic()
    with pytest.raises(Transient):
        x_connector.profile(x_token.access_token)
    assert time.monotonic() - started < 0.9


def test_configured_latency_slows_every_call(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    x_sandbox.config(latency_ms=150)
    started = time.monotonic()
    x_connector.profile(x_token.access_token)
    assert time.monotonic() - started >= 0.15
    x_sandbox.config(latency_ms=700)  # beyond the connector's timeout
    with pytest.raises(Transient):
        x_connector.profile(x_token.access_token)


def test_probable_faults_and_clearing_them(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    x_sandbox.config(seed=7)
    x_sandbox.fault(status=503, probability=0.5, path_prefix="/2/users/me")
    outcomes = []
    for _ in range(20):
        try:
            x_connector.profile(x_token.access_token)
            outcomes.append("ok")
        except Transient:
            outcomes.append("503")
    assert 0 < outcomes.count("503") < 20
    assert len(x_sandbox.control("GET", "faults")["faults"]) == 1
    assert x_sandbox.control("DELETE", "faults") == {"faults": []}
    assert x_connector.profile(x_token.access_token).handle == "alice"


def test_lost_answer_then_retry_is_duplicate(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    x_sandbox.fault(status=503, after=True, method="POST", path_prefix="/2/tweets", count=1)
    with pytest.raises(Transient):
        x_connector.publish(x_token.access_token, "Did it go out?")
    assert [p["text"] for p in x_sandbox.posts()] == ["Did it go out?"]  # stored before the answer was lost
    with pytest.raises(Duplicate):
        x_connector.publish(x_token.access_token, "Did it go out?")


def test_unreachable_network_is_transient(x_make_connector: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = x_make_connector(api_base_url=f"http://127.0.0.1:{port}", token_url=f"http://127.0.0.1:{port}/t")
    with pytest.raises(Transient):
        closed.publish("token", "Nobody listens")
    with pytest.raises(Transient):
        closed.refresh(Token(access_token="a", refresh_token="r"))


def test_tokens_never_reach_the_logs(caplog: pytest.LogCaptureFixture, x_flow: Any, x_connector: XConnector) -> None:
    with caplog.at_level(logging.DEBUG):
        token = x_flow.connect(x_connector)
        fresh = x_connector.refresh(token)
        x_connector.publish(fresh.access_token, "Quietly")
    assert caplog.records  # something was logged
    for secret in (token.access_token, token.refresh_token, fresh.access_token, fresh.refresh_token):
        assert secret and secret not in caplog.text
    assert token.access_token not in repr(token)


# ----------------------------------------------------------------------------------- what the sandbox refuses
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"text": "hi", "colour": "red"}, "$.colour: is not defined in the schema"),
        ({"text": 42}, "$.text: integer found, string expected"),
        ({"text": "hi", "reply": {"in_reply_to_tweet_id": "abc"}}, "$.reply.in_reply_to_tweet_id"),
        ({"text": "hi", "reply_settings": "everyone"}, "$.reply_settings"),
        ({}, "text"),
        ({"media": {"media_ids": ["123"]}}, "media IDs are invalid"),
    ],
)
def test_sandbox_rejects_bodies_breaking_the_schema(
    x_sandbox: Any, x_token: Token, body: dict[str, Any], expected: str
) -> None:
    answer = api(x_sandbox, "POST", "/2/tweets", x_token, json=body)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert problem["title"] == "Invalid Request"
    assert problem["type"] == "https://api.twitter.com/2/problems/invalid-request"
    assert any(expected in e["message"] for e in problem["errors"]), problem
    assert x_sandbox.posts() == []


def test_sandbox_rejects_broken_json(x_sandbox: Any, x_token: Token) -> None:
    headers = {"Content-Type": "application/json"}
    answer = api(x_sandbox, "POST", "/2/tweets", x_token, data="{not json", headers=headers)
    assert answer.status_code == 400 and answer.json()["title"] == "Invalid Request"


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        ("a" * 280, True),
        ("a" * 281, False),
        ("é" * 280, True),  # Latin-1 letters weigh one
        ("漢" * 140, True),  # CJK weighs two
        ("漢" * 141, False),
        ("👍🏽" * 140, True),  # an emoji with its skin tone is one emoji: two units
        ("x" * 256 + " https://example.com/" + "p" * 200, True),  # any URL counts 23: 256 + 1 + 23
        ("x" * 257 + " https://t.co/a", False),
    ],
)
def test_weighted_text_length(x_connector: XConnector, x_token: Token, text: str, fits: bool) -> None:
    if fits:
        assert x_connector.publish(x_token.access_token, text).id
    else:
        with pytest.raises(Rejected) as too_long:
            x_connector.publish(x_token.access_token, text)
        assert too_long.value.status == 400 and "too long" in too_long.value.message


def test_lookup_refuses_more_than_100_ids(x_sandbox: Any, x_token: Token) -> None:
    ids = ",".join(str(1_800_000_000_000_000_000 + i) for i in range(101))
    answer = api(x_sandbox, "GET", "/2/tweets", x_token, params={"ids": ids})
    assert answer.status_code == 400 and answer.json()["title"] == "Invalid Request"


def test_missing_scope_is_forbidden(x_flow: Any, x_make_connector: Any) -> None:
    reader = x_make_connector(scopes=("tweet.read", "users.read"))
    token = x_flow.connect(reader)
    assert reader.profile(token.access_token).handle == "alice"
    with pytest.raises(Rejected) as refused:
        reader.publish(token.access_token, "Not allowed")
    assert refused.value.status == 403 and "tweet.write" in refused.value.message


def test_every_api_answer_carries_rate_limit_headers(x_sandbox: Any, x_token: Token) -> None:
    created = api(x_sandbox, "POST", "/2/tweets", x_token, json={"text": "headers"})
    assert created.status_code == 201
    assert created.headers["location"].endswith(f"/2/tweets/{created.json()['data']['id']}")
    for name in ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"):
        assert created.headers[name].isdigit()
    for family in ("x-user-limit-24hour", "x-app-limit-24hour"):
        assert created.headers[f"{family}-remaining"].isdigit()
    me = api(x_sandbox, "GET", "/2/users/me", x_token)
    assert int(me.headers["x-rate-limit-reset"]) > time.time()
    bad = api(x_sandbox, "POST", "/2/tweets", x_token, json={"oops": 1})
    assert bad.status_code == 400 and bad.headers["x-rate-limit-remaining"].isdigit()


# --------------------------------------------------------------------------------------------- control & runner
def test_control_api_refuses_junk(x_sandbox: Any) -> None:
    for path, body in [
        ("config", {"token_lifetime": -1}),
        ("config", {"no_such_setting": 1}),
        ("faults", {"status": 999}),
        ("faults", {"probability": 0}),
        ("users", {"handle": "has space"}),
    ]:
        answer = requests.post(f"{x_sandbox.url}/_sandbox/{path}", json=body, timeout=5)
        assert answer.status_code == 400 and answer.json()["error"], (path, body)


def test_token_lifetime_is_configurable(x_sandbox: Any, x_flow: Any, x_connector: XConnector) -> None:
    x_sandbox.config(token_lifetime=60)
    token = x_flow.connect(x_connector)
    assert token.expires_at is not None and (token.expires_at - now()).total_seconds() <= 61


def test_start_all_serves_every_network() -> None:
    servers = start_all()
    try:
        assert set(servers) == set(NETWORKS)
        assert requests.get(f"{servers['x'].url}/_sandbox/config", timeout=5).ok
    finally:
        stop_all(servers)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{servers['x'].url}/_sandbox/config", timeout=1)


def test_module_runs_in_the_foreground_until_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--network", "x", "--ready-file", str(ready)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            printed = json.loads(proc.stdout.readline())
            assert json.loads(ready.read_text()) == printed
            assert requests.get(f"{printed['x']}/_sandbox/posts", timeout=5).json() == {"posts": []}
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
