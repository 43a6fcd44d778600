"""The Slack sandbox is as strict as Slack where the app could go wrong: OAuth codes, scopes, Block Kit, rate limits,
and its clicks are signed as Slack signs them (checked here with slack_sdk's own verifier)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from sandbox.slack import CLIENT_ID, CLIENT_SECRET, SIGNING_SECRET

SCOPES = "chat:write,im:write,users:read,users:read.email"


@pytest.fixture()
def slack(sandbox: dict[str, str]) -> str:
    url = sandbox["slack"]
    requests.post(f"{url}/_sandbox/reset", timeout=5).raise_for_status()
    return url


def grant(url: str, redirect_uri: str = "http://app.test/cb", scope: str = SCOPES) -> str:
    params = {"client_id": CLIENT_ID, "scope": scope, "redirect_uri": redirect_uri, "state": "s1"}
    assert requests.get(f"{url}/oauth/v2/authorize", params=params, timeout=5).status_code == 200
    answer = requests.post(f"{url}/oauth/v2/authorize", data=params | {"decision": "allow"}, allow_redirects=False,
                           timeout=5)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["s1"]
    return query["code"][0]


def error_of(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as failed:
        call()
    return {"status": failed.value.response.status_code, **failed.value.response.data}


def bot(url: str, scope: str = SCOPES) -> WebClient:
    token = WebClient(base_url=f"{url}/api/").oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=grant(url, scope=scope),
        redirect_uri="http://app.test/cb")["access_token"]
    assert token.startswith("xoxb-")
    return WebClient(token=token, base_url=f"{url}/api/")


def test_a_code_works_once_for_its_redirect_uri_and_the_right_client(slack):
    client = WebClient(base_url=f"{slack}/api/")
    code = grant(slack)
    wrong = error_of(lambda: client.oauth_v2_access(client_id=CLIENT_ID, client_secret="nope", code=code))
    assert wrong == {"status": 200, "ok": False, "error": "bad_client_secret"}
    code = grant(slack)
    elsewhere = error_of(lambda: client.oauth_v2_access(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code,
                                                        redirect_uri="http://evil.test/cb"))
    assert elsewhere["error"] == "bad_redirect_uri"
    code = grant(slack)
    ok = client.oauth_v2_access(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code,
                                redirect_uri="http://app.test/cb")  # HTTP Basic, as slack_sdk sends it
    assert ok["token_type"] == "bot" and ok["team"]["id"] == "T0SANDBOX"
    again = error_of(lambda: client.oauth_v2_access(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code,
                                                    redirect_uri="http://app.test/cb"))
    assert again["error"] == "invalid_code"


def test_scopes_blocks_and_people_are_checked(slack):
    narrow = bot(slack, scope="chat:write")
    missing = error_of(lambda: narrow.users_lookupByEmail(email="employee@example.com"))
    assert missing["error"] == "missing_scope" and missing["needed"] == "users:read.email"
    client = bot(slack)
    assert error_of(lambda: client.users_lookupByEmail(email="nobody@example.com"))["error"] == "users_not_found"
    member = client.users_lookupByEmail(email="employee@example.com")["user"]
    channel = client.conversations_open(users=member["id"])["channel"]["id"]

    def post(blocks: Any) -> dict[str, Any]:
        return error_of(lambda: client.chat_postMessage(channel=channel, text="fallback", blocks=blocks))

    button = {"type": "button", "text": {"type": "plain_text", "text": "OK"}, "action_id": "ok"}
    assert post([{"type": "actions", "elements": [button, button]}])["error"] == "invalid_blocks"  # ids unique
    assert post([{"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "colour": "red"}])["error"] == \
        "invalid_blocks"
    too_many = post([{"type": "divider"}] * 51)
    assert too_many["error"] == "invalid_blocks" and "at most 50" in too_many["errors"][0]
    bold_button = {**button, "text": {"type": "mrkdwn", "text": "*OK*"}}
    assert post([{"type": "actions", "elements": [bold_button]}])["error"] == "invalid_blocks"
    sent = client.chat_postMessage(channel=channel, text="fallback", blocks=[{"type": "actions",
                                                                             "elements": [button]}])
    assert client.chat_update(channel=channel, ts=sent["ts"], text="edited")["ok"]
    assert error_of(lambda: client.chat_update(channel=channel, ts="1.2", text="x"))["error"] == "message_not_found"
    requests.post(f"{slack}/_sandbox/users", json={"email": "employee@example.com", "deleted": True}, timeout=5)
    assert error_of(lambda: client.conversations_open(users=member["id"]))["error"] == "user_disabled"


def test_rate_tiers_answer_429_with_retry_after(slack):
    client = bot(slack)
    requests.post(f"{slack}/_sandbox/config", json={"rate_limits": {"tier3": 2}}, timeout=5).raise_for_status()
    client.users_lookupByEmail(email="employee@example.com")
    client.users_lookupByEmail(email="employee@example.com")
    limited = error_of(lambda: client.users_lookupByEmail(email="employee@example.com"))
    assert limited["status"] == 429 and limited["error"] == "ratelimited"
    with pytest.raises(SlackApiError) as failed:
        client.users_lookupByEmail(email="employee@example.com")
    assert int(failed.value.response.headers["Retry-After"]) > 0


@pytest.fixture()
def receiver() -> Iterator[tuple[str, list[Any]]]:
    """A stand-in app: records each request Slack sends and whether slack_sdk's verifier accepts it."""
    seen: list[Any] = []

    @Request.application
    def app(request: Request) -> Response:
        body = request.get_data()
        seen.append((SignatureVerifier(SIGNING_SECRET).is_valid_request(body, dict(request.headers)),
                     json.loads(parse_qs(body.decode())["payload"][0])))
        return Response("", 200)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/slack/interactivity", seen
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


def test_the_dm_page_clicks_as_slack_does_signed(slack, receiver):
    url, seen = receiver
    requests.post(f"{slack}/_sandbox/config", json={"interactivity_url": url}, timeout=5).raise_for_status()
    client = bot(slack)
    member = client.users_lookupByEmail(email="employee@example.com")["user"]
    channel = client.conversations_open(users=member["id"])["channel"]["id"]
    button = {"type": "button", "text": {"type": "plain_text", "text": "Share on X"}, "action_id": "share:1:x",
              "value": "1:x", "style": "primary"}
    sent = client.chat_postMessage(channel=channel, text="New to share", blocks=[
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Hello* <https://acme.test|there>"}},
        {"type": "actions", "block_id": "tp-1", "elements": [button]}])
    page = requests.get(f"{slack}/messages", timeout=5).text
    assert "<strong>Hello</strong>" in page and '<a href="https://acme.test">there</a>' in page
    assert 'value="share:1:x"' in page  # the button is a form that clicks

    clicked = requests.post(f"{slack}/messages/click", data={"channel": channel, "ts": sent["ts"],
                                                             "action_id": "share:1:x"}, timeout=10)
    assert clicked.status_code == 200 and "the app answered 200" in clicked.text
    [(valid, payload)] = seen
    assert valid and payload["type"] == "block_actions" and payload["user"]["id"] == member["id"]
    assert payload["actions"][0]["value"] == "1:x"
    assert payload["actions"][0]["block_id"] == "tp-1" and payload["container"]["message_ts"] == sent["ts"]
    assert payload["response_url"].startswith(slack) and payload["trigger_id"]

    forged = requests.post(f"{slack}/_sandbox/click", json={"channel": channel, "ts": sent["ts"],
                                                           "action_id": "share:1:x", "timestamp_offset": -400},
                           timeout=10).json()
    assert forged["status"] == 200 and seen[-1][0] is False  # signed, but too old for the verifier
