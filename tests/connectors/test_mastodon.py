"""MastodonConnector against the Mastodon sandbox over real HTTP: registration, OAuth, posting, metrics, failures."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import socket
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connectors.base import (
    AuthRevoked,
    ConfigurationError,
    Connector,
    RateLimited,
    RegistersApps,
    Rejected,
    Token,
    Transient,
    connector_class,
)
from connectors.mastodon import MastodonConnector, normalize_instance_url
from sandbox.runner import start

pytestmark = pytest.mark.timeout(30)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def api(sandbox: Any, method: str, path: str, token: Token | None, **kw: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token.access_token}"} if token else {}
    return requests.request(method, f"{sandbox.url}{path}", headers=headers | kw.pop("headers", {}), timeout=5, **kw)


# ---------------------------------------------------------------------------------------------------- registry
def test_registered_and_implements_the_protocols(mastodon_connector: MastodonConnector) -> None:
    assert connector_class("mastodon") is MastodonConnector
    assert isinstance(mastodon_connector, Connector)
    assert isinstance(mastodon_connector, RegistersApps)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("mastodon.social", "https://mastodon.social"),
        ("https://Mastodon.Social/", "https://mastodon.social"),
        ("https://mastodon.social/@alice", "https://mastodon.social"),
        ("@alice@fosstodon.org", "https://fosstodon.org"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
    ],
)
def test_instance_urls_are_normalized(typed: str, expected: str) -> None:
    assert normalize_instance_url(typed) == expected


@pytest.mark.parametrize("typed", ["", "   ", "ftp://mastodon.social", "https://user:pw@mastodon.social", "https://"])
def test_junk_instance_url_is_a_configuration_error(typed: str) -> None:
    with pytest.raises(ConfigurationError):
        MastodonConnector(instance_url=typed)


# ------------------------------------------------------------------------------------------------ registration
def test_register_app_once_per_server(mastodon_sandbox: Any, mastodon_flow: Any) -> None:
    first = MastodonConnector(instance_url=mastodon_sandbox.url, client_name="Acme advocacy", website="https://a.test")
    creds = first.register_app(mastodon_flow.redirect_uri)
    assert creds.server_url == mastodon_sandbox.url and creds.client_id and creds.client_secret
    assert creds.redirect_uri == mastodon_flow.redirect_uri
    assert creds.scopes == "read:accounts read:statuses write:statuses write:media"
    assert creds.client_secret not in repr(creds)
    apps = mastodon_sandbox.control("GET", "apps")["apps"]
    assert [(a["name"], a["website"], a["redirect_uris"]) for a in apps] == [
        ("Acme advocacy", "https://a.test", [mastodon_flow.redirect_uri])
    ]
    with start("mastodon") as other:  # another server issues its own credentials
        elsewhere = MastodonConnector(instance_url=other.url).register_app(mastodon_flow.redirect_uri)
    assert elsewhere.server_url == other.url and elsewhere.client_id != creds.client_id


def test_register_app_bad_redirect_is_rejected(mastodon_sandbox: Any) -> None:
    with pytest.raises(Rejected) as refused:
        MastodonConnector(instance_url=mastodon_sandbox.url).register_app("not a uri")
    assert refused.value.status == 422 and "Redirect URI" in refused.value.message
    assert mastodon_sandbox.control("GET", "apps")["apps"] == []


def test_register_app_on_something_else_says_so(x_sandbox: Any) -> None:
    with pytest.raises(Rejected) as refused:
        MastodonConnector(instance_url=x_sandbox.url, timeout=2).register_app("http://127.0.0.1/cb")
    assert refused.value.status == 404 and "does not look like a Mastodon server" in refused.value.message


def test_oauth_needs_a_registration(mastodon_sandbox: Any) -> None:
    with pytest.raises(ConfigurationError):
        MastodonConnector(instance_url=mastodon_sandbox.url).authorization_url("http://127.0.0.1/cb")


# ------------------------------------------------------------------------------------------------------- OAuth
def test_connect_flow_with_pkce(mastodon_sandbox: Any, mastodon_flow: Any, mastodon_connector: Any) -> None:
    auth = mastodon_connector.authorization_url(mastodon_flow.redirect_uri)
    query = {k: v[0] for k, v in parse_qs(urlsplit(auth.url).query).items()}
    assert auth.url.startswith(f"{mastodon_sandbox.url}/oauth/authorize?")
    assert query["response_type"] == "code" and query["client_id"] == mastodon_connector.client_id
    assert query["redirect_uri"] == mastodon_flow.redirect_uri
    assert query["scope"].split() == ["read:accounts", "read:statuses", "write:statuses", "write:media"]
    assert query["state"] == auth.state and query["code_challenge_method"] == "S256"
    digest = hashlib.sha256((auth.code_verifier or "").encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    page = requests.get(auth.url, timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    for shown in ("Advocacy", "write:statuses", 'name="username"', "Authorize", "Deny"):
        assert shown in page.text

    params = mastodon_flow.callback_params(mastodon_flow.consent(auth.url, username="alice"))
    assert params["state"] == auth.state and params["code"]
    token = mastodon_connector.exchange_code(params["code"], mastodon_flow.redirect_uri, auth.code_verifier)
    assert token.access_token and token.refresh_token is None and token.expires_at is None  # never expires
    assert token.scope == "read:accounts read:statuses write:statuses write:media"
    profile = mastodon_connector.profile(token.access_token)
    assert profile.handle == f"alice@{urlsplit(mastodon_sandbox.url).netloc}"

    with pytest.raises(Rejected) as reused:  # codes are single use
        mastodon_connector.exchange_code(params["code"], mastodon_flow.redirect_uri, auth.code_verifier)
    assert reused.value.status == 400 and "invalid_grant" in reused.value.message


def test_deny_sends_access_denied(mastodon_flow: Any, mastodon_connector: Any) -> None:
    auth = mastodon_connector.authorization_url(mastodon_flow.redirect_uri)
    params = mastodon_flow.callback_params(mastodon_flow.consent(auth.url, decision="cancel"))
    assert params["error"] == "access_denied" and params["state"] == auth.state


@pytest.mark.parametrize(("param", "value"), [("client_id", "unknown"), ("redirect_uri", "http://evil.test/cb")])
def test_consent_page_names_a_bad_client_or_redirect(
    mastodon_flow: Any, mastodon_connector: Any, param: str, value: str
) -> None:
    auth = mastodon_connector.authorization_url(mastodon_flow.redirect_uri)
    parts = urlsplit(auth.url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {param: value}
    page = requests.get(f"{parts.scheme}://{parts.netloc}{parts.path}", params=query, timeout=5, allow_redirects=False)
    assert page.status_code == 400 and f"<code>{param}</code>" in page.text  # never redirected anywhere


def test_scope_beyond_the_registration_is_sent_back(mastodon_flow: Any, mastodon_make_connector: Any) -> None:
    greedy = mastodon_make_connector(scopes=("read:accounts", "write:follows"))
    auth = greedy.authorization_url(mastodon_flow.redirect_uri)
    answer = requests.get(auth.url, timeout=5, allow_redirects=False)
    params = mastodon_flow.callback_params(answer)
    assert params["error"] == "invalid_scope" and params["state"] == auth.state


def test_wrong_verifier_and_wrong_secret(mastodon_flow: Any, mastodon_make_connector: Any) -> None:
    connector = mastodon_make_connector()
    auth = connector.authorization_url(mastodon_flow.redirect_uri)
    params = mastodon_flow.callback_params(mastodon_flow.consent(auth.url))
    with pytest.raises(Rejected) as refused:
        connector.exchange_code(params["code"], mastodon_flow.redirect_uri, "x" * 64)
    assert refused.value.status == 400

    auth = connector.authorization_url(mastodon_flow.redirect_uri)
    params = mastodon_flow.callback_params(mastodon_flow.consent(auth.url))
    forged = mastodon_make_connector(client_secret="not-the-secret")
    with pytest.raises(ConfigurationError) as unknown_client:  # our stored registration no longer works
        forged.exchange_code(params["code"], mastodon_flow.redirect_uri, auth.code_verifier)
    assert unknown_client.value.status == 401


def test_refresh_is_impossible_so_revoked(mastodon_connector: Any, mastodon_token: Token) -> None:
    with pytest.raises(AuthRevoked):
        mastodon_connector.refresh(mastodon_token)


def test_token_endpoint_outage_is_transient(mastodon_sandbox: Any, mastodon_flow: Any, mastodon_connector: Any) -> None:
    auth = mastodon_connector.authorization_url(mastodon_flow.redirect_uri)
    params = mastodon_flow.callback_params(mastodon_flow.consent(auth.url))
    mastodon_sandbox.fault(status=503, path_prefix="/oauth/token", count=1)
    with pytest.raises(Transient) as outage:
        mastodon_connector.exchange_code(params["code"], mastodon_flow.redirect_uri, auth.code_verifier)
    assert outage.value.status == 503
    mastodon_sandbox.fault(status=200, body="<html>maintenance</html>", path_prefix="/oauth/token", count=1)
    with pytest.raises(Transient):
        mastodon_connector.exchange_code(params["code"], mastodon_flow.redirect_uri, auth.code_verifier)


# --------------------------------------------------------------------------------------------------- the API
def test_profile(mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token) -> None:
    user = mastodon_sandbox.user("alice", followers=4321)
    profile = mastodon_connector.profile(mastodon_token.access_token)
    assert (profile.id, profile.followers) == (user["id"], 4321)


def test_publish_appends_the_link(mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token) -> None:
    post = mastodon_connector.publish(mastodon_token.access_token, "Our report is out", "https://example.com/r/a")
    assert post.url == f"{mastodon_sandbox.url}/@alice/{post.id}"
    (stored,) = mastodon_sandbox.posts()
    assert stored["text"] == "Our report is out https://example.com/r/a" and stored["visibility"] == "public"
    assert stored["author_handle"] == "alice" and stored["idempotency_key"] is None
    page = requests.get(post.url, timeout=5)
    assert page.status_code == 200 and 'href="https://example.com/r/a"' in page.text


def test_the_same_idempotency_key_gives_the_same_status(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    token = mastodon_token.access_token
    first = mastodon_connector.publish(token, "Once only", idempotency_key="advocacy-share-7")
    again = mastodon_connector.publish(token, "Once only", idempotency_key="advocacy-share-7")
    other = mastodon_connector.publish(token, "Once only", idempotency_key="advocacy-share-8")
    assert first == again and other.id != first.id
    assert [p["idempotency_key"] for p in mastodon_sandbox.posts()] == ["advocacy-share-7", "advocacy-share-8"]


def test_lost_answer_then_retry_with_the_key_posts_once(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    mastodon_sandbox.fault(status=503, after=True, method="POST", path_prefix="/api/v1/statuses", count=1)
    with pytest.raises(Transient):
        mastodon_connector.publish(mastodon_token.access_token, "Did it go out?", idempotency_key="share-1")
    assert len(mastodon_sandbox.posts()) == 1  # it did, but the answer was lost
    post = mastodon_connector.publish(mastodon_token.access_token, "Did it go out?", idempotency_key="share-1")
    assert [p["id"] for p in mastodon_sandbox.posts()] == [post.id]


def test_delete(mastodon_sandbox: Any, mastodon_flow: Any, mastodon_connector: Any, mastodon_token: Token) -> None:
    post = mastodon_connector.publish(mastodon_token.access_token, "Short-lived")
    bob = mastodon_flow.connect(mastodon_connector, "bob")
    with pytest.raises(Rejected) as not_author:  # Mastodon only finds the caller's own statuses
        mastodon_connector.delete(bob.access_token, post.id)
    assert not_author.value.status == 404
    mastodon_connector.delete(mastodon_token.access_token, post.id)
    assert [p["deleted"] for p in mastodon_sandbox.posts()] == [True]
    with pytest.raises(Rejected) as gone:
        mastodon_connector.delete(mastodon_token.access_token, post.id)
    assert gone.value.status == 404 and gone.value.message == "Record not found"
    assert requests.get(post.url, timeout=5).status_code == 410


def test_metrics_keep_none_apart_from_zero(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    first = mastodon_connector.publish(mastodon_token.access_token, "First")
    second = mastodon_connector.publish(mastodon_token.access_token, "Second")
    mastodon_sandbox.set_metrics(first.id, favourites_count=7, reblogs_count=2, replies_count=1, quotes_count=None)
    mastodon_sandbox.set_metrics(second.id, favourites_count=0, reblogs_count=0, replies_count=0, quotes_count=0)
    figures = {
        m.post_id: m for m in mastodon_connector.metrics(mastodon_token.access_token, [first.id, second.id, "999"])
    }
    assert set(figures) == {first.id, second.id}  # a status the server does not have is left out
    one, two = figures[first.id], figures[second.id]
    assert (one.likes, one.reposts, one.replies, one.quotes, one.impressions) == (7, 2, 1, None, None)
    assert (two.likes, two.reposts, two.replies, two.quotes) == (0, 0, 0, 0)
    assert mastodon_connector.metrics(mastodon_token.access_token, []) == []


def test_metrics_grow_when_not_pinned(mastodon_connector: Any, mastodon_token: Token) -> None:
    post = mastodon_connector.publish(mastodon_token.access_token, "Growing")
    before = mastodon_connector.metrics(mastodon_token.access_token, [post.id])[0]
    after = mastodon_connector.metrics(mastodon_token.access_token, [post.id])[0]
    assert before.likes is not None and after.likes is not None and after.likes >= before.likes
    assert after.reposts is not None and after.reposts >= 1


# ------------------------------------------------------------------------------------------------ auth errors
def test_revoked_consent_is_auth_revoked(mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token) -> None:
    assert mastodon_sandbox.revoke_tokens("alice") == 1
    with pytest.raises(AuthRevoked) as revoked:
        mastodon_connector.publish(mastodon_token.access_token, "After revocation")
    assert revoked.value.status == 401 and revoked.value.message == "The access token was revoked"
    assert mastodon_sandbox.posts() == []


def test_expired_token_is_auth_revoked_too(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    mastodon_sandbox.expire_tokens("alice")  # Mastodon never expires tokens; an admin can still end them
    with pytest.raises(AuthRevoked) as ended:
        mastodon_connector.profile(mastodon_token.access_token)
    assert ended.value.message == "The access token expired"


def test_revoke_endpoint_kills_a_token(mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token) -> None:
    form = {
        "client_id": mastodon_connector.client_id,
        "client_secret": mastodon_connector.client_secret,
        "token": mastodon_token.access_token,
    }
    answer = requests.post(f"{mastodon_sandbox.url}/oauth/revoke", data=form, timeout=5)
    assert answer.status_code == 200 and answer.json() == {}
    with pytest.raises(AuthRevoked):
        mastodon_connector.profile(mastodon_token.access_token)


def test_missing_token_is_auth_revoked(mastodon_connector: Any) -> None:
    with pytest.raises(AuthRevoked):
        mastodon_connector.profile("")
    with pytest.raises(AuthRevoked) as made_up:
        mastodon_connector.profile("made-up-token")
    assert made_up.value.message == "The access token is invalid"


def test_missing_scope_is_rejected(mastodon_flow: Any, mastodon_make_connector: Any) -> None:
    reader = mastodon_make_connector(scopes=("read:accounts", "read:statuses"))
    token = mastodon_flow.connect(reader)
    assert reader.profile(token.access_token).handle.startswith("alice@")
    with pytest.raises(Rejected) as refused:
        reader.publish(token.access_token, "Not allowed")
    assert refused.value.status == 403 and "outside the authorized scopes" in refused.value.message


# ------------------------------------------------------------------------------------------------ rate limits
def test_injected_429_gives_the_iso_reset(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    mastodon_sandbox.fault(status=429, reset_in=120, path_prefix="/api/v1/statuses", count=1)
    with pytest.raises(RateLimited) as limited:
        mastodon_connector.publish(mastodon_token.access_token, "Too soon")
    assert limited.value.retryable and limited.value.status == 429
    assert limited.value.reset_at is not None and abs((limited.value.reset_at - now()).total_seconds() - 120) <= 2


def test_a_server_supplied_iso_reset_is_read_exactly(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    headers = {"X-RateLimit-Reset": "2031-05-06T07:08:09.123456Z", "X-RateLimit-Remaining": "0"}
    mastodon_sandbox.fault(status=429, headers=headers, path_prefix="/api/v1/statuses", count=1)
    with pytest.raises(RateLimited) as limited:
        mastodon_connector.publish(mastodon_token.access_token, "Later")
    assert limited.value.reset_at == dt.datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)


def test_status_posting_window_of_the_sandbox(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    mastodon_sandbox.config(rate_limits={"statuses": 1})
    mastodon_connector.publish(mastodon_token.access_token, "One")
    with pytest.raises(RateLimited) as limited:
        mastodon_connector.publish(mastodon_token.access_token, "Two")
    assert limited.value.reset_at is not None
    assert 10700 <= (limited.value.reset_at - now()).total_seconds() <= 10801  # 300 statuses per 3 hours
    assert mastodon_connector.profile(mastodon_token.access_token).handle  # other calls still work


def test_per_token_window_and_headers(mastodon_sandbox: Any, mastodon_token: Token) -> None:
    mastodon_sandbox.config(rate_limits={"per_token": 2})
    first = api(mastodon_sandbox, "GET", "/api/v1/accounts/verify_credentials", mastodon_token)
    assert first.status_code == 200 and first.headers["X-RateLimit-Remaining"] == "1"
    assert first.headers["X-RateLimit-Limit"] == "2"
    reset = dt.datetime.fromisoformat(first.headers["X-RateLimit-Reset"].replace("Z", "+00:00"))
    assert 0 < (reset - now()).total_seconds() <= 301
    api(mastodon_sandbox, "GET", "/api/v1/accounts/verify_credentials", mastodon_token)
    third = api(mastodon_sandbox, "GET", "/api/v1/accounts/verify_credentials", mastodon_token)
    assert third.status_code == 429 and third.json() == {"error": "Too many requests"}


# ------------------------------------------------------------------------------------------- transient faults
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token, status: int
) -> None:
    mastodon_sandbox.fault(status=status, count=1, path_prefix="/api/")
    with pytest.raises(Transient) as failed:
        mastodon_connector.publish(mastodon_token.access_token, "During an outage")
    assert failed.value.status == status and failed.value.retryable


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, "<html><body>Bad gateway</body></html>"), (200, ""), (200, "[1, 2]"), (403, "<html>Blocked</html>")],
)
def test_unreadable_bodies_are_transient(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token, status: int, body: str
) -> None:
    mastodon_sandbox.fault(status=status, body=body, count=1, path_prefix="/api/")
    with pytest.raises(Transient) as unreadable:
        mastodon_connector.publish(mastodon_token.access_token, "Unreadable")
    assert unreadable.value.status == status and (unreadable.value.raw or "") == body  # kept for the operator


def test_slow_answer_times_out_as_transient(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    mastodon_sandbox.fault(delay=1.0, count=1, path_prefix="/api/")
    started = time.monotonic()
    with pytest.raises(Transient):
        mastodon_connector.profile(mastodon_token.access_token)
    assert time.monotonic() - started < 0.9


def test_unreachable_server_is_transient() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = MastodonConnector(instance_url=f"http://127.0.0.1:{port}", client_id="a", client_secret="b", timeout=0.5)
    with pytest.raises(Transient):
        closed.publish("token", "Nobody listens")
    with pytest.raises(Transient):
        closed.register_app("http://127.0.0.1/cb")


def test_tokens_never_reach_the_logs(
    caplog: pytest.LogCaptureFixture, mastodon_flow: Any, mastodon_make_connector: Any
) -> None:
    with caplog.at_level(logging.DEBUG):
        connector = mastodon_make_connector()
        token = mastodon_flow.connect(connector)
        connector.publish(token.access_token, "Quietly", idempotency_key="k")
    assert caplog.records
    for secret in (token.access_token, connector.client_secret):
        assert secret not in caplog.text
    assert token.access_token not in repr(token) and connector.client_secret not in repr(connector)


# ----------------------------------------------------------------------------------- what the sandbox refuses
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"status": 42}, "Validation failed: Status must be a string"),
        ({"status": "hi", "visibility": "everyone"}, "Validation failed: Visibility is not included in the list"),
        ({"status": "   "}, "Validation failed: Text can't be blank"),
        ({}, "Validation failed: Text can't be blank"),
        ({"status": "hi", "media_ids": ["1"]}, "Media with ID(s) 1 were not found"),
        ({"status": "hi", "sensitive": "maybe"}, "Validation failed: Sensitive must be a boolean"),
        ({"status": "a" * 501}, "Validation failed: Text character limit of 500 exceeded"),
    ],
)
def test_sandbox_rejects_bad_statuses(
    mastodon_sandbox: Any, mastodon_token: Token, body: dict[str, Any], expected: str
) -> None:
    answer = api(mastodon_sandbox, "POST", "/api/v1/statuses", mastodon_token, json=body)
    assert answer.status_code == 422 and answer.json() == {"error": expected}
    assert mastodon_sandbox.posts() == []


def test_sandbox_ignores_unknown_fields_like_rails(mastodon_sandbox: Any, mastodon_token: Token) -> None:
    answer = api(mastodon_sandbox, "POST", "/api/v1/statuses", mastodon_token, json={"status": "hi", "colour": 1})
    assert answer.status_code == 200 and answer.json()["content"] == "<p>hi</p>"


def test_sandbox_rejects_broken_json(mastodon_sandbox: Any, mastodon_token: Token) -> None:
    answer = api(
        mastodon_sandbox,
        "POST",
        "/api/v1/statuses",
        mastodon_token,
        data="{not json",
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400 and "error" in answer.json()


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        ("a" * 500, True),
        ("a" * 501, False),
        ("👍🏽" * 500, True),  # grapheme clusters, not code points
        ("x" * 476 + " https://example.com/" + "p" * 300, True),  # any URL counts 23: 476 + 1 + 23
        ("x" * 477 + " https://example.com/a", False),
    ],
)
def test_character_limit_counts_like_mastodon(
    mastodon_connector: Any, mastodon_token: Token, text: str, fits: bool
) -> None:
    if fits:
        assert mastodon_connector.publish(mastodon_token.access_token, text).id
    else:
        with pytest.raises(Rejected) as too_long:
            mastodon_connector.publish(mastodon_token.access_token, text)
        assert too_long.value.status == 422 and "character limit of 500" in too_long.value.message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"redirect_uris": ["http://127.0.0.1/cb"]}, "Validation failed: Client name can't be blank"),
        ({"client_name": "A", "redirect_uris": ["/relative"]}, "Redirect URI must be an absolute URI"),
        ({"client_name": "A", "redirect_uris": ["http://a.test/cb"], "scopes": "read telepathy"}, "Scopes are invalid"),
        ({"client_name": "A" * 61, "redirect_uris": ["http://a.test/cb"]}, "too long (maximum is 60 characters)"),
    ],
)
def test_sandbox_rejects_bad_app_registrations(mastodon_sandbox: Any, body: dict[str, Any], expected: str) -> None:
    answer = requests.post(f"{mastodon_sandbox.url}/api/v1/apps", json=body, timeout=5)
    assert answer.status_code == 422 and expected in answer.json()["error"]
    assert mastodon_sandbox.control("GET", "apps")["apps"] == []


def test_control_api_refuses_junk(mastodon_sandbox: Any) -> None:
    for path, body in [
        ("config", {"idempotency_ttl": -1}),
        ("config", {"no_such_setting": 1}),
        ("config", {"rate_limits": {"nonsense": 1}}),
        ("faults", {"status": 999}),
        ("faults", {"probability": 0}),
        ("users", {"handle": "has space"}),
    ]:
        answer = requests.post(f"{mastodon_sandbox.url}/_sandbox/{path}", json=body, timeout=5)
        assert answer.status_code == 400 and answer.json()["error"], (path, body)
