"""Admins configure the screening rules; the change takes effect on the next screening."""

from __future__ import annotations

from sqlalchemy import select

from advocacy.content.models import ScreeningRule
from advocacy.extensions import db

TP = {"title": "Moonshot", "link": "https://acme.example/m", "text": "Our moonshot: guaranteed returns!",
      "disclosure": "#iworkforacme"}


def test_admin_bans_a_phrase_and_submit_is_then_blocked(app, make_user, browser_factory):
    make_user("admin@acme.test", "admin")
    make_user("author@acme.test", "comms")
    admin, author = browser_factory("admin@acme.test"), browser_factory("author@acme.test")
    first = author.api("POST", "/api/talking-points", TP).get_json()["id"]
    assert author.api("POST", f"/api/talking-points/{first}/submit").status_code == 200
    saved = admin.post("/admin/screening/banned_terms", {"enabled": "1", "action": "block",
                                                          "terms": "guaranteed returns\nget rich"})
    assert saved.status_code == 302
    second = author.api("POST", "/api/talking-points", TP).get_json()["id"]
    refused = author.api("POST", f"/api/talking-points/{second}/submit")
    assert refused.status_code == 422 and "guaranteed returns" in refused.get_json()["message"]
    page = admin.get("/admin/screening/?text=get+rich+quick").get_data(as_text=True)
    assert 'data-rule="banned_terms"><strong>block' in page
    # warn instead of block: submit passes, the finding shows on the talking point
    assert admin.api("PUT", "/api/screening/rules/banned_terms",
                     {"action": "warn", "params": {"terms": ["guaranteed returns"]}}).status_code == 200
    assert author.api("POST", f"/api/talking-points/{second}/submit").status_code == 200
    detail = author.get(f"/studio/{second}").get_data(as_text=True)
    assert "finding warn" in detail and "<mark dir=\"auto\">guaranteed returns</mark>" in detail
    # a lower X limit applies at once
    admin.api("PUT", "/api/screening/rules/length_x", {"action": "block", "params": {"limit": 40}})
    third = author.api("POST", "/api/talking-points", TP | {"text": "Short and sweet"}).get_json()["id"]
    assert "length_x" in author.api("POST", f"/api/talking-points/{third}/submit").get_json()["message"]
    rules = {r["key"]: r for r in author.api("GET", "/api/screening/rules").get_json()}
    assert rules["length_x"]["params"] == {"network": "x", "limit": 40}


def test_only_admins_change_rules_and_bad_settings_name_the_field(app, make_user, browser_factory):
    make_user("admin@acme.test", "admin")
    make_user("author@acme.test", "comms")
    admin, author = browser_factory("admin@acme.test"), browser_factory("author@acme.test")
    assert author.api("PUT", "/api/screening/rules/email", {"action": "warn"}).status_code == 403
    assert author.post("/admin/screening/email", {"action": "warn"}).status_code == 403
    cases = [("length_x", {"action": "block", "params": {"limit": 0}}, "params.limit"),
             ("length_x", {"action": "block", "params": {"limit": "many"}}, "params.limit"),
             ("length_x", {"action": "block", "params": {"network": "bluesky"}}, "params"),
             ("phone", {"action": "warn", "params": {"region": "Narnia"}}, "params.region"),
             ("banned_terms", {"action": "block", "params": {"terms": "x" * 201}}, "params.terms"),
             ("email", {"action": "shout"}, "action"),
             ("nosuchrule", {"action": "warn"}, "key")]
    for key, body, field in cases:
        answer = admin.api("PUT", f"/api/screening/rules/{key}", body)
        assert answer.status_code == 422, (key, body)
        assert field in answer.get_json()["errors"]["json"], (key, answer.get_json())
    web = admin.post("/admin/screening/length_x", {"enabled": "1", "action": "block", "limit": "-3"})
    assert web.status_code == 422 and "params.limit" in web.get_data(as_text=True)
    assert db.session.scalars(select(ScreeningRule)).all() == []  # nothing stored
