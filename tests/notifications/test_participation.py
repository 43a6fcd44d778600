"""Participation by channel in Reach: people notified, people who shared, share rate and median time to share, on
the page, in the CSV and over the API."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from sqlalchemy import select, update

from advocacy.delivery import services
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.notifications.models import Announcement
from advocacy.people.models import User
from tests.conftest import run_jobs
from tests.delivery.support import approved, employee
from tests.notifications.test_announcing import fake  # noqa: F401  (the fake channels fixture)

WAITS = {"anna": 600, "cleo": 7200, "dora": 1800}  # seconds from announcement to share


def _cells(page: str, channel: str) -> list[str]:
    row = re.search(rf'<tr data-channel="{channel}">(.*?)</tr>', page, re.S)
    assert row is not None, channel
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def test_participation_by_channel(app, fake, policy, make_user, browser_factory):  # noqa: F811
    people = {}
    for name, channel in (("anna", "slack"), ("ben", "slack"), ("cleo", "email"), ("dora", "email")):
        user = employee(f"{name}@acme.test", f"{name}_acme")
        from advocacy.notifications import preferences as prefs

        prefs.update(user, {"channels": [channel]})
        fake[channel].set_up.add(user.id)
        people[name] = user.id
    employee("olga@acme.test", "olga_acme")  # on the default channel (e-mail), never set up: not notified
    tp_id = approved().id
    run_jobs(app)
    assert len(fake["slack"].sent) == 2 and len(fake["email"].sent) == 2

    from advocacy.content.models import TalkingPoint

    tp = db.session.get(TalkingPoint, tp_id)
    for name, channel in (("anna", "slack"), ("cleo", "web"), ("dora", "email")):
        share = services.create_share(db.session.get(User, people[name]), tp, "x", channel=channel)
        db.session.execute(update(Announcement).where(Announcement.user_id == people[name])
                           .values(sent_at=share.created_at - dt.timedelta(seconds=WAITS[name])))
    services.create_share(db.session.get(User, db.session.scalar(select(User.id).where(
        User.email == "olga@acme.test"))), tp, "x", channel="api")  # shared without an announcement
    db.session.commit()
    assert db.session.scalar(select(Share.id).where(Share.channel == "slack")) is not None

    make_user("ana@acme.test", "analyst")
    analyst = browser_factory("ana@acme.test")
    page = analyst.get("/reach").get_data(as_text=True)
    assert 'id="participation"' in page
    assert _cells(page, "slack") == ["Slack", "2", "1", "50.0 %", "10 min"]
    assert _cells(page, "email") == ["E-mail", "2", "1", "50.0 %", "30 min"]
    assert _cells(page, "web") == ["Web feed", "—", "1", "—", "2.0 h"]  # heard by e-mail, shared on the feed
    assert _cells(page, "api") == ["API", "—", "1", "—", "—"]
    assert _cells(page, "teams") == ["Microsoft Teams", "0", "0", "—", "—"]

    answer = analyst.get("/reach/participation.csv")
    rows = {r["channel"]: r for r in csv.DictReader(io.StringIO(answer.get_data(as_text=True)))}
    assert rows["slack"]["people_notified"] == "2" and rows["slack"]["share_rate"] == "0.5"
    assert rows["email"]["median_seconds_to_share"] == "1800"
    assert rows["web"]["people_notified"] == ""  # the feed announces nothing
    api = {r["channel"]: r for r in analyst.get("/api/reach/participation").get_json()}
    assert api["slack"] == {"channel": "slack", "label": "Slack", "people_notified": 2, "people_shared": 1,
                            "share_rate": 0.5, "median_seconds_to_share": 600.0}
    later = analyst.get("/api/reach/participation?from=2000-01-01&to=2000-01-31").get_json()
    assert all(r["people_shared"] == 0 and not r["people_notified"] for r in later)
    assert analyst.get(f"/api/reach/participation?talking_point={tp_id + 1}").get_json()[0]["people_shared"] == 0
    employee_page = browser_factory("anna@acme.test").get("/api/reach/participation")
    assert employee_page.status_code == 403
