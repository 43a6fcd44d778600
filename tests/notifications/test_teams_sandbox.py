"""The Teams sandbox is as strict as a Workflows flow and Teams' card renderer: one card, Adaptive Card shape and
version, known elements, absolute URLs, no Action.Submit without a bot, 202 on success, 429 over the rate."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from advocacy.notifications.teams import CARD_TYPE


@pytest.fixture()
def hook(sandbox: dict[str, str]) -> dict[str, Any]:
    requests.post(f"{sandbox['teams']}/_sandbox/reset", timeout=5).raise_for_status()
    answer = requests.post(f"{sandbox['teams']}/_sandbox/webhooks", json={"name": "Channel"}, timeout=5)
    return dict(answer.json()["webhook"])


def send(url: str, card: Any, **message: Any) -> requests.Response:
    body = {"type": "message", "attachments": [{"contentType": CARD_TYPE, "contentUrl": None, "content": card}],
            **message}
    return requests.post(url, json=body, timeout=5)


CARD = {"type": "AdaptiveCard", "version": "1.4", "body": [{"type": "TextBlock", "text": "Hello", "wrap": True}],
        "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": "https://acme.example/x"}]}


@pytest.mark.parametrize(("change", "message"), [
    ({"version": "2.0"}, "version"),
    ({"type": "MessageCard"}, "AdaptiveCard"),
    ({"body": [{"type": "Marquee", "text": "x"}]}, "unknown element type 'Marquee'"),
    ({"body": [{"type": "Input.Text", "id": "a"}]}, "needs Action.Submit and a bot"),
    ({"actions": [{"type": "Action.Submit", "title": "Go"}]}, "Action.Submit needs a bot"),
    ({"actions": [{"type": "Action.OpenUrl", "title": "Go", "url": "/go/relative"}]}, "absolute http(s) URL"),
    ({"body": [{"type": "Image", "url": "javascript:alert(1)"}]}, "absolute http(s) URL"),
])
def test_cards_teams_would_not_render_are_refused_naming_the_field(hook, change, message):
    answer = send(hook["url"], {**CARD, **change})
    assert answer.status_code == 400 and message in answer.json()["error"]["message"]


def test_a_good_card_is_accepted_and_a_bad_envelope_is_not(hook, sandbox):
    assert send(hook["url"], CARD, type="text").status_code == 400
    two = requests.post(hook["url"], json={"type": "message", "attachments": [
        {"contentType": CARD_TYPE, "contentUrl": None, "content": CARD}] * 2}, timeout=5)
    assert two.status_code == 400 and "exactly one" in two.text
    answer = send(hook["url"], CARD)
    assert answer.status_code == 202 and answer.content == b""
    wrong_sig = hook["url"].rsplit("sig=", 1)[0] + "sig=forged"
    assert send(wrong_sig, CARD).status_code == 404
    cards = requests.get(f"{sandbox['teams']}/_sandbox/cards", timeout=5).json()["cards"]
    assert len(cards) == 1


def test_over_the_rate_is_a_429_with_retry_after(hook, sandbox):
    requests.post(f"{sandbox['teams']}/_sandbox/config", json={"rate_limits": {"posts": 0}}, timeout=5)
    answer = send(hook["url"], CARD)
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) >= 1
    requests.post(f"{sandbox['teams']}/_sandbox/reset", timeout=5).raise_for_status()
