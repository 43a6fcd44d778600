"""The LinkedIn sandbox against LinkedIn's documented shapes, held explicitly.

LinkedIn publishes no machine-readable spec, so no conformance test against a spec file is possible (unlike X,
Mastodon and Bluesky). These tests pin what the documentation and ``PLATFORMS.md`` say, on the wire: what the
sandbox answers, and what it refuses the way LinkedIn refuses it.
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any
from urllib.parse import quote

import pytest
import requests

from connectors.base import Token
from sandbox.schemas.linkedin import METRIC_TYPE_KEY

pytestmark = pytest.mark.timeout(30)
POST_URN = r"urn:li:share:[0-9]+"


def version() -> str:
    return time.strftime("%Y%m", time.gmtime())


def rest(sandbox: Any, method: str, path: str, token: Token, *, headers: dict[str, str] | None = None,
         **kw: Any) -> requests.Response:
    sent = {"Authorization": f"Bearer {token.access_token}", "LinkedIn-Version": version(),
            "X-Restli-Protocol-Version": "2.0.0"} | (headers or {})
    return requests.request(method, f"{sandbox.url}{path}", headers={k: v for k, v in sent.items() if v}, timeout=5,
                            **kw)


def member(sandbox: Any, token: Token) -> str:
    answer = requests.get(f"{sandbox.url}/v2/userinfo", headers={"Authorization": f"Bearer {token.access_token}"},
                          timeout=5)
    return f"urn:li:person:{answer.json()['sub']}"


def documented_post(author: str, **changes: Any) -> dict[str, Any]:
    """The body PLATFORMS.md shows for a member's post."""
    body = {"author": author, "commentary": "Hello from the docs", "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED", "isReshareDisabledByAuthor": False}
    return body | changes


# --------------------------------------------------------------------------------------------------- answers
def test_token_answer_shape(linkedin_sandbox: Any, linkedin_flow: Any, linkedin_connector: Any) -> None:
    auth = linkedin_connector.authorization_url(linkedin_flow.redirect_uri)
    params = linkedin_flow.callback_params(linkedin_flow.consent(auth.url))
    form = {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": linkedin_flow.redirect_uri,
            "client_id": linkedin_flow.client_id, "client_secret": linkedin_connector.client_secret}
    answer = requests.post(f"{linkedin_sandbox.url}/oauth/v2/accessToken", data=form, timeout=5)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert set(body) == {"access_token", "expires_in", "scope", "token_type", "id_token"}
    assert body["expires_in"] == 5_184_000  # 60 days
    assert body["scope"] == "openid,profile,w_member_social"  # comma-separated, as LinkedIn writes it
    assert body["token_type"] == "Bearer"
    header, claims, _signature = body["id_token"].split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert decoded["aud"] == linkedin_flow.client_id and decoded["iss"] == "https://www.linkedin.com/oauth"


def test_refresh_answer_shape_for_partner_apps(
    linkedin_sandbox: Any, linkedin_flow: Any, linkedin_connector: Any
) -> None:
    linkedin_sandbox.config(issue_refresh_tokens=True, refresh_token_lifetime=1000)
    token = linkedin_flow.connect(linkedin_connector)
    form = {"grant_type": "refresh_token", "refresh_token": token.refresh_token, "client_id": linkedin_flow.client_id,
            "client_secret": linkedin_connector.client_secret}
    body = requests.post(f"{linkedin_sandbox.url}/oauth/v2/accessToken", data=form, timeout=5).json()
    assert body["refresh_token"] == token.refresh_token  # not rotated
    assert 0 < body["refresh_token_expires_in"] <= 1000  # and not extended


def test_userinfo_claims_follow_the_scopes(
    linkedin_sandbox: Any, linkedin_flow: Any, linkedin_make_connector: Any
) -> None:
    for scopes, claims in (
        (("openid", "profile"), {"sub", "name", "given_name", "family_name", "picture", "locale"}),
        (("openid", "profile", "email"), {"sub", "name", "given_name", "family_name", "picture", "locale", "email",
                                          "email_verified"}),
        (("openid",), {"sub"}),
    ):
        token = linkedin_flow.connect(linkedin_make_connector(scopes=scopes), "carol")
        answer = requests.get(f"{linkedin_sandbox.url}/v2/userinfo", timeout=5,
                              headers={"Authorization": f"Bearer {token.access_token}"})
        assert answer.status_code == 200 and set(answer.json()) == claims, scopes
    token = linkedin_flow.connect(linkedin_make_connector(scopes=("profile", "w_member_social")), "carol")
    answer = requests.get(f"{linkedin_sandbox.url}/v2/userinfo", timeout=5,
                          headers={"Authorization": f"Bearer {token.access_token}"})
    assert answer.status_code == 403 and answer.json()["code"] == "ACCESS_DENIED"


def test_created_post_answer_is_201_with_the_urn_in_x_restli_id(linkedin_sandbox: Any, linkedin_token: Token) -> None:
    answer = rest(linkedin_sandbox, "POST", "/rest/posts", linkedin_token,
                  json=documented_post(member(linkedin_sandbox, linkedin_token)))
    assert answer.status_code == 201 and answer.content == b""
    assert re.fullmatch(POST_URN, answer.headers["x-restli-id"])
    deleted = rest(linkedin_sandbox, "DELETE", f"/rest/posts/{quote(answer.headers['x-restli-id'], safe='')}",
                   linkedin_token)
    assert deleted.status_code == 204 and deleted.content == b""


@pytest.mark.parametrize(
    ("fault", "status", "code", "service_code"),
    [("expire", 401, "EXPIRED_ACCESS_TOKEN", 65601), ("revoke", 401, "REVOKED_ACCESS_TOKEN", 65602),
     ("unknown", 401, "INVALID_ACCESS_TOKEN", 65600)],
)
def test_auth_error_bodies(
    linkedin_sandbox: Any, linkedin_token: Token, fault: str, status: int, code: str, service_code: int
) -> None:
    token = linkedin_token
    if fault == "expire":
        linkedin_sandbox.expire_tokens("alice")
    elif fault == "revoke":
        linkedin_sandbox.revoke_tokens("alice")
    else:
        token = Token(access_token="made-up")
    answer = rest(linkedin_sandbox, "POST", "/rest/posts", token, json={})
    assert answer.status_code == status
    body = answer.json()
    assert set(body) == {"status", "serviceErrorCode", "code", "message"}
    assert (body["status"], body["code"], body["serviceErrorCode"]) == (status, code, service_code)


@pytest.mark.parametrize(("limits", "scope"), [("member_day_limits", "APPLICATION_AND_MEMBER"),
                                              ("app_day_limits", "APPLICATION")])
def test_throttle_answer_names_the_daily_limit_without_rate_limit_headers_or_retry_after(
    linkedin_sandbox: Any, linkedin_token: Token, limits: str, scope: str
) -> None:
    linkedin_sandbox.config(**{limits: {"GET /v2/userinfo": 0}})
    answer = requests.get(f"{linkedin_sandbox.url}/v2/userinfo", timeout=5,
                          headers={"Authorization": f"Bearer {linkedin_token.access_token}"})
    assert answer.status_code == 429
    assert answer.json() == {"status": 429, "serviceErrorCode": 101, "code": "TOO_MANY_REQUESTS",
                             "message": f"Resource level throttle {scope} DAY limit for calls to this resource is "
                                        "reached."}
    assert not [h for h in answer.headers if "ratelimit" in h.lower().replace("-", "") or h.lower() == "retry-after"]


def test_an_injected_throttle_is_infrastructure_protection_with_the_headers_asked_for(
    linkedin_sandbox: Any, linkedin_token: Token
) -> None:
    linkedin_sandbox.fault(status=429, path_prefix="/rest/posts", count=1, headers={"Retry-After": "30"})
    answer = rest(linkedin_sandbox, "POST", "/rest/posts", linkedin_token,
                  json=documented_post(member(linkedin_sandbox, linkedin_token)))
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "30"
    assert answer.json() == {"message": "Too Many Requests", "status": 429}  # no DAY limit named
    assert linkedin_sandbox.posts() == []


@pytest.mark.parametrize(
    ("commentary", "length"),
    [("x" * 3001, 3001), ("😀" * 1501, 3002), ("\\(" * 1500 + "x", 3001), ("{hashtag|\\#|" + "x" * 2988 + "}", 3001)],
)
def test_commentary_over_3000_as_received_is_refused_as_linkedin_refuses_it(
    linkedin_sandbox: Any, linkedin_token: Token, commentary: str, length: int
) -> None:
    """Measured as received, escapes and templates included, in UTF-16 code units: 400 FIELD_ARRAY_SIZE_TOO_HIGH."""
    author = member(linkedin_sandbox, linkedin_token)
    answer = rest(linkedin_sandbox, "POST", "/rest/posts", linkedin_token,
                  json=documented_post(author, commentary=commentary))
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["status"] == 400 and body["errorDetailType"] == "com.linkedin.common.error.BadRequest"
    assert body["message"] == ("com.linkedin.content.common.exception.BadRequestResponseException: ShareCommentary "
                               f"text length ({length} characters) exceeded the maximum allowed (3000 characters)")
    (error,) = body["errorDetails"]["inputErrors"]
    assert error["code"] == "FIELD_ARRAY_SIZE_TOO_HIGH" and error["maxLength"] == 3000
    assert linkedin_sandbox.posts() == []


def test_commentary_of_3000_as_received_is_taken(linkedin_sandbox: Any, linkedin_token: Token) -> None:
    author = member(linkedin_sandbox, linkedin_token)
    for fits in ("x" * 3000, "😀" * 1500, "\\(" * 1500, "{hashtag|\\#|" + "x" * 2987 + "}"):
        answer = rest(linkedin_sandbox, "POST", "/rest/posts", linkedin_token,
                      json=documented_post(author, commentary=fits))
        assert answer.status_code == 201, answer.text
    assert [p["text"] for p in linkedin_sandbox.posts()] == ["x" * 3000, "😀" * 1500, "(" * 1500, "#" + "x" * 2987]


def test_analytics_answer_shape(linkedin_sandbox: Any, linkedin_flow: Any, linkedin_connector: Any) -> None:
    token = linkedin_flow.connect(linkedin_connector, analytics=True)
    urn = linkedin_connector.publish(token.access_token, "Counted").id
    linkedin_sandbox.set_metrics(urn, REACTION=5)
    path = (f"/rest/memberCreatorPostAnalytics?q=entity&entity=(share:{quote(urn, safe='')})&queryType=REACTION"
            "&aggregation=TOTAL")
    answer = rest(linkedin_sandbox, "GET", path, token)
    assert answer.status_code == 200
    assert answer.json() == {
        "paging": {"start": 0, "count": 10, "links": []},
        "elements": [{"count": 5, "metricType": {METRIC_TYPE_KEY: "REACTION"}, "targetEntity": {"share": urn}}],
    }
    for bad in ("queryType=LIKES", "aggregation=WEEKLY", "q=me"):
        name = bad.split("=")[0]
        broken = "&".join(p if not p.startswith(name + "=") else bad for p in path.split("?")[1].split("&"))
        assert rest(linkedin_sandbox, "GET", f"/rest/memberCreatorPostAnalytics?{broken}", token).status_code == 400


# ------------------------------------------------------------------------------------------------ refusals
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"colour": "red"}, "ERROR :: /colour :: unrecognized field found but not allowed"),
        ({"commentary": 42}, "ERROR :: /commentary :: 42 cannot be coerced to string"),
        ({"visibility": "EVERYONE"}, 'ERROR :: /visibility :: "EVERYONE" is not an enum symbol'),
        ({"distribution": {"targetEntities": []}},
         "ERROR :: /distribution/feedDistribution :: field is required but not found and has no default value"),
        ({"lifecycleState": None}, "ERROR :: /lifecycleState"),
        ({"content": {"article": {"title": "no source"}}}, "ERROR :: /content/article/source :: field is required"),
        ({"content": {"article": {"source": "not a url"}}}, "ERROR :: /content/article/source"),
        ({"content": {"media": {"id": "urn:li:image:1"}}}, "/content/media/id :: urn:li:image:1 does not exist"),
        ({"content": {"media": {"altText": "no id"}}}, "ERROR :: /content/media/id :: field is required"),
        ({"content": {"media": {"id": "urn:li:image:1"}, "article": {"source": "https://example.com/"}}},
         "ERROR :: /content :: "),
        ({"content": {"multiImage": {"images": [{"id": "urn:li:image:1"}]}}}, "ERROR :: /content/multiImage/images"),
        ({"content": {"poll": {"question": "?"}}}, "does not emulate content.poll"),
        ({"lifecycleState": "DRAFT"}, "ERROR :: /lifecycleState"),
    ],
)
def test_sandbox_rejects_posts_breaking_the_documented_shape(
    linkedin_sandbox: Any, linkedin_token: Token, change: dict[str, Any], expected: str
) -> None:
    body = documented_post(member(linkedin_sandbox, linkedin_token), **change)
    body = {k: v for k, v in body.items() if v is not None}
    answer = rest(linkedin_sandbox, "POST", "/rest/posts", linkedin_token, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["status"] == 422 and expected in answer.json()["message"], answer.json()
    assert linkedin_sandbox.posts() == []


def test_sandbox_refuses_a_post_by_someone_else(linkedin_sandbox: Any, linkedin_token: Token) -> None:
    answer = rest(linkedin_sandbox, "POST", "/rest/posts", linkedin_token,
                  json=documented_post("urn:li:person:someoneElse"))
    assert answer.status_code == 403 and answer.json()["code"] == "ACCESS_DENIED"
    assert linkedin_sandbox.posts() == []


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [({"LinkedIn-Version": ""}, 400, "VERSION_MISSING"), ({"LinkedIn-Version": "2026-10"}, 400, "INVALID_VERSION"),
     ({"LinkedIn-Version": "202201"}, 426, "NONEXISTENT_VERSION"),
     ({"X-Restli-Protocol-Version": ""}, 400, "INVALID_PROTOCOL_VERSION")],
)
def test_sandbox_enforces_the_version_headers(
    linkedin_sandbox: Any, linkedin_token: Token, headers: dict[str, str], status: int, code: str
) -> None:
    answer = rest(linkedin_sandbox, "POST", "/rest/posts", linkedin_token, headers=headers,
                  json=documented_post(member(linkedin_sandbox, linkedin_token)))
    assert answer.status_code == status and answer.json()["code"] == code
    assert linkedin_sandbox.posts() == []


def test_sandbox_rejects_broken_json(linkedin_sandbox: Any, linkedin_token: Token) -> None:
    answer = rest(linkedin_sandbox, "POST", "/rest/posts", linkedin_token, data="{not json",
                  headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json()["status"] == 400


def test_token_endpoint_refusals(linkedin_sandbox: Any, linkedin_flow: Any) -> None:
    url = f"{linkedin_sandbox.url}/oauth/v2/accessToken"
    client = {"client_id": linkedin_flow.client_id, "client_secret": "s"}
    no_secret = requests.post(url, data={"grant_type": "authorization_code", "client_id": "x"}, timeout=5)
    assert no_secret.status_code == 401 and no_secret.json()["error"] == "invalid_client"
    for form, error in (({"grant_type": "password"}, "unsupported_grant_type"), ({}, "invalid_request"),
                        ({"grant_type": "authorization_code", "code": "c"}, "invalid_request")):
        answer = requests.post(url, data=client | form, timeout=5)
        assert answer.status_code == 400 and answer.json()["error"] == error and answer.json()["error_description"]
    as_json = requests.post(url, json=client | {"grant_type": "authorization_code"}, timeout=5)
    assert as_json.status_code == 400


def test_share_offsite_dialog(linkedin_sandbox: Any) -> None:
    shown = requests.get(f"{linkedin_sandbox.url}/sharing/share-offsite/", params={"url": "https://a.test/r/x?y=1"},
                         timeout=5)
    assert shown.status_code == 200 and 'href="https://a.test/r/x?y=1"' in shown.text
    refused = requests.get(f"{linkedin_sandbox.url}/sharing/share-offsite/", params={"url": "javascript:alert(1)"},
                           timeout=5)
    assert refused.status_code == 400 and "<code>url</code>" in refused.text


def test_control_api_refuses_junk(linkedin_sandbox: Any) -> None:
    for path, body in [
        ("config", {"token_lifetime": -1}),
        ("config", {"no_such_setting": 1}),
        ("config", {"member_day_limits": {"GET /nowhere": 1}}),
        ("config", {"oldest_version": "2026"}),
        ("config", {"oldest_version": "203001"}),
        ("faults", {"status": 999}),
        ("faults", {"probability": 0}),
        ("faults", {"status": 500, "path_prefix": "rest"}),
        ("users", {"handle": "has space"}),
        ("posts/urn:li:share:1/metrics", {"IMPRESSION": 1}),
    ]:
        answer = requests.post(f"{linkedin_sandbox.url}/_sandbox/{path}", json=body, timeout=5)
        assert answer.status_code == 400 and answer.json()["error"], (path, body)
