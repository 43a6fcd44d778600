"""An employee's time zone: set on the preferences page, used when they schedule a share."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.people.models import User
from tests.conftest import connect_x
from tests.e2e.test_employee_journey import approved_talking_point


def test_a_scheduled_share_uses_the_time_zone_the_person_chose(app, browser_factory, make_user, policy):
    tp = approved_talking_point(make_user)
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    emma.post("/policy/acknowledge", {"version": 1})
    emma.post("/opt-in")
    connect_x(emma, "emma_acme")
    saved = emma.post("/preferences", {"timezone": "America/New_York", "share_hours_start": "9",
                                       "share_hours_end": "18", "daily_share_cap": "3", "digest": "weekly",
                                       "auto_share_topics": ""})
    assert saved.status_code == 302
    assert 'value="America/New_York"' in emma.get("/preferences").get_data(as_text=True)
    local = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(hour=9, minute=30, second=0, microsecond=0)
    answer = emma.post("/share", {"talking_point_id": tp.id, "network": "x",
                                  "scheduled_at": local.strftime("%Y-%m-%dT%H:%M")})
    assert answer.status_code == 302
    share = db.session.scalars(select(Share)).one()
    expected = local.replace(tzinfo=ZoneInfo("America/New_York"))
    assert share.status == "scheduled" and share.scheduled_at == expected.astimezone(dt.UTC)


def test_an_unknown_time_zone_is_refused_naming_the_field(app, browser_factory, make_user):
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    answer = emma.post("/preferences", {"timezone": "Mars/Olympus_Mons", "share_hours_start": "9",
                                        "share_hours_end": "18", "daily_share_cap": "3", "digest": "weekly",
                                        "auto_share_topics": ""})
    assert answer.status_code == 422 and "timezone: is not a time zone" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalars(select(User).where(User.email == "emma@acme.test")).one().timezone == "UTC"
