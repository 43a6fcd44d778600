"""LinkedIn's consent year: automatic LinkedIn posting needs the person's consent, renewed every 365 days. A lapsed
consent places no new LinkedIn auto-share and pauses those already placed (with the reason), one click renews it and
releases them, and reminders go out before it lapses."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import select, update

from advocacy.delivery import consent, services, tokens
from advocacy.delivery.models import AutoShareConsent, Share
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.notifications.models import Notification
from tests.conftest import run_jobs
from tests.delivery.support import approved
from tests.delivery.test_linkedin_delivery import LinkedIn, fresh, person

YEAR = dt.timedelta(days=365)


@pytest.fixture()
def linkedin(app: Any, sandbox: dict[str, str], policy: Any) -> LinkedIn:
    return LinkedIn(sandbox["linkedin"])


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def auto_sharer(email: str, consented: dt.datetime | None) -> Any:
    user = person(email)
    user.auto_share_topics, user.share_hours_start, user.share_hours_end = "hiring", 0, 24
    db.session.commit()
    if consented is not None:
        consent.give(user, consented)
    return user


def fan_out(app: Any) -> Any:
    app.config["DELIVERY_FANOUT_WINDOW_MINUTES"] = 1
    tp = approved(topics="hiring")
    tp_id = tp.id
    run_jobs(app)  # the fan-out; its shares are placed within the next minute
    return db.session.get(type(tp), tp_id)


def linkedin_auto_shares(tp_id: int) -> list[Share]:
    db.session.expire_all()
    return list(db.session.scalars(select(Share).where(Share.talking_point_id == tp_id, Share.network == "linkedin",
                                                       Share.auto.is_(True)).order_by(Share.user_id)))


def due_now(app: Any, share: Share) -> None:
    now = utcnow()
    db.session.execute(update(Share).where(Share.id == share.id).values(scheduled_at=now))
    db.session.commit()
    services.enqueue(share.id, now)
    run_jobs(app)


def test_the_fan_out_places_no_linkedin_auto_share_without_a_consent_in_force(app, linkedin):
    now = utcnow()
    given = auto_sharer("given@acme.test", now - dt.timedelta(days=300)).id
    auto_sharer("lapsed@acme.test", now - YEAR - dt.timedelta(days=1))
    auto_sharer("never@acme.test", None)
    tp_id = fan_out(app).id
    assert [s.user_id for s in linkedin_auto_shares(tp_id)] == [given]


def test_a_lapsed_consent_pauses_a_placed_auto_share_with_the_reason_and_one_click_renews_and_posts_it(
        app, linkedin, browser_factory):
    emma = auto_sharer("emma@acme.test", utcnow() - YEAR + dt.timedelta(days=1)).id
    tp_id = fan_out(app).id
    (share,) = linkedin_auto_shares(tp_id)
    # a day later (the consent has lapsed) the share comes due
    db.session.execute(update(AutoShareConsent).values(consented_at=utcnow() - YEAR - dt.timedelta(minutes=1)))
    db.session.commit()
    due_now(app, share)
    share = fresh(share)
    assert share.status == "paused" and share.last_error == consent.PAUSED and share.attempts == 0
    assert linkedin.posts() == []

    page = browser_factory("emma@acme.test")
    feed = text_of(page.get("/feed").get_data(as_text=True))
    assert "Automatic LinkedIn posting lapsed on" in feed and "1 LinkedIn share(s) paused" in feed
    mine = text_of(page.get(f"/shares/{share.id}").get_data(as_text=True))
    assert "paused: renew your consent to automatic LinkedIn posting" in mine

    answer = page.post("/preferences/linkedin-consent", data={"next": "feed"})  # the banner's one click
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/feed")
    assert consent.valid(emma)
    assert fresh(share).status == "scheduled"
    run_jobs(app)
    share = fresh(share)
    assert share.status == "published" and share.post_id
    assert len(linkedin.posts()) == 1


def test_a_share_made_by_hand_needs_no_automatic_posting_consent(app, linkedin):
    emma = auto_sharer("emma@acme.test", None)
    share = services.create_share(emma, approved(), "linkedin")
    run_jobs(app)
    assert fresh(share).status == "published"


def test_reminders_go_out_14_and_3_days_before_it_lapses_once_each(app, linkedin):
    now = utcnow()
    emma = auto_sharer("emma@acme.test", now - YEAR + dt.timedelta(days=10))  # lapses in 10 days
    noah = auto_sharer("noah@acme.test", now - YEAR + dt.timedelta(days=2))  # in 2 days
    auto_sharer("ava@acme.test", now - dt.timedelta(days=30))  # a long way off
    report = tokens.refresh_expiring(now)  # the periodic token job sends them
    assert report["reminded"] == 2
    sent = db.session.execute(select(Notification.user_id, Notification.key, Notification.subject)
                              .where(Notification.kind == "linkedin_consent").order_by(Notification.user_id)).all()
    assert [(u, k.rsplit(":", 1)[1]) for u, k, _ in sent] == [(emma.id, "14"), (noah.id, "3")]
    assert sent[0].subject.startswith("Renew automatic LinkedIn posting before ")
    assert tokens.refresh_expiring(now) == {"refreshed": 0, "revoked": 0, "failed": 0, "reminded": 0}  # once
    assert consent.remind_lapsing(now + dt.timedelta(days=8)) == 1  # emma's 3-day reminder comes later


def test_the_preferences_page_records_consent_with_the_date_it_lapses_and_unticking_withdraws_it(
        app, linkedin, browser_factory):
    emma = auto_sharer("emma@acme.test", None)
    page = browser_factory("emma@acme.test")
    form = {"timezone": "UTC", "auto_share_topics": "hiring", "share_hours_start": "0", "share_hours_end": "24",
            "daily_share_cap": "5", "digest": "weekly", "linkedin_consent_shown": "1"}
    assert page.post("/preferences", data={**form, "linkedin_consent": "1"}).status_code == 302
    lapses = consent.lapses_at(emma.id)
    assert lapses is not None and abs(lapses - (utcnow() + YEAR)) < dt.timedelta(minutes=1)
    html = text_of(page.get("/preferences").get_data(as_text=True))
    assert "Post to LinkedIn for me automatically" in html and f"until {lapses:%Y-%m-%d}" in html
    assert page.post("/preferences", data=form).status_code == 302  # unticked
    assert consent.lapses_at(emma.id) is None
