"""The feed with many talking points: twenty cards a page with Newer/Older links (a share from page 2 comes back to
page 2), and a page's SQL statements do not grow with its cards (no query per card)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event

from advocacy.extensions import db
from tests.delivery.support import approved, employee


def cards(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-talking-point="(\d+)"', page)]


def statements(browser: Any, path: str) -> int:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert browser.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_feed_pages_twenty_cards_and_a_share_comes_back_to_its_page(app, x, browser):
    ids = [approved(f"Talking point {n}").id for n in range(23)]
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    first = browser.get("/feed").get_data(as_text=True)
    assert cards(first) == ids[::-1][:20]  # newest first
    assert "Page 1 of 2" in first and 'href="/feed?page=2" rel="next">Older<' in first
    assert '<span class="count">23</span>' in first  # the tabs count every card, not the page's
    second = browser.get("/feed?page=2").get_data(as_text=True)
    assert cards(second) == ids[::-1][20:] and 'href="/feed?page=1" rel="prev">Newer<' in second
    assert '<input type="hidden" name="page" value="2">' in second
    answer = browser.post("/share/all", {"talking_point_id": ids[0], "chips": "1", "networks": ["x"], "page": "2"})
    assert answer.headers["Location"].endswith(f"/feed?page=2#tp-{ids[0]}")
    assert cards(browser.get("/feed?page=9").get_data(as_text=True)) == ids[::-1][20:]  # past the end: the last


def test_the_feeds_statements_do_not_grow_with_its_cards(app, x, browser):
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    approved("One")
    approved("Two")
    browser.get("/feed")  # caches that fill once
    few = statements(browser, "/feed")
    for n in range(10):
        approved(f"More {n}")
    assert statements(browser, "/feed") == few
