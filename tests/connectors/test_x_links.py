"""Links on X over real HTTP: X gives every URL of a post back as a t.co link, and the connector still finds its post.

Real X answers ``text`` with each URL replaced by ``https://t.co/<10 characters>``; the URL as written is only in
``entities.urls[].expanded_url`` (and ``unwound_url`` once X has resolved it). A look-up that searched the text for
the tracked link missed the post after a lost answer, posted again, met the 403 duplicate and recorded a failure
while the post was live.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import requests

from connectors.base import Duplicate, Token, Transient
from connectors.x import XConnector
from sandbox.x import weighted_length

pytestmark = pytest.mark.timeout(30)
TCO = re.compile(r"^https://t\.co/[A-Za-z0-9]{10}$")
LINK = "https://advocacy.test/r/Lost1"


def api(sandbox: Any, method: str, path: str, token: Token, **kw: Any) -> requests.Response:
    return requests.request(method, f"{sandbox.url}{path}", headers={"Authorization": f"Bearer {token.access_token}"},
                            timeout=5, **kw)


def created_at(post: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(post["created_at"].replace("Z", "+00:00"))


def test_the_connector_finds_its_own_post_after_a_lost_answer(
    x_sandbox: Any, x_connector: XConnector, x_token: Token
) -> None:
    x_sandbox.fault(status=503, after=True, method="POST", path_prefix="/2/tweets", count=1)
    with pytest.raises(Transient):
        x_connector.publish(x_token.access_token, "Did it go out?", LINK)
    [stored] = x_sandbox.posts()
    timeline = api(x_sandbox, "GET", f"/2/users/{stored['author_id']}/tweets", x_token).json()
    assert LINK not in timeline["data"][0]["text"]  # X shows the t.co link: the text alone cannot find the post

    found = x_connector.find_post(x_token.access_token, LINK, created_at(stored))
    assert found is not None and found.id == stored["id"]
    assert found.url == f"{x_sandbox.url}/i/web/status/{stored['id']}"
    with pytest.raises(Duplicate):  # what the engine met instead when the look-up missed
        x_connector.publish(x_token.access_token, "Did it go out?", LINK)
    assert len(x_sandbox.posts()) == 1

    assert x_connector.find_post(x_token.access_token, LINK[:-1], created_at(stored)) is None  # another link
    later = created_at(stored) + dt.timedelta(seconds=5)
    assert x_connector.find_post(x_token.access_token, LINK, later) is None
    assert x_connector.find_post(x_token.access_token, "Did it go out?", created_at(stored)) is not None  # words


def test_x_gives_entities_only_when_asked(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    x_connector.publish(x_token.access_token, "Asked for entities", LINK)
    user = x_sandbox.user("alice")
    plain = api(x_sandbox, "GET", f"/2/users/{user['id']}/tweets", x_token).json()["data"][0]
    assert "entities" not in plain  # so find_post asks for them
    asked = api(x_sandbox, "GET", f"/2/users/{user['id']}/tweets", x_token,
                params={"tweet.fields": "entities,created_at"}).json()["data"][0]
    assert asked["entities"]["urls"][0]["expanded_url"] == LINK and asked["created_at"]


def test_the_sandbox_wraps_every_url_as_x_does(x_sandbox: Any, x_token: Token) -> None:
    long_path = "https://example.com/a/very/long/path/to/some/article?utm=x"
    text = f"Read 👍🏽 {long_path}, then www.example.org/jobs. And {LINK}"
    posted = api(x_sandbox, "POST", "/2/tweets", x_token, json={"text": text})
    assert posted.status_code == 201
    shown = posted.json()["data"]["text"]
    assert "example.com" not in shown and LINK not in shown and "www." not in shown
    post_id = posted.json()["data"]["id"]

    one = api(x_sandbox, "GET", f"/2/tweets/{post_id}", x_token, params={"tweet.fields": "entities"}).json()["data"]
    many = api(x_sandbox, "GET", "/2/tweets", x_token, params={"ids": post_id, "tweet.fields": "entities"}).json()
    user = x_sandbox.user("alice")
    timeline = api(x_sandbox, "GET", f"/2/users/{user['id']}/tweets", x_token,
                   params={"tweet.fields": "entities"}).json()
    assert one == many["data"][0] == timeline["data"][0]
    assert one["text"] == shown
    urls = one["entities"]["urls"]
    assert [u["expanded_url"] for u in urls] == [long_path, "http://www.example.org/jobs", LINK]
    for entity in urls:
        assert TCO.match(entity["url"]), entity
        assert shown[entity["start"] : entity["end"]] == entity["url"]  # code points, end exclusive
    assert urls[0]["display_url"] == "example.com/a/very/long/path/to/som\u2026"
    assert urls[1]["display_url"] == "www.example.org/jobs" and urls[2]["display_url"] == "advocacy.test/r/Lost1"
    assert shown[urls[0]["end"]] == "," and shown[urls[1]["end"]] == "."  # trailing punctuation stays text
    assert len({u["url"] for u in urls}) == 3
    assert weighted_length(shown) == weighted_length(text)  # each URL weighs 23 either way

    again = api(x_sandbox, "POST", "/2/tweets", x_token, json={"text": text})
    assert again.status_code == 403  # X compares the text as sent: new t.co links make no new post
    assert again.json()["detail"] == "You are not allowed to create a Tweet with duplicate content."
    other = api(x_sandbox, "POST", "/2/tweets", x_token, json={"text": f"Another post {LINK}"})
    other_url = api(x_sandbox, "GET", f"/2/tweets/{other.json()['data']['id']}", x_token,
                    params={"tweet.fields": "entities"}).json()["data"]["entities"]["urls"][0]["url"]
    assert other_url != urls[2]["url"]  # each post its own t.co link, as on X


def test_a_post_without_links_has_no_entities(x_sandbox: Any, x_token: Token) -> None:
    post_id = api(x_sandbox, "POST", "/2/tweets", x_token, json={"text": "No links"}).json()["data"]["id"]
    answer = api(x_sandbox, "GET", f"/2/tweets/{post_id}", x_token, params={"tweet.fields": "entities"})
    assert answer.json() == {"data": {"id": post_id, "text": "No links", "edit_history_tweet_ids": [post_id]}}
    missing = api(x_sandbox, "GET", "/2/tweets/1234", x_token)
    assert missing.status_code == 200
    assert missing.json()["errors"][0]["detail"] == "Could not find tweet with id: [1234]."
