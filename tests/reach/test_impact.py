"""The employee's impact page, the results log and the leaderboard with its opt-out."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.reach.models import Result
from tests.reach.conftest import click, rollup


def test_results_log_shows_in_reports_and_rejects_bad_input(app, client, factory, make_user, browser_factory):
    emma, other = make_user("emma@acme.test"), make_user("olga@acme.test")
    tp = factory.talking_point()
    mine, theirs = factory.share(emma, tp), factory.share(other, tp)
    rollup()
    browser = browser_factory("emma@acme.test")
    for form, field in [({"share_id": theirs.id, "kind": "lead"}, "share_id"), ({"share_id": "x1", "kind": "lead"},
                        "share_id"), ({"share_id": mine.id, "kind": "fame"}, "kind"),
                        ({"share_id": mine.id, "kind": "hire", "occurred_on": "2999-01-01"}, "occurred_on"),
                        ({"share_id": mine.id, "kind": "hire", "note": "n" * 1001}, "note")]:
        page = browser.post("/reach/me/results", form)
        assert page.status_code == 422 and f'id="{field}-error"' in page.get_data(as_text=True), field
        api = browser.api("POST", "/api/reach/results", form)
        assert api.status_code == 422 and field in api.get_json()["errors"]["json"], field
    assert db.session.scalar(select(func.count()).select_from(Result)) == 0
    recorded = browser.post("/reach/me/results", {"share_id": mine.id, "kind": "hire", "note": "Senior SRE"})
    assert recorded.status_code == 302
    assert "Senior SRE" in browser.get("/reach/me").get_data(as_text=True)
    make_user("mia@acme.test", "analyst")
    rep = browser_factory("mia@acme.test").api("GET", "/api/reach/report?group=person").get_json()
    assert rep["total"]["results"] == 1 and next(r for r in rep["rows"] if r["label"] == "Emma")["results"] == 1
    assert browser.api("GET", "/api/reach/report").status_code == 403  # employees do not read the org's reports


def test_points_and_leaderboard_opt_out(app, client, factory, make_user, browser_factory, settings):
    emma, olga = make_user("emma@acme.test"), make_user("olga@acme.test")
    tp = factory.talking_point()
    share = factory.share(emma, tp)
    factory.share(olga, tp)
    for n in range(3):
        click(client, share, ip=f"198.51.100.{n}")
    rollup()
    browser = browser_factory("emma@acme.test")
    board = browser.api("GET", "/api/reach/leaderboard").get_json()
    assert [(s["name"], s["points"]) for s in board] == [("Emma", 10 + 3), ("Olga", 10)]
    assert browser.post("/reach/me/leaderboard", {"opt_out": "1"}).status_code == 302
    board = browser.api("GET", "/api/reach/leaderboard").get_json()
    assert [s["name"] for s in board] == ["Olga"]
    assert f'data-user="{emma.id}"' not in browser.get("/reach/leaderboard").get_data(as_text=True)
    page = browser.get("/reach/me").get_data(as_text=True)
    assert '<strong id="my-points">13</strong>' in page and "hidden from the" in page
    assert browser.api("PUT", "/api/reach/me/preferences", {"leaderboard_opt_out": False}).get_json() == {
        "leaderboard_opt_out": False}
    assert browser.api("PUT", "/api/reach/me/preferences", {"leaderboard_opt_out": "maybe"}).status_code == 422
    assert browser.api("GET", "/api/reach/leaderboard?from=2026-02-01&to=2026-01-01").status_code == 422
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert len(browser.api("GET", f"/api/reach/leaderboard?from={today}&to={today}").get_json()) == 2
