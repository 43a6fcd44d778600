"""Microsoft Teams: a card per talking point reaches the Workflows webhook sandbox in a shape Teams renders, its
"Share on X" button shares through the worker (channel "teams"); too large is refused before sending; a 429 is
retried without a second card; a deleted flow makes the person unreachable; team channels get one card."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from sqlalchemy import select

from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.notifications import channels, teams
from advocacy.notifications.destinations import TeamsWebhook, set_teams_webhook
from sandbox.teams_cards import check_message
from tests.conftest import run_jobs
from tests.delivery.support import Sandbox, approved, employee

pytestmark = pytest.mark.timeout(120)


class Teams:
    def __init__(self, url: str) -> None:
        self.url = url
        requests.post(f"{url}/_sandbox/reset", timeout=5).raise_for_status()

    def webhook(self, name: str = "Emma's chat") -> dict[str, Any]:
        answer = requests.post(f"{self.url}/_sandbox/webhooks", json={"name": name}, timeout=5)
        answer.raise_for_status()
        return dict(answer.json()["webhook"])

    def cards(self, hook: dict[str, Any]) -> list[dict[str, Any]]:
        return list(requests.get(f"{self.url}/_sandbox/cards", params={"webhook": hook["id"]}, timeout=5)
                    .json()["cards"])

    def fault(self, **spec: Any) -> None:
        requests.post(f"{self.url}/_sandbox/faults", json=spec, timeout=5).raise_for_status()


@pytest.fixture()
def sandbox_teams(app: Any, sandbox: dict[str, str], policy: Any) -> Teams:
    return Teams(sandbox["teams"])


def texts(card: dict[str, Any]) -> list[str]:
    return [b["text"] for b in card["body"] if b["type"] == "TextBlock"]


def press(client: Any, url: str) -> Any:
    """Follow a card's button as a person does: open the page, press its Share button (a POST with its CSRF)."""
    path = url.removeprefix("http://advocacy.test")
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:1000]
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)  # type: ignore
    return client.post(path, data={"csrf_token": token})


def test_the_card_arrives_and_its_share_button_posts_on_x_through_the_worker(app, sandbox, sandbox_teams, client):
    hook = sandbox_teams.webhook()
    emma = employee("emma@acme.test", "emma_acme")
    set_teams_webhook(hook["url"], user_id=emma.id)
    tp = approved()
    channel = channels.get("teams")
    assert channel is not None and channel.label == "Microsoft Teams" and channel.available_for(emma)

    channel.announce(emma, [tp])

    [received] = sandbox_teams.cards(hook)
    card = received["card"]
    check_message({"type": "message", "attachments": [{"contentType": teams.CARD_TYPE, "contentUrl": None,
                                                       "content": card}]})  # what the sandbox accepted, again
    assert card["version"] == "1.4" and "We are hiring" in texts(card)
    assert any("Come build the platform with us." in t and "#iworkforacme" in t for t in texts(card))
    assert {a["type"] for a in card["actions"]} == {"Action.OpenUrl"}
    titles = [a["title"] for a in card["actions"]]
    assert titles == ["Share on X", "Open in advocacy"]
    page = requests.get(f"{sandbox['teams']}/webhooks/{hook['id']}", timeout=5)  # the demo's view of the chat
    assert "We are hiring" in page.text and "Share on X" in page.text

    answer = press(client, card["actions"][0]["url"])
    assert answer.status_code in (200, 302, 303), answer.get_data(as_text=True)[:1000]
    run_jobs(app)
    db.session.commit()
    share = db.session.scalars(select(Share)).one()
    assert share.channel == "teams" and share.network == "x" and share.status == "published"
    posts = Sandbox(sandbox["x"]).posts()
    assert len(posts) == 1 and "Come build the platform with us." in posts[0]["text"]
    assert json.dumps(card).count("/go/") == 1  # one personal link, on the share button only


def test_an_oversized_card_is_refused_before_anything_is_sent(app, sandbox_teams):
    hook = sandbox_teams.webhook()
    card = {"type": "AdaptiveCard", "version": "1.4", "body": [{"type": "TextBlock", "text": "x" * 40_000}]}
    with pytest.raises(teams.CardTooLarge, match="at most 28,672"):
        teams.message_body(card)
    too_big = json.dumps({"type": "message", "attachments": [
        {"contentType": teams.CARD_TYPE, "contentUrl": None, "content": card}]}).encode()
    answer = requests.post(hook["url"], data=too_big, headers={"Content-Type": "application/json"}, timeout=5)
    assert answer.status_code == 413 and "Request Entity too large" in answer.text  # what Teams would have said
    assert sandbox_teams.cards(hook) == []


def test_a_429_is_retried_later_without_a_second_card(app, sandbox_teams):
    hook = sandbox_teams.webhook()
    emma = employee("emma@acme.test", "emma_acme")
    set_teams_webhook(hook["url"], user_id=emma.id)
    first, second = approved("First"), approved("Second")
    sandbox_teams.fault(status=429, count=1, headers={"Retry-After": "7"}, path_prefix="/workflows/")
    channel = channels.get("teams")
    assert channel is not None

    with pytest.raises(channels.RetryLater) as waited:
        channel.announce(emma, [first, second])
    assert waited.value.seconds == 7 and sandbox_teams.cards(hook) == []

    channel.announce(emma, [first, second])  # the job's retry
    channel.announce(emma, [first, second])  # and one more, as after a lost answer
    assert [texts(c["card"])[1] for c in sandbox_teams.cards(hook)] == ["First", "Second"]


def test_a_deleted_flow_makes_the_person_unreachable(app, sandbox_teams):
    hook = sandbox_teams.webhook()
    emma = employee("emma@acme.test", "emma_acme")
    set_teams_webhook(hook["url"], user_id=emma.id)
    requests.delete(f"{sandbox_teams.url}/_sandbox/webhooks/{hook['id']}", timeout=5).raise_for_status()
    channel = channels.get("teams")
    assert channel is not None
    with pytest.raises(channels.Unreachable, match="gone"):
        channel.announce(emma, [approved()])


def test_a_team_channel_gets_one_card_without_personal_links(app, sandbox_teams, make_user):
    from advocacy.people.models import Team

    team = Team(name="Platform")
    db.session.add(team)
    db.session.commit()
    hook = sandbox_teams.webhook("Platform channel")
    set_teams_webhook(hook["url"], team_id=team.id)
    emma, noah = employee("emma@acme.test", "emma_acme"), employee("noah@acme.test", "noah_acme")
    for person in (emma, noah):
        person.team_id = team.id
    db.session.commit()
    tp = approved()
    channel = channels.get("teams")
    assert channel is not None
    for person in (emma, noah):
        channel.announce(person, [tp])
    [received] = sandbox_teams.cards(hook)
    assert [a["title"] for a in received["card"]["actions"]] == ["Open in advocacy"]
    assert "/go/" not in json.dumps(received["card"])


def test_the_url_is_checked_and_kept_encrypted(app, sandbox_teams, browser_factory):
    hook = sandbox_teams.webhook()
    emma = employee("emma@acme.test", "emma_acme")
    browser = browser_factory("emma@acme.test")
    refused = browser.api("PUT", "/api/me/teams-webhook", {"url": "ftp://teams.example/hook"})
    assert refused.status_code == 422 and "url" in json.dumps(refused.get_json())
    inside = browser.api("PUT", "/api/me/teams-webhook", {"url": "http://10.0.0.5/hook"})
    assert inside.status_code == 422  # the outbound guard: a private address nobody allowed
    saved = browser.api("PUT", "/api/me/teams-webhook", {"url": hook["url"]})
    assert saved.status_code == 200 and saved.get_json()["set"] is True
    row = db.session.scalars(select(TeamsWebhook).where(TeamsWebhook.user_id == emma.id)).one()
    assert hook["url"] not in row.url_encrypted and row.url == hook["url"]
    page = browser.post("/preferences/teams", {"remove": "1"})
    assert page.status_code == 302
    db.session.expire_all()
    assert db.session.scalars(select(TeamsWebhook)).all() == []


def test_an_approval_reaches_the_chosen_teams_chat_and_push_through_the_announce_jobs(app, sandbox, sandbox_teams,
                                                                                     browser_factory):
    from advocacy.notifications import preferences

    requests.post(f"{sandbox['webpush']}/_sandbox/reset", timeout=5).raise_for_status()
    hook = sandbox_teams.webhook()
    emma, noah = employee("emma@acme.test", "emma_acme"), employee("noah@acme.test", "noah_acme")
    set_teams_webhook(hook["url"], user_id=emma.id)
    preferences.update(emma, {"channels": ["teams", "email"]})
    noah_browser = browser_factory("noah@acme.test")
    key = noah_browser.api("GET", "/api/me/push-subscriptions").get_json()["public_key"]
    made = requests.post(f"{sandbox['webpush']}/_sandbox/subscriptions",
                         json={"name": "Noah's phone", "application_server_key": key}, timeout=5).json()
    assert noah_browser.api("POST", "/api/me/push-subscriptions", made["subscription"]).status_code == 201
    preferences.update(noah, {"channels": ["push", "email"]})

    approved("Announced everywhere")
    run_jobs(app)  # the announcement run, then the deliveries

    [card] = sandbox_teams.cards(hook)
    assert "Announced everywhere" in texts(card["card"])
    messages = requests.get(f"{sandbox['webpush']}/_sandbox/messages", timeout=5).json()["messages"]
    assert [m["data"]["title"] for m in messages] == ["New to share: Announced everywhere"]


def test_the_card_shows_the_links_preview_and_a_short_form_when_too_large(app, sandbox_teams):
    from advocacy.content.link_previews import LinkPreview, link_preview
    from advocacy.models_base import utcnow

    emma = employee("emma@acme.test", "emma_acme")
    tp = approved()
    preview = link_preview(tp.id) or LinkPreview(talking_point_id=tp.id, url=tp.link)
    preview.title, preview.description = "Platform jobs at Acme", "Remote-friendly roles"
    preview.image_url, preview.fetched_at = "https://acme.test/card.png", utcnow()  # as the preview job stores it
    db.session.add(preview)
    db.session.commit()
    card = teams.build_card(emma, tp, personal=True)
    images = [b for b in card["body"] if b["type"] == "Image"]
    assert images == [{"type": "Image", "url": "https://acme.test/card.png", "altText": "Platform jobs at Acme",
                       "size": "Stretch"}]
    assert "Platform jobs at Acme · Remote-friendly roles" in texts(card)
    short = teams.build_card(emma, tp, personal=True, short=True)
    assert not [b for b in short["body"] if b["type"] == "Image"]
    assert [a["title"] for a in short["actions"]] == ["Share on X", "Open in advocacy"]
