"""The studio while composing: each network's text, length against its limit and findings; who it reaches."""

from __future__ import annotations

from advocacy.extensions import db
from advocacy.people.models import Team


def test_draft_previews_count_each_network_and_show_findings(app, make_user, browser_factory):
    make_user("carl@acme.test", "comms")
    carl = browser_factory("carl@acme.test")
    answer = carl.api("POST", "/api/screening/preview", {
        "copy": {"generic": "Hello world, mail me at ana@acme.test", "x": "x" * 300},
        "hashtags": "hiring", "disclosure": "#iworkforacme"})
    assert answer.status_code == 200, answer.get_json()
    by = {p["network"]: p for p in answer.get_json()}
    assert set(by) == {"x", "linkedin", "mastodon", "bluesky", "threads"}
    assert by["threads"]["length"] == len(by["threads"]["text"])  # its tracked link rides in the card, not the text
    assert by["linkedin"]["text"] == "Hello world, mail me at ana@acme.test #hiring #iworkforacme"
    assert by["linkedin"]["limit"] == 3000 and by["x"]["limit"] == 280
    assert by["x"]["length"] > 280 and by["x"]["blocked"] is True
    assert [f["rule"] for f in by["linkedin"]["findings"]] == ["email"] and by["linkedin"]["blocked"] is False

    half = carl.api("POST", "/api/screening/preview", {"copy": {"generic": "Hi"}, "hashtags": "#"})
    assert half.status_code == 200 and half.get_json()[0]["findings"][0]["rule"] == "hashtags"
    bad = carl.api("POST", "/api/screening/preview", {"copy": {"myspace": "Hi"}})
    assert bad.status_code == 422 and "copy" in bad.get_json()["errors"]["json"]


def test_the_studio_shows_previews_and_reach_and_refuses_employees(app, make_user, browser_factory):
    team = Team(name="Sales")
    db.session.add(team)
    db.session.commit()
    make_user("carl@acme.test", "comms")
    make_user("sam@acme.test", "employee", team=team)
    make_user("emma@acme.test", "employee")
    carl = browser_factory("carl@acme.test")
    assert carl.api("POST", "/api/talking-points/audience", {"target_everyone": True}).get_json() == {"people": 3}
    assert carl.api("POST", "/api/talking-points/audience", {"team_ids": [team.id]}).get_json() == {"people": 1}
    bad = carl.api("POST", "/api/talking-points/audience", {"team_ids": ["sales"]})
    assert bad.status_code == 422 and "team_ids" in bad.get_json()["errors"]["json"]

    refused = carl.post("/studio/", {"title": "Launch", "link": "https://acme.test", "text": "Big news " * 40,
                                     "hashtags": "#launch", "checkboxes": "1", "team_ids": str(team.id)})
    assert refused.status_code in (200, 302, 422)
    page = carl.get("/studio/").get_data(as_text=True)
    assert "Waiting for review" in page and "Reaches 3 people." in page

    emma = browser_factory("emma@acme.test")
    assert emma.api("POST", "/api/screening/preview", {"copy": {"generic": "Hi"}}).status_code == 403
