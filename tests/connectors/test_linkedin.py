"""LinkedInConnector against the LinkedIn sandbox over real HTTP: OAuth, posting, metrics, and every failure mapped."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import socket
import time
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
    PostMetrics,
    RateLimited,
    Rejected,
    Token,
    Transient,
    connector_class,
)
from connectors.linkedin import (
    MAX_COMMENTARY,
    LinkedInConnector,
    commentary,
    commentary_length,
    little_text,
    next_midnight_utc,
)

pytestmark = pytest.mark.timeout(30)
SIXTY_DAYS = 60 * 86400


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def only_post(sandbox: Any) -> dict[str, Any]:
    posts = sandbox.posts()
    assert len(posts) == 1, posts
    return posts[0]


# ---------------------------------------------------------------------------------------------------- registry
def test_registered_and_implements_the_protocol(linkedin_connector: LinkedInConnector) -> None:
    assert connector_class("linkedin") is LinkedInConnector
    assert "linkedin" in connectors.registered_networks()
    assert isinstance(linkedin_connector, Connector)


@pytest.mark.parametrize(("setting", "value"), [("api_base_url", "api.linkedin.com"), ("version", "2026-10"),
                                                ("version", "202613"), ("token_url", "ftp://x")])
def test_bad_settings_are_configuration_errors(setting: str, value: str) -> None:
    with pytest.raises(ConfigurationError):
        LinkedInConnector(**{setting: value})


def test_client_id_and_secret_are_needed(linkedin_make_connector: Any) -> None:
    for overrides in ({"client_id": ""}, {"client_secret": None}):
        with pytest.raises(ConfigurationError):
            linkedin_make_connector(**overrides).authorization_url("http://127.0.0.1/cb")


# ------------------------------------------------------------------------------------------------------- OAuth
def test_connect_flow(linkedin_sandbox: Any, linkedin_flow: Any, linkedin_connector: LinkedInConnector) -> None:
    auth = linkedin_connector.authorization_url(linkedin_flow.redirect_uri)
    query = {k: v[0] for k, v in parse_qs(urlsplit(auth.url).query).items()}
    assert auth.url.startswith(f"{linkedin_sandbox.url}/oauth/v2/authorization?")
    assert query == {"response_type": "code", "client_id": linkedin_flow.client_id, "state": auth.state,
                     "redirect_uri": linkedin_flow.redirect_uri, "scope": "openid profile w_member_social"}
    assert auth.code_verifier is None  # LinkedIn web apps use no PKCE

    page = requests.get(auth.url, timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    for shown in (linkedin_flow.client_id, "w_member_social", 'name="username"', "r_member_postAnalytics", "Allow"):
        assert shown in page.text

    params = linkedin_flow.callback_params(linkedin_flow.consent(auth.url, username="alice"))
    assert params["state"] == auth.state and params["code"]
    token = linkedin_connector.exchange_code(params["code"], linkedin_flow.redirect_uri, None)
    assert token.access_token and token.refresh_token is None  # self-serve apps get no refresh token
    assert token.expires_at is not None and abs((token.expires_at - now()).total_seconds() - SIXTY_DAYS) < 30
    assert token.scope == "openid profile w_member_social"  # LinkedIn's commas, read as OAuth's spaces
    profile = linkedin_connector.profile(token.access_token)
    assert profile.handle == "Alice" and profile.id and profile.followers is None

    with pytest.raises(Rejected) as reused:  # codes are single use
        linkedin_connector.exchange_code(params["code"], linkedin_flow.redirect_uri, None)
    assert reused.value.status == 400 and "authorization code" in reused.value.message


def test_cancel_sends_user_cancelled(linkedin_flow: Any, linkedin_connector: LinkedInConnector) -> None:
    auth = linkedin_connector.authorization_url(linkedin_flow.redirect_uri)
    params = linkedin_flow.callback_params(linkedin_flow.consent(auth.url, decision="cancel"))
    assert params["error"] == "user_cancelled_authorize" and params["state"] == auth.state
    assert params["error_description"]


def test_a_scope_the_app_does_not_hold_comes_back_as_an_error(linkedin_flow: Any, linkedin_make_connector: Any) -> None:
    connector = linkedin_make_connector(scopes=("openid", "profile", "r_liteprofile"))
    auth = connector.authorization_url(linkedin_flow.redirect_uri)
    params = linkedin_flow.callback_params(requests.get(auth.url, allow_redirects=False, timeout=5))
    assert params["error"] == "unauthorized_scope_error" and "r_liteprofile" in params["error_description"]


@pytest.mark.parametrize(("param", "value"), [("response_type", "token"), ("client_id", ""),
                                              ("redirect_uri", "not-a-url"), ("scope", "")])
def test_consent_page_names_a_bad_parameter(
    linkedin_flow: Any, linkedin_connector: LinkedInConnector, param: str, value: str
) -> None:
    auth = linkedin_connector.authorization_url(linkedin_flow.redirect_uri)
    parts = urlsplit(auth.url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {param: value}
    page = requests.get(f"{parts.scheme}://{parts.netloc}{parts.path}", params=query, timeout=5)
    assert page.status_code == 400 and f"<code>{param}</code>" in page.text


def test_consent_rejects_a_bad_name(linkedin_flow: Any, linkedin_connector: LinkedInConnector) -> None:
    auth = linkedin_connector.authorization_url(linkedin_flow.redirect_uri)
    answer = linkedin_flow.consent(auth.url, username="not a name!")
    assert answer.status_code == 400 and "name" in answer.text


def test_wrong_redirect_uri_is_refused(linkedin_flow: Any, linkedin_connector: LinkedInConnector) -> None:
    auth = linkedin_connector.authorization_url(linkedin_flow.redirect_uri)
    params = linkedin_flow.callback_params(linkedin_flow.consent(auth.url))
    with pytest.raises(Rejected) as refused:
        linkedin_connector.exchange_code(params["code"], "http://127.0.0.1:5000/elsewhere", None)
    assert refused.value.status == 400


def test_wrong_client_secret_is_a_configuration_error(
    linkedin_sandbox: Any, linkedin_flow: Any, linkedin_make_connector: Any
) -> None:
    linkedin_sandbox.config(clients={"advocacy-test": {"secret": "right", "name": "Advocacy"}})
    good = linkedin_make_connector(client_secret="right")
    auth = good.authorization_url(linkedin_flow.redirect_uri)
    params = linkedin_flow.callback_params(linkedin_flow.consent(auth.url))
    with pytest.raises(ConfigurationError) as refused:
        linkedin_make_connector(client_secret="wrong").exchange_code(params["code"], linkedin_flow.redirect_uri)
    assert refused.value.status == 401 and "invalid_client" in refused.value.message
    page = requests.get(auth.url, timeout=5)
    assert "Advocacy would like to access" in page.text


def test_without_a_refresh_token_the_member_must_reconnect(
    linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    with pytest.raises(AuthRevoked) as revoked:
        linkedin_connector.refresh(linkedin_token)
    assert "reconnect" in revoked.value.message


def test_partner_apps_refresh_with_the_same_refresh_token(
    linkedin_sandbox: Any, linkedin_flow: Any, linkedin_connector: LinkedInConnector
) -> None:
    linkedin_sandbox.config(issue_refresh_tokens=True)
    token = linkedin_flow.connect(linkedin_connector)
    assert token.refresh_token
    linkedin_sandbox.expire_tokens("alice")
    with pytest.raises(AuthExpired):
        linkedin_connector.profile(token.access_token)
    fresh = linkedin_connector.refresh(token)
    assert fresh.access_token != token.access_token and fresh.refresh_token == token.refresh_token
    assert fresh.expires_at is not None and fresh.expires_at > now() + dt.timedelta(days=59)
    assert linkedin_connector.profile(fresh.access_token).handle == "Alice"
    linkedin_sandbox.revoke_tokens("alice")
    with pytest.raises(AuthRevoked) as dead:
        linkedin_connector.refresh(fresh)
    assert dead.value.status == 400 and dead.value.raw


def test_token_endpoint_outage_is_transient(
    linkedin_sandbox: Any, linkedin_flow: Any, linkedin_connector: LinkedInConnector
) -> None:
    auth = linkedin_connector.authorization_url(linkedin_flow.redirect_uri)
    params = linkedin_flow.callback_params(linkedin_flow.consent(auth.url))
    linkedin_sandbox.fault(status=503, path_prefix="/oauth/v2/accessToken", count=1)
    with pytest.raises(Transient) as outage:
        linkedin_connector.exchange_code(params["code"], linkedin_flow.redirect_uri)
    assert outage.value.status == 503
    linkedin_sandbox.fault(status=200, body="<html>maintenance</html>", path_prefix="/oauth/v2/accessToken", count=1)
    with pytest.raises(Transient):
        linkedin_connector.exchange_code(params["code"], linkedin_flow.redirect_uri)


# --------------------------------------------------------------------------------------------------- the API
def test_publish_sends_the_documented_post(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token, linkedin_version: str
) -> None:
    text = "Our report (2026) is out! #hiring @team_a [beta] <3 *wow* ~ok~ \\o/ 🎉 שלום"
    post = linkedin_connector.publish(linkedin_token.access_token, text, link="https://example.com/r/abc")
    assert post.id.startswith("urn:li:share:") and post.url == f"{linkedin_sandbox.url}/feed/update/{post.id}/"
    stored = only_post(linkedin_sandbox)
    member = linkedin_connector.profile(linkedin_token.access_token)
    assert stored["id"] == post.id and stored["author_handle"] == "alice"
    assert stored["text"] == text  # every reserved character escaped, so LinkedIn keeps the whole text
    assert "{hashtag|\\#|hiring}" in stored["commentary"]
    assert stored["linkedin_version"] == linkedin_version
    assert stored["body"] == {
        "author": f"urn:li:person:{member.id}",
        "commentary": little_text(text),
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
        "content": {"article": {"source": "https://example.com/r/abc", "title": "example.com"}},
    }
    assert stored["body"]["commentary"] == commentary(text, "https://example.com/r/abc")  # what screening measures
    page = requests.get(post.url, timeout=5)
    assert page.status_code == 200 and "Our report (2026) is out!" in page.text and "example.com/r/abc" in page.text


def test_the_article_card_carries_the_links_own_title_never_the_post_text(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    text = "A first line people read\nand more of the post"
    linkedin_connector.publish(linkedin_token.access_token, text, "https://acme.example/r/abc",
                               link_title="  Acme careers:\n  we are hiring  ")
    article = only_post(linkedin_sandbox)["body"]["content"]["article"]
    assert article == {"source": "https://acme.example/r/abc", "title": "Acme careers: we are hiring"}
    linkedin_connector.publish(linkedin_token.access_token, "Another post", "https://news.acme.example/r/def",
                               link_title=None)
    titles = {p["body"]["content"]["article"]["title"] for p in linkedin_sandbox.posts()}
    assert titles == {"Acme careers: we are hiring", "news.acme.example"}  # no title known: the host, not the text
    linkedin_connector.publish(linkedin_token.access_token, "A third post", "https://acme.example/r/ghi",
                               link_title="T" * 300)
    longest = max(titles | {p["body"]["content"]["article"]["title"] for p in linkedin_sandbox.posts()}, key=len)
    assert len(longest) == 200 and longest.endswith("…")


# ----------------------------------------------------------------------------------------- commentary length
def test_commentary_is_measured_as_sent_escapes_and_templates_included() -> None:
    text = "(a) #tag " + "x" * 10
    sent = commentary(text, "https://example.com/r/abc")
    assert sent == "\\(a\\) {hashtag|\\#|tag} " + "x" * 10 and commentary_length(sent) == len(sent) > len(text)
    with_image = commentary(text, "https://example.com/r/abc", media=True)  # the link joins the text, escaped
    assert with_image == little_text(f"{text} https://example.com/r/abc")
    assert commentary(f"{text} https://example.com/r/abc", "https://example.com/r/abc", media=True) == with_image
    assert commentary_length("😀é") == 3  # UTF-16 code units: an emoji beyond the BMP counts 2


def test_commentary_over_the_limit_as_sent_is_refused_before_anything_is_sent(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    """3,000 characters typed, 3,011 sent: eleven brackets each gain an escape. LinkedIn would refuse it (400)."""
    text = "(" * 11 + "x" * 2989
    assert len(text) == MAX_COMMENTARY and commentary_length(commentary(text)) == MAX_COMMENTARY + 11
    with pytest.raises(Rejected) as refused:
        linkedin_connector.publish(linkedin_token.access_token, text, "https://example.com/r/abc")
    assert "3,000" in refused.value.message and "3,011" in refused.value.message and refused.value.status is None
    assert linkedin_sandbox.posts() == []
    exactly = "(" * 10 + "x" * 2980  # 3,000 as sent: LinkedIn takes it, whole
    post = linkedin_connector.publish(linkedin_token.access_token, exactly, "https://example.com/r/abc")
    assert only_post(linkedin_sandbox)["text"] == exactly and post.id


@pytest.mark.parametrize("media", [False, True])
def test_screening_measures_exactly_the_commentary_linkedin_receives(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token, media: bool
) -> None:
    from advocacy.content.screening import screen
    from connectors.base import Media
    from tests.connectors.imagefiles import png

    link = "https://example.com/r/abcdefgh"
    text = "Our report (2026) is out! #hiring @team_a [beta] <3 *wow* ~ok~ 😀 " + "x" * 2950
    images = [Media(png(), "image/png")] if media else []
    findings = screen(text, networks=["linkedin"], link=link, media=media)
    [over] = [f for f in findings if f.rule == "length_linkedin"]
    told = int(over.message.split(" of ")[0])
    fitting = text[: over.start]  # what screening says would fit
    assert not [f for f in screen(fitting, networks=["linkedin"], link=link, media=media)
                if f.rule == "length_linkedin"]
    linkedin_connector.publish(linkedin_token.access_token, fitting, link, media=images)
    sent = only_post(linkedin_sandbox)["body"]["commentary"]
    assert commentary_length(sent) <= MAX_COMMENTARY and sent == commentary(fitting, link, media=media)
    with pytest.raises(Rejected):  # and what screening refuses, LinkedIn would refuse: never sent
        linkedin_connector.publish(linkedin_token.access_token, text, link, media=images)
    assert commentary_length(commentary(text, link, media=media)) == told


def test_unescaped_text_is_cut_short_by_linkedin(linkedin_sandbox: Any, linkedin_token: Token) -> None:
    """Why the connector escapes: the sandbox, like LinkedIn, drops what follows an unescaped ``(``."""
    me = requests.get(f"{linkedin_sandbox.url}/v2/userinfo", timeout=5,
                      headers={"Authorization": f"Bearer {linkedin_token.access_token}"}).json()
    body = {"author": f"urn:li:person:{me['sub']}", "commentary": "Before (after", "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED"}, "lifecycleState": "PUBLISHED"}
    headers = {"Authorization": f"Bearer {linkedin_token.access_token}", "X-Restli-Protocol-Version": "2.0.0",
               "LinkedIn-Version": time.strftime("%Y%m", time.gmtime())}
    assert requests.post(f"{linkedin_sandbox.url}/rest/posts", json=body, headers=headers, timeout=5).status_code == 201
    assert only_post(linkedin_sandbox)["text"] == "Before "


def test_duplicate_is_duplicate(linkedin_connector: LinkedInConnector, linkedin_token: Token) -> None:
    first = linkedin_connector.publish(linkedin_token.access_token, "Same words twice", "https://example.com/a")
    with pytest.raises(Duplicate) as dup:
        linkedin_connector.publish(linkedin_token.access_token, "Same words twice", "https://example.com/a")
    assert dup.value.status == 422 and first.id in dup.value.message and dup.value.raw
    assert dup.value.existing == first  # the refusal names the post it holds: its id and where people see it
    assert linkedin_connector.publish(linkedin_token.access_token, "Same words twice", "https://example.com/b").id


def test_lost_answer_then_retry_is_duplicate(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    linkedin_sandbox.fault(status=504, after=True, method="POST", path_prefix="/rest/posts", count=1)
    with pytest.raises(Transient):
        linkedin_connector.publish(linkedin_token.access_token, "Did it go out?")
    assert only_post(linkedin_sandbox)["text"] == "Did it go out?"  # stored before the answer was lost
    with pytest.raises(Duplicate) as dup:
        linkedin_connector.publish(linkedin_token.access_token, "Did it go out?")
    urn = only_post(linkedin_sandbox)["id"]
    assert dup.value.existing is not None and dup.value.existing.id == urn
    assert dup.value.existing.url == linkedin_connector.post_url(urn)


def test_a_duplicate_without_the_posts_urn_names_none(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    linkedin_sandbox.fault(status=422, count=1, method="POST", path_prefix="/rest/posts",
                           body='{"message": "Content is a duplicate", "status": 422}',
                           content_type="application/json")
    with pytest.raises(Duplicate) as dup:
        linkedin_connector.publish(linkedin_token.access_token, "Said before")
    assert dup.value.existing is None and "duplicate" in dup.value.message


def test_delete(
    linkedin_sandbox: Any, linkedin_flow: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    post = linkedin_connector.publish(linkedin_token.access_token, "Short-lived")
    bob = linkedin_flow.connect(linkedin_connector, "bob")
    with pytest.raises(Rejected) as not_author:
        linkedin_connector.delete(bob.access_token, post.id)
    assert not_author.value.status == 403
    linkedin_connector.delete(linkedin_token.access_token, post.id)
    assert only_post(linkedin_sandbox)["deleted"] is True
    with pytest.raises(Rejected) as gone:
        linkedin_connector.delete(linkedin_token.access_token, post.id)
    assert gone.value.status == 404
    assert requests.get(post.url, timeout=5).status_code == 410
    with pytest.raises(Rejected):
        linkedin_connector.delete(linkedin_token.access_token, "1234")


# ---------------------------------------------------------------------------------------------------- metrics
def test_metrics_with_post_analytics_granted(
    linkedin_sandbox: Any, linkedin_flow: Any, linkedin_connector: LinkedInConnector
) -> None:
    token = linkedin_flow.connect(linkedin_connector, analytics=True)
    assert "r_member_postAnalytics" in token.scope.split()
    first = linkedin_connector.publish(token.access_token, "First")
    second = linkedin_connector.publish(token.access_token, "Second")
    linkedin_sandbox.set_metrics(first.id, IMPRESSION=900, MEMBERS_REACHED=700, REACTION=12, COMMENT=3, RESHARE=2)
    linkedin_sandbox.set_metrics(second.id, IMPRESSION=0, MEMBERS_REACHED=0, REACTION=0, COMMENT=0, RESHARE=0)
    linkedin_connector.delete(token.access_token, second.id)
    third = linkedin_connector.publish(token.access_token, "Third")
    linkedin_sandbox.set_metrics(third.id, IMPRESSION=0, MEMBERS_REACHED=0, REACTION=0, COMMENT=0, RESHARE=0)
    answer = linkedin_connector.metrics(token.access_token, [first.id, second.id, third.id, "not-an-urn"])
    figures = {m.post_id: m for m in answer}
    assert set(figures) == {first.id, third.id}  # a post LinkedIn no longer has is left out
    one = figures[first.id]
    assert (one.likes, one.reposts, one.replies, one.quotes, one.impressions) == (12, 2, 3, None, 900)
    assert one.extra == {"members_reached": 700} and one.available
    zero = figures[third.id]
    assert (zero.likes, zero.reposts, zero.replies, zero.impressions, zero.available) == (0, 0, 0, 0, True)
    assert linkedin_connector.metrics(token.access_token, []) == []


def test_metrics_grow_when_not_pinned(linkedin_flow: Any, linkedin_connector: LinkedInConnector) -> None:
    token = linkedin_flow.connect(linkedin_connector, analytics=True)
    post = linkedin_connector.publish(token.access_token, "Growing")
    before = linkedin_connector.metrics(token.access_token, [post.id])[0]
    after = linkedin_connector.metrics(token.access_token, [post.id])[0]
    assert before.impressions is not None and after.impressions is not None and after.impressions > before.impressions


def test_metrics_without_the_scope_are_unavailable_not_zero(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    post = linkedin_connector.publish(linkedin_token.access_token, "Nobody may count me")
    linkedin_sandbox.set_metrics(post.id, IMPRESSION=50, REACTION=4)
    [figures] = linkedin_connector.metrics(linkedin_token.access_token, [post.id])
    assert figures == PostMetrics.unavailable(post.id)
    assert figures.available is False
    assert (figures.likes, figures.reposts, figures.replies, figures.quotes, figures.impressions) == (None,) * 5


# ------------------------------------------------------------------------------------------------ auth errors
def test_expired_token_is_auth_expired(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    assert linkedin_sandbox.expire_tokens() >= 1
    with pytest.raises(AuthExpired) as expired:
        linkedin_connector.publish(linkedin_token.access_token, "After expiry")
    assert expired.value.status == 401 and "expired" in expired.value.message and not expired.value.retryable
    assert linkedin_sandbox.posts() == []


def test_revoked_consent_is_auth_revoked(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    assert linkedin_sandbox.revoke_tokens("alice") == 1
    with pytest.raises(AuthRevoked) as revoked:
        linkedin_connector.publish(linkedin_token.access_token, "After revocation")
    assert revoked.value.status == 401 and "REVOKED_ACCESS_TOKEN" in (revoked.value.raw or "")


def test_revoke_endpoint_kills_a_token(
    linkedin_sandbox: Any, linkedin_flow: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    form = {"token": linkedin_token.access_token, "client_id": linkedin_flow.client_id,
            "client_secret": linkedin_connector.client_secret}
    assert requests.post(f"{linkedin_sandbox.url}/oauth/v2/revoke", data=form, timeout=5).status_code == 200
    with pytest.raises(AuthRevoked):
        linkedin_connector.profile(linkedin_token.access_token)


def test_unknown_or_missing_token(linkedin_connector: LinkedInConnector) -> None:
    with pytest.raises(AuthExpired):
        linkedin_connector.profile("")
    with pytest.raises(AuthRevoked) as invalid:
        linkedin_connector.profile("made-up-token")
    assert "Invalid access token" in invalid.value.message


def test_missing_scope_is_rejected(linkedin_flow: Any, linkedin_make_connector: Any) -> None:
    reader = linkedin_make_connector(scopes=("openid", "profile"))
    token = linkedin_flow.connect(reader)
    with pytest.raises(Rejected) as refused:
        reader.publish(token.access_token, "Not allowed")
    assert refused.value.status == 403 and "Not enough permissions" in refused.value.message


# ------------------------------------------------------------------------------------------------- versioning
def test_retired_version_is_a_configuration_error(
    linkedin_sandbox: Any, linkedin_make_connector: Any, linkedin_flow: Any
) -> None:
    retired = linkedin_make_connector(version="202301")
    token = linkedin_flow.connect(retired)
    assert retired.profile(token.access_token).handle == "Alice"  # /v2/userinfo is not versioned
    with pytest.raises(ConfigurationError) as retired_answer:
        retired.publish(token.access_token, "Into the void")
    assert retired_answer.value.status == 426 and "202301" in retired_answer.value.message
    assert "NONEXISTENT_VERSION" in (retired_answer.value.raw or "")
    assert not retired_answer.value.retryable and linkedin_sandbox.posts() == []


# ------------------------------------------------------------------------------------------------ rate limits
def test_daily_member_limit_resets_at_midnight_utc(
    linkedin_sandbox: Any, linkedin_flow: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    linkedin_sandbox.config(member_day_limits={"POST /rest/posts": 1})
    linkedin_connector.publish(linkedin_token.access_token, "One")
    with pytest.raises(RateLimited) as limited:
        linkedin_connector.publish(linkedin_token.access_token, "Two")
    assert limited.value.retryable and limited.value.status == 429
    assert limited.value.reset_at == next_midnight_utc() and not limited.value.app_wide  # this member's limit
    bob = linkedin_flow.connect(linkedin_connector, "bob")  # another member still has room
    assert linkedin_connector.publish(bob.access_token, "Bob's one").id


def test_daily_app_limit(linkedin_sandbox: Any, linkedin_flow: Any, linkedin_connector: LinkedInConnector) -> None:
    linkedin_sandbox.config(app_day_limits={"POST /rest/posts": 1})
    alice = linkedin_flow.connect(linkedin_connector, "alice")
    bob = linkedin_flow.connect(linkedin_connector, "bob")
    linkedin_connector.publish(alice.access_token, "Only one today")
    with pytest.raises(RateLimited) as limited:  # the limit is the app's, whoever posts
        linkedin_connector.publish(bob.access_token, "Bob too")
    assert "APPLICATION DAY" in limited.value.message
    assert limited.value.reset_at == next_midnight_utc() and limited.value.app_wide  # nobody's posts go before it


def test_a_429_that_names_no_daily_limit_is_not_a_wait_until_midnight(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    """LinkedIn's infrastructure protection: it says nothing of when, so the engine backs off briefly."""
    linkedin_sandbox.fault(status=429, path_prefix="/rest/posts", count=1)
    with pytest.raises(RateLimited) as limited:
        linkedin_connector.publish(linkedin_token.access_token, "Too soon")
    assert limited.value.reset_at is None and not limited.value.app_wide


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_a_429_with_retry_after_waits_that_long(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token, form: str
) -> None:
    value = "30" if form == "seconds" else email.utils.format_datetime(now() + dt.timedelta(seconds=30), usegmt=True)
    linkedin_sandbox.fault(status=429, path_prefix="/rest/posts", count=1, headers={"Retry-After": value})
    asked = now()
    with pytest.raises(RateLimited) as limited:
        linkedin_connector.publish(linkedin_token.access_token, "Too soon")
    assert limited.value.reset_at is not None
    assert dt.timedelta(seconds=28) <= limited.value.reset_at - asked <= dt.timedelta(seconds=33)


def test_a_daily_limit_waits_for_midnight_whatever_else_is_said(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    body = ('{"status": 429, "serviceErrorCode": 101, "code": "TOO_MANY_REQUESTS", "message": "Resource level '
            'throttle APPLICATION_AND_MEMBER DAY limit for calls to this resource is reached."}')
    linkedin_sandbox.fault(status=429, path_prefix="/rest/posts", count=1, body=body, content_type="application/json",
                           headers={"Retry-After": "5"})
    with pytest.raises(RateLimited) as limited:
        linkedin_connector.publish(linkedin_token.access_token, "Today is spent")
    assert limited.value.reset_at == next_midnight_utc() and not limited.value.app_wide


def test_a_503_with_retry_after_says_when_to_try_again(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    linkedin_sandbox.fault(status=503, path_prefix="/rest/posts", count=1, headers={"Retry-After": "120"})
    with pytest.raises(Transient) as unavailable:
        linkedin_connector.publish(linkedin_token.access_token, "During maintenance")
    assert unavailable.value.retry_at is not None and unavailable.value.retry_at - now() > dt.timedelta(seconds=100)


# ------------------------------------------------------------------------------------------- transient faults
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token, status: int
) -> None:
    linkedin_sandbox.fault(status=status, path_prefix="/rest/posts", count=1)
    with pytest.raises(Transient) as failed:
        linkedin_connector.publish(linkedin_token.access_token, "During an outage")
    assert failed.value.status == status and failed.value.retryable


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [("/v2/userinfo", 200, "<html><body>Over capacity</body></html>"), ("/v2/userinfo", 200, ""),
     ("/v2/userinfo", 200, '["not", "an", "object"]'), ("/rest/posts", 201, ""),
     ("/rest/posts", 403, "<html>Blocked by proxy</html>")],
)
def test_unreadable_answers_are_transient(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token, path: str, status: int,
    body: str,
) -> None:
    linkedin_sandbox.fault(status=status, body=body, path_prefix=path, count=1)
    with pytest.raises(Transient) as unreadable:
        linkedin_connector.publish(linkedin_token.access_token, "Unreadable")
    assert unreadable.value.status == status and (unreadable.value.raw or "") == body


def test_slow_answer_times_out_as_transient(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    linkedin_sandbox.fault(delay=1.0, path_prefix="/v2/userinfo", count=1)
    started = time.monotonic()
    with pytest.raises(Transient):
        linkedin_connector.profile(linkedin_token.access_token)
    assert time.monotonic() - started < 0.9
    linkedin_sandbox.config(latency_ms=700)  # beyond the connector's timeout, on every API call
    with pytest.raises(Transient):
        linkedin_connector.profile(linkedin_token.access_token)


def test_unreachable_network_is_transient(linkedin_make_connector: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = linkedin_make_connector(api_base_url=f"http://127.0.0.1:{port}", token_url=f"http://127.0.0.1:{port}/t")
    with pytest.raises(Transient):
        closed.publish("token", "Nobody listens")
    with pytest.raises(Transient):
        closed.refresh(Token(access_token="a", refresh_token="r"))


def test_tokens_never_reach_the_logs(
    caplog: pytest.LogCaptureFixture, linkedin_sandbox: Any, linkedin_flow: Any, linkedin_connector: LinkedInConnector
) -> None:
    linkedin_sandbox.config(issue_refresh_tokens=True)
    with caplog.at_level(logging.DEBUG):
        token = linkedin_flow.connect(linkedin_connector)
        fresh = linkedin_connector.refresh(token)
        linkedin_connector.publish(fresh.access_token, "Quietly")
    assert caplog.records
    for secret in (token.access_token, token.refresh_token, fresh.access_token):
        assert secret and secret not in caplog.text
    assert token.access_token not in repr(token)


def test_little_text_escapes_every_reserved_character() -> None:
    assert little_text("a(b)c") == "a\\(b\\)c"
    assert little_text("#one #two_three x#no") == "{hashtag|\\#|one} {hashtag|\\#|two\\_three} x\\#no"
    assert little_text("\\|{}@[]<>*_~") == "".join("\\" + c for c in "\\|{}@[]<>*_~")
