"""Share intents: the dialog URLs (pure functions), and opening one through the feed (a share "opened", not posted)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from advocacy.delivery.models import Share
from advocacy.extensions import db
from connectors.intents import facebook_intent, intent_url, linkedin_intent, x_intent
from tests.connectors.test_linkedin_app import connect_linkedin, ready_employee, write_and_approve

LINK = "https://advocacy.test/r/Ab-9_xYz"
TEXT = "Ünïcode & more 🎉👍🏽 שלום עולם #hiring 100% = ok?"


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


# ----------------------------------------------------------------------------------------------- the URLs
def test_x_intent_carries_text_and_link_encoded() -> None:
    url = x_intent(TEXT, LINK)
    assert url.startswith("https://twitter.com/intent/tweet?text=")
    assert query(url) == {"text": [TEXT], "url": [LINK]}  # emoji, right-to-left, & and % survive the round trip
    raw = urlsplit(url).query
    assert "&more" not in raw and "+" not in raw and " " not in raw  # & and spaces escaped, never as +
    assert "%F0%9F%8E%89" in raw and "%D7%A9" in raw  # UTF-8 percent-encoding of 🎉 and ש
    assert query(x_intent("", LINK)) == {"url": [LINK]}


def test_linkedin_and_facebook_take_the_link_only() -> None:
    linkedin = linkedin_intent(LINK + "?a=1&b=2")
    assert linkedin.startswith("https://www.linkedin.com/sharing/share-offsite/?url=")
    assert query(linkedin) == {"url": [LINK + "?a=1&b=2"]}
    facebook = facebook_intent(LINK)
    assert facebook.startswith("https://www.facebook.com/sharer/sharer.php?u=")
    assert query(facebook) == {"u": [LINK]}


def test_configured_dialog_addresses() -> None:
    url = intent_url("linkedin", TEXT, LINK, {"linkedin": "http://127.0.0.1:9/sharing/share-offsite/?lang=en"})
    assert url.startswith("http://127.0.0.1:9/sharing/share-offsite/?lang=en&url=")
    assert query(url) == {"lang": ["en"], "url": [LINK]}
    assert query(intent_url("x", TEXT, LINK))["text"] == [TEXT]


@pytest.mark.parametrize("link", ["", "/r/abc", "javascript:alert(1)", "ftp://a.test/x"])
def test_a_link_that_is_not_absolute_http_is_refused(link: str) -> None:
    for make in (lambda: x_intent("t", link), lambda: linkedin_intent(link), lambda: facebook_intent(link)):
        with pytest.raises(ValueError):
            make()


def test_unknown_network_is_refused() -> None:
    with pytest.raises(ValueError, match="myspace"):
        intent_url("myspace", "t", LINK)


# ------------------------------------------------------------------------------------------- through the app
def test_feed_opens_share_dialogs_for_what_is_not_connected(
    app: Any, sandbox: Any, browser_factory: Any, make_user: Any, policy: Any, client: Any
) -> None:
    tp_id, emma = ready_employee(browser_factory, make_user)
    feed = emma.get("/feed").get_data(as_text=True)
    for label in ("X", "LinkedIn", "Facebook"):
        assert f"Open {label} share dialog" in feed

    opened = emma.post("/share/dialog", {"talking_point_id": tp_id, "network": "facebook"})
    assert opened.status_code == 302
    share = db.session.scalars(select(Share)).one()
    assert (share.status, share.network, share.account_id, share.post_id, share.published_at) == (
        "opened", "facebook", None, None, None)
    target = opened.headers["Location"]
    assert target.startswith(app.config["FACEBOOK_SHARER_URL"] + "?u=")
    assert query(target) == {"u": [f"http://advocacy.test/r/{share.code}"]}

    page = emma.get(f"/shares/{share.id}").get_data(as_text=True)
    assert 'id="share-opened"' in page and "opened, not posted" in page and 'id="post-url"' not in page
    assert "opened" in emma.get("/shares").get_data(as_text=True)

    click = client.get(f"/r/{share.code}", headers={"User-Agent": "Mozilla/5.0 (iPhone) Safari/605"})
    assert click.status_code == 302 and urlsplit(click.headers["Location"]).netloc == "acme.test"

    x = emma.post("/share/dialog", {"talking_point_id": tp_id, "network": "x"})
    x_share = db.session.scalars(select(Share).where(Share.network == "x")).one()
    assert query(x.headers["Location"])["url"] == [f"http://advocacy.test/r/{x_share.code}"]
    assert "Come build the platform with us." in query(x.headers["Location"])["text"][0]

    linkedin = emma.post("/share/dialog", {"talking_point_id": tp_id, "network": "linkedin"})
    dialog = requests.get(linkedin.headers["Location"], timeout=5)  # the LinkedIn sandbox's own share dialog
    li_share = db.session.scalars(select(Share).where(Share.network == "linkedin")).one()
    assert dialog.status_code == 200 and f"http://advocacy.test/r/{li_share.code}" in dialog.text
    assert {s.status for s in db.session.scalars(select(Share))} == {"opened"}
    assert requests.get(f"{sandbox['linkedin']}/_sandbox/posts", timeout=5).json()["posts"] == []


def test_connected_networks_share_through_the_api_not_the_dialog(
    app: Any, sandbox: Any, browser_factory: Any, make_user: Any, policy: Any
) -> None:
    _tp_id, emma = ready_employee(browser_factory, make_user)
    connect_linkedin(emma, "emma_acme")
    feed = emma.get("/feed").get_data(as_text=True)
    assert "Share on LinkedIn" in feed and "Open LinkedIn share dialog" not in feed
    assert "Open X share dialog" in feed and "Open Facebook share dialog" in feed


@pytest.mark.parametrize(("form", "expected"), [({"network": "myspace"}, "network must be one of"),
                                                ({"network": ""}, "network must be one of")])
def test_bad_dialog_requests_name_the_field_and_store_nothing(
    app: Any, sandbox: Any, browser_factory: Any, make_user: Any, policy: Any, form: dict[str, str], expected: str
) -> None:
    tp_id, emma = ready_employee(browser_factory, make_user)
    answer = emma.post("/share/dialog", {"talking_point_id": tp_id, **form})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/feed")
    assert expected in emma.get("/feed").get_data(as_text=True)
    assert emma.post("/share/dialog", {"talking_point_id": 999999, "network": "x"}).status_code == 404
    assert db.session.scalars(select(Share)).all() == []


def test_dialog_needs_the_policy_and_opt_in(app: Any, sandbox: Any, browser_factory: Any, make_user: Any,
                                            policy: Any) -> None:
    tp_id = write_and_approve(browser_factory, make_user)
    make_user("noah@acme.test", "employee")
    noah = browser_factory("noah@acme.test")
    assert "Open X share dialog" not in noah.get("/feed").get_data(as_text=True)
    answer = noah.post("/share/dialog", {"talking_point_id": tp_id, "network": "x"})
    assert answer.status_code == 302 and "opt in" in noah.get("/feed").get_data(as_text=True)
    assert db.session.scalars(select(Share)).all() == []
