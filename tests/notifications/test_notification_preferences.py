"""A person's Notifications choices on the preferences page and over the API (the same domain function), and the
admins' defaults; bad input names the field and stores nothing."""

from __future__ import annotations

import re

from advocacy.extensions import db
from advocacy.notifications import preferences as prefs
from advocacy.people.models import User
from tests.delivery.support import employee


def _fields(answer):
    return dict(answer.get_json()["errors"]["json"])


def _ticked(page: str) -> list[str]:
    return re.findall(r'id="channel_(\w+)" name="channel_\w+" value="1" checked', page)


def test_notifications_on_the_preferences_page_and_the_api_round_trip(app, browser_factory, make_user):
    employee("nora@acme.test")
    nora = browser_factory("nora@acme.test")
    page = nora.get("/preferences").get_data(as_text=True)
    assert 'id="notifications"' in page and "your organisation's defaults" in page
    assert _ticked(page) == ["email"]  # the built-in default

    saved = nora.post("/preferences/notifications", {
        "channel_email": "1", "order_email": "2", "channel_push": "1", "order_push": "1", "order_slack": "3",
        "frequency": "daily", "quiet_start": "22:00", "quiet_end": "07:30", "timezone": "Europe/Paris"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/preferences#notifications")
    page = nora.get("/preferences").get_data(as_text=True)
    assert _ticked(page) == ["push", "email"]  # in the order given
    assert 'value="22:00"' in page and 'value="07:30"' in page and "your organisation's defaults" not in page
    assert '<option value="daily" selected>' in page

    mine = nora.api("GET", "/api/me/notifications")
    assert mine.get_json() == {"channels": ["push", "email"], "frequency": "daily", "quiet_start": "22:00",
                               "quiet_end": "07:30", "timezone": "Europe/Paris", "default": False}
    put = nora.api("PUT", "/api/me/notifications", {"channels": ["slack", "email"], "frequency": "weekly",
                                                    "quiet_start": None, "quiet_end": None})
    assert put.status_code == 200 and put.get_json()["channels"] == ["slack", "email"]
    assert put.get_json()["quiet_start"] is None
    page = nora.get("/preferences").get_data(as_text=True)
    assert _ticked(page) == ["slack", "email"] and '<option value="weekly" selected>' in page

    # bad input: 422 naming the field, nothing stored
    for body, field, words in (
            ({"channels": ["email", "carrier-pigeon"]}, "channels", "'carrier-pigeon' is not a channel"),
            ({"timezone": "Mars/Olympus"}, "timezone", "is not a time zone"),
            ({"quiet_start": "25:00", "quiet_end": "07:00"}, "quiet_start", "HH:MM"),
            ({"quiet_start": "22:00", "quiet_end": None}, "quiet_end", "both ends"),
            ({"frequency": "hourly"}, "frequency", "instant, daily, weekly")):
        bad = nora.api("PUT", "/api/me/notifications", body)
        assert bad.status_code == 422 and words in _fields(bad)[field][0], (body, bad.get_json())
    form = nora.post("/preferences/notifications", {"channel_email": "1", "frequency": "daily",
                                                    "quiet_start": "7pm", "quiet_end": "07:00",
                                                    "timezone": "Europe/Paris"})
    text = form.get_data(as_text=True)
    assert form.status_code == 422 and "quiet_start: must be a time such as 22:00" in text
    assert 'value="7pm"' in text  # what was typed stays in the form
    stored = nora.api("GET", "/api/me/notifications").get_json()
    assert stored["channels"] == ["slack", "email"] and stored["frequency"] == "weekly"
    assert db.session.get(User, db.session.scalar(db.select(User.id).where(User.email == "nora@acme.test"))) \
        .timezone == "Europe/Paris"
    none = nora.post("/preferences/notifications", {"frequency": "instant", "timezone": "Europe/Paris"})
    assert none.status_code == 302 and nora.api("GET", "/api/me/notifications").get_json()["channels"] == []


def test_admins_set_the_defaults_for_people_who_chose_nothing(app, browser_factory, make_user):
    make_user("root@acme.test", "admin")
    employee("eve@acme.test")
    root, eve = browser_factory("root@acme.test"), browser_factory("eve@acme.test")
    assert "/admin/notifications" in root.get("/admin").get_data(as_text=True)
    saved = root.post("/admin/notifications", {"channel_teams": "1", "order_teams": "1", "channel_email": "1",
                                               "order_email": "2", "frequency": "weekly", "quiet_start": "",
                                               "quiet_end": ""})
    assert saved.status_code == 302
    assert eve.api("GET", "/api/me/notifications").get_json() | {"timezone": None} == {
        "channels": ["teams", "email"], "frequency": "weekly", "quiet_start": None, "quiet_end": None,
        "timezone": None, "default": True}
    api = root.api("PUT", "/api/admin/notification-defaults", {"channels": ["push"], "quiet_start": "21:00",
                                                                "quiet_end": "08:00"})
    assert api.status_code == 200 and root.api("GET", "/api/admin/notification-defaults").get_json() == {
        "channels": ["push"], "frequency": "weekly", "quiet_start": "21:00", "quiet_end": "08:00"}
    bad = root.post("/admin/notifications", {"channel_fax": "1", "channels": "fax", "frequency": "weekly"})
    assert bad.status_code == 422 and "channels: &#39;fax&#39; is not a channel" in bad.get_data(as_text=True)
    refused = eve.api("PUT", "/api/admin/notification-defaults", {"channels": []})
    assert refused.status_code == 403 and eve.get("/admin/notifications").status_code == 403
    assert prefs.defaults()["channels"] == ["push"]
