"""Staggered auto-share: approval fans out in the background, spread over a window, inside each person's hours and
daily cap, with copy variants taken in turn."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from advocacy.delivery import fanout, services
from advocacy.delivery.models import FanOut, Share
from advocacy.extensions import db
from advocacy.models_base import utcnow
from tests.conftest import run_jobs
from tests.delivery.support import approved, employee

VARIANTS = [{"network": "x", "text": "We are hiring platform engineers."},
            {"network": "x", "text": "Join our platform team."},
            {"network": "generic", "text": "Generic copy."}]


def test_approval_fans_out_in_the_background_within_hours_caps_and_rotating_copy(app, x, browser_factory,
                                                                                   make_user):
    app.config["DELIVERY_FANOUT_WINDOW_MINUTES"] = 600
    zones = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC", "Europe/Paris"]
    for i, zone in enumerate(zones):
        employee(f"p{i}@acme.test", f"p{i}_acme", auto_share_topics="hiring culture", timezone=zone,
                 share_hours_start=9, share_hours_end=17, daily_share_cap=2)
    employee("other@acme.test", "other_acme", auto_share_topics="finance")  # another topic: left out
    employee("nox@acme.test", None, auto_share_topics="hiring")  # no account connected: left out
    capped = employee("busy@acme.test", "busy_acme", auto_share_topics="hiring", daily_share_cap=1,
                      share_hours_start=0, share_hours_end=24)
    busy_id = capped.id
    services.create_share(capped, approved(title="Earlier news"), "x")  # already shared today
    db.session.commit()

    make_user("author2@acme.test", "comms")
    make_user("reviewer2@acme.test", "comms")
    author = browser_factory("author2@acme.test")
    from advocacy.content import workflow
    from advocacy.people.models import User

    writer = db.session.scalar(select(User).where(User.email == "author2@acme.test"))
    tp = workflow.create_talking_point(writer, title="Platform jobs", link="https://acme.test/jobs",
                                      variants=VARIANTS, topics="hiring", disclosure="#iworkforacme")
    workflow.submit(tp, writer)
    tp_id = tp.id
    reviewer = browser_factory("reviewer2@acme.test")
    started = time.monotonic()
    answer = reviewer.post(f"/studio/{tp_id}/approve")
    assert answer.status_code == 302 and time.monotonic() - started < 1.0
    assert db.session.scalar(select(Share.id).where(Share.talking_point_id == tp_id)) is None  # not in the request
    assert author is not None

    run_jobs(app)  # the fan-out job; the shares it places are scheduled for later
    fo = db.session.scalars(select(FanOut).where(FanOut.talking_point_id == tp_id)).one()
    assert fo.status == "done" and fo.total == len(zones) + 1 and fo.created == len(zones) + 1 and fo.percent == 100
    shares = db.session.scalars(select(Share).where(Share.talking_point_id == tp_id).order_by(Share.scheduled_at)).all()
    assert len(shares) == len(zones) + 1 and all(s.auto for s in shares)
    assert len({s.user_id for s in shares}) == len(shares)
    for share in shares:
        person = db.session.get(User, share.user_id)
        local = share.scheduled_at.astimezone(ZoneInfo(person.timezone))
        assert person.share_hours_start <= local.hour < person.share_hours_end, (person.email, local)
        assert share.scheduled_at >= utcnow() - dt.timedelta(minutes=1)
    texts = [s.text for s in shares]
    assert all("#iworkforacme" in t for t in texts)
    from advocacy.content.composing import copy_for_person  # each person posts the variant their feed shows

    assert all(s.text.startswith(copy_for_person(s.talking_point, "x", s.user_id)) for s in shares), texts
    assert {t.split(" #")[0] for t in texts} == {"We are hiring platform engineers.", "Join our platform team."}
    busy = next(s for s in shares if s.user_id == busy_id)
    assert busy.scheduled_at.date() > utcnow().date()  # today's cap was spent: tomorrow
    page = reviewer.get("/admin/operations").get_data(as_text=True)
    assert f'data-fanout="{fo.id}"' in page and 'value="100"' in page

    assert fanout.run(tp_id) == 0  # running again places nothing twice


def test_fit_keeps_to_hours_and_caps():
    paris = ZoneInfo("Europe/Paris")
    at = dt.datetime(2030, 1, 7, 5, 0, tzinfo=dt.UTC)  # 06:00 in Paris: before their hours
    used: dict[dt.date, int] = {}
    placed = fanout.fit(at, paris, 9, 17, 0.0, used, 2)
    assert placed == dt.datetime(2030, 1, 7, 8, 0, tzinfo=dt.UTC)  # 09:00 Paris
    again = fanout.fit(at, paris, 9, 17, 0.5, used, 2)
    assert again is not None and again.date() == placed.date()
    third = fanout.fit(at, paris, 9, 17, 0.0, used, 2)
    assert third == dt.datetime(2030, 1, 8, 8, 0, tzinfo=dt.UTC)  # cap of 2 spent: next day
    late = dt.datetime(2030, 1, 7, 20, 0, tzinfo=dt.UTC)  # 21:00 Paris: after hours
    assert fanout.fit(late, paris, 9, 17, 0.0, {}, 2) == dt.datetime(2030, 1, 8, 8, 0, tzinfo=dt.UTC)
    assert fanout.fit(at, paris, 9, 17, 0.0, {}, 0) is None  # a cap of 0: never
