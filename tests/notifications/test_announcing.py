"""Announcing approved talking points: once per person whatever the channel, at the pace and hours they chose,
retried per Retry-After without a second message, and never after a withdrawal."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from advocacy.content.models import TalkingPoint
from advocacy.extensions import db, redis_client
from advocacy.models_base import utcnow
from advocacy.notifications import announcing, channels
from advocacy.notifications import preferences as prefs
from advocacy.notifications.models import Announcement, AnnouncementRun
from tests.conftest import run_jobs
from tests.delivery.support import approved, employee
from workers import queues


class FakeChannel:
    """A channel meeting the Protocol that records every message; ``script`` makes the next calls fail."""

    def __init__(self, name: str) -> None:
        self.name, self.label = name, f"Fake {name}"
        self.sent: list[tuple[int, list[int]]] = []  # (user id, talking point ids) per message accepted
        self.tried: list[int] = []
        self.set_up: set[int] = set()
        self.script: list[Exception] = []

    def available_for(self, user: Any) -> bool:
        return user.id in self.set_up

    def announce(self, user: Any, talking_points: list[Any]) -> channels.Delivered:
        self.tried.append(user.id)
        if self.script:
            raise self.script.pop(0)
        self.sent.append((user.id, [tp.id for tp in talking_points]))
        return channels.Delivered(reference=f"{self.name}-{len(self.sent)}")


@pytest.fixture()
def fake(app: Any) -> Iterator[dict[str, FakeChannel]]:
    saved = channels.registered()
    fakes = {name: FakeChannel(name) for name in ("slack", "email")}
    for channel in fakes.values():
        channels.register(channel)
    try:
        yield fakes
    finally:
        channels._registry.clear()
        channels._registry.update(saved)


def person(email: str, fakes: dict[str, FakeChannel], order: list[str], set_up: tuple[str, ...] = (),
           **choice: Any) -> int:
    """An opted-in employee with these notification choices; their id (jobs run here end the test's session)."""
    user = employee(email)
    prefs.update(user, {"channels": order, **choice})
    for name in set_up:
        fakes[name].set_up.add(user.id)
    return int(user.id)


def approve(title: str = "We are hiring") -> int:
    return int(approved(title).id)


def statuses(tp_id: int) -> dict[int, str]:
    db.session.expire_all()
    return {u: s for u, s in db.session.execute(select(Announcement.user_id, Announcement.status)
                                                .where(Announcement.talking_point_id == tp_id))}


def time_passes(app: Any, until: dt.datetime) -> None:
    """What the scheduler would do by ``until``: announcements due by then are due now, their jobs run."""
    db.session.execute(update(Announcement).where(Announcement.status == "queued", Announcement.due_at <= until)
                       .values(due_at=utcnow() - dt.timedelta(seconds=1)))
    db.session.commit()
    q = queues.queue(queues.DEFAULT, redis_client())
    registry = q.scheduled_job_registry
    for job_id in registry.get_job_ids():
        job = q.fetch_job(job_id)
        if job is not None and registry.get_scheduled_time(job) <= until:
            registry.remove(job)
            q.enqueue_job(job)
    run_jobs(app)


def scheduled_times() -> list[dt.datetime]:
    q = queues.queue(queues.DEFAULT, redis_client())
    registry = q.scheduled_job_registry
    return sorted(registry.get_scheduled_time(job_id) for job_id in registry.get_job_ids())


def test_approval_announces_in_the_background_once_on_the_first_channel_set_up(app, fake, make_user,
                                                                              browser_factory):
    anna = person("anna@acme.test", fake, ["slack", "email"], ("slack", "email"))
    ben = person("ben@acme.test", fake, ["slack", "email"], ("email",))  # Slack not set up: e-mail
    cleo = person("cleo@acme.test", fake, [])  # chose nothing
    dan = person("dan@acme.test", fake, ["email"], ("email",))
    from advocacy.people.models import User
    from advocacy.people.services import opt_out

    opt_out(db.session.get(User, dan))  # out of the programme: not in the audience
    db.session.commit()
    from advocacy.content import workflow
    from advocacy.content.models import TalkingPoint

    make_user("writer@acme.test", "comms")
    make_user("approver@acme.test", "comms")
    writer = db.session.scalar(select(User).where(User.email == "writer@acme.test"))
    tp = workflow.create_talking_point(writer, title="Platform jobs", link="https://acme.test/jobs", text="Join us")
    workflow.submit(tp, writer)
    tp_id = tp.id
    approver = browser_factory("approver@acme.test")
    assert approver.post(f"/studio/{tp_id}/approve").status_code == 302
    assert statuses(tp_id) == {}  # nothing announced inside the request

    run_jobs(app)
    assert fake["slack"].sent == [(anna, [tp_id])]
    assert fake["email"].sent == [(ben, [tp_id])]
    assert statuses(tp_id) == {anna: "sent", ben: "sent", cleo: "skipped"}
    rows = {a.user_id: a for a in db.session.scalars(select(Announcement)
                                                     .where(Announcement.talking_point_id == tp_id))}
    assert rows[anna].channel == "slack" and rows[anna].reference == "slack-1" and rows[anna].sent_at
    assert rows[cleo].error == announcing.NO_CHANNEL

    page = approver.get(f"/studio/{tp_id}").get_data(as_text=True)
    assert "Announced to 2 of 3 people" in page

    # approvals and runs racing: still one announcement, one message each
    errors: list[BaseException] = []

    def again() -> None:
        try:
            with app.app_context():
                announcing.run(tp_id)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=again) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    announcing.on_approved(db.session.get(TalkingPoint, tp_id))
    run_jobs(app)
    assert fake["slack"].sent == [(anna, [tp_id])] and fake["email"].sent == [(ben, [tp_id])]
    assert db.session.scalar(select(func.count(Announcement.id))) == 3
    runs = db.session.scalars(select(AnnouncementRun).where(AnnouncementRun.talking_point_id == tp_id)).all()
    assert len(runs) == 4 and all(r.status == "done" and r.total == 3 and r.done == 3 for r in runs)
    assert sum(r.queued for r in runs) == 3


def test_daily_people_get_one_message_a_day_with_everything_new(app, fake):
    daisy = person("daisy@acme.test", fake, ["email"], ("email",), frequency="daily")
    first, second = approve("First"), approve("Second")
    run_jobs(app)
    assert fake["email"].sent == [(daisy, [first, second])]  # one message carries both

    third = approve("Third")
    run_jobs(app)
    assert fake["email"].sent == [(daisy, [first, second])]  # not before a day has passed
    due = db.session.scalar(select(Announcement.due_at).where(Announcement.talking_point_id == third))
    assert due >= utcnow() + dt.timedelta(hours=23)
    assert scheduled_times() and abs((scheduled_times()[0] - due).total_seconds()) < 60

    time_passes(app, due + dt.timedelta(minutes=1))
    assert fake["email"].sent[-1] == (daisy, [third]) and len(fake["email"].sent) == 2


def test_quiet_hours_defer_to_their_end_in_the_persons_time_zone(app, fake):
    zone = ZoneInfo("Asia/Tokyo")
    local = utcnow().astimezone(zone)
    now_minute = local.hour * 60 + local.minute
    start, end = (now_minute - 60) % 1440, (now_minute + 90) % 1440
    quiet = person("quinn@acme.test", fake, ["email"], ("email",), timezone="Asia/Tokyo",
                   quiet_start=prefs.hhmm(start), quiet_end=prefs.hhmm(end))
    awake = person("will@acme.test", fake, ["email"], ("email",))
    tp = approve()
    run_jobs(app)
    assert fake["email"].sent == [(awake, [tp])]  # only the one outside quiet hours, now
    due = db.session.scalar(select(Announcement.due_at).where(Announcement.user_id == quiet))
    local_due = due.astimezone(zone)
    assert local_due.hour * 60 + local_due.minute == end and due > utcnow()
    assert due - utcnow() <= dt.timedelta(minutes=91)

    time_passes(app, due)
    assert fake["email"].sent[-1] == (quiet, [tp])


def test_withdrawn_or_opted_out_meanwhile_is_not_announced(app, fake):
    later = {"frequency": "daily"}
    wendy = person("wendy@acme.test", fake, ["email"], ("email",), **later)
    otto = person("otto@acme.test", fake, ["email"], ("email",), **later)
    warm_up = approve("Warm-up")
    run_jobs(app)  # their daily message went: the next waits a day
    assert len(fake["email"].sent) == 2
    tp, kept = approve("Soon withdrawn"), approve("Kept")
    run_jobs(app)
    from advocacy.content import workflow
    from advocacy.content.models import TalkingPoint
    from advocacy.people.models import User
    from advocacy.people.services import opt_out

    reviewer = db.session.scalar(select(User).where(User.email == "reviewer@acme.test"))
    workflow.withdraw(db.session.get(TalkingPoint, tp), reviewer, "wrong figures")
    opt_out(db.session.get(User, otto))
    db.session.commit()
    time_passes(app, utcnow() + dt.timedelta(days=2))
    assert fake["email"].sent[2:] == [(wendy, [kept])]  # the withdrawn one left out; Otto nothing
    assert statuses(tp) == {wendy: "skipped", otto: "skipped"}
    assert statuses(kept)[otto] == "skipped" and warm_up


def test_retry_later_waits_then_sends_once(app, fake):
    rita = person("rita@acme.test", fake, ["slack", "email"], ("slack", "email"))
    fake["slack"].script = [channels.RetryLater(120, "429 Too Many Requests")]
    tp = approve()
    before = utcnow()
    run_jobs(app)
    assert fake["slack"].sent == [] and fake["email"].sent == []  # not sent elsewhere meanwhile
    row = db.session.scalar(select(Announcement).where(Announcement.user_id == rita))
    assert row.status == "queued" and row.due_at >= before + dt.timedelta(seconds=119)
    assert "429" in (row.error or "")
    assert any(abs((t - row.due_at).total_seconds()) < 2 for t in scheduled_times())

    time_passes(app, row.due_at + dt.timedelta(seconds=1))
    assert fake["slack"].sent == [(rita, [tp])] and fake["slack"].tried == [rita, rita]
    announcing.deliver([rita])  # a stray second job: nothing left to send
    run_jobs(app)
    assert fake["slack"].sent == [(rita, [tp])] and statuses(tp) == {rita: "sent"}


def test_unreachable_stops_that_channel_until_set_up_again(app, fake):
    uma = person("uma@acme.test", fake, ["slack", "email"], ("slack", "email"))
    solo = person("solo@acme.test", fake, ["slack"], ("slack",))
    fake["slack"].script = [channels.Unreachable("user left the workspace"),
                            channels.Unreachable("user left the workspace")]
    first = approve("First")
    run_jobs(app)
    assert fake["email"].sent == [(uma, [first])]  # the next channel
    assert statuses(first) == {uma: "sent", solo: "unreachable"}
    assert "left the workspace" in db.session.scalar(select(Announcement.error).where(
        Announcement.user_id == solo))

    second = approve("Second")
    run_jobs(app)
    assert sorted(fake["slack"].tried) == sorted([uma, solo])  # not tried again
    assert fake["email"].sent[-1] == (uma, [second]) and statuses(second)[solo] == "skipped"

    prefs.channel_set_up(uma, "slack")
    third = approve("Third")
    run_jobs(app)
    assert fake["slack"].sent == [(uma, [third])]


def test_due_at_keeps_to_frequency_and_quiet_hours():
    zone = ZoneInfo("Europe/Paris")
    now = dt.datetime(2026, 12, 3, 21, 30, tzinfo=dt.UTC)  # 22:30 in Paris
    assert announcing.due_at(now, "instant", zone, None, None) == now
    night = announcing.due_at(now, "instant", zone, 22 * 60, 7 * 60)  # quiet 22:00-07:00 spans midnight
    assert night == dt.datetime(2026, 12, 4, 6, 0, tzinfo=dt.UTC)  # 07:00 in Paris
    last = now - dt.timedelta(hours=2)
    assert announcing.due_at(now, "weekly", zone, None, None, last) == last + dt.timedelta(days=7)
    waiting = now + dt.timedelta(hours=5)
    assert announcing.due_at(now, "daily", zone, None, None, last, waiting) == waiting  # joins the batch


def test_the_sweep_queues_again_what_redis_lost(app, fake):
    sam = person("sam@acme.test", fake, ["email"], ("email",))
    tp = approve()
    redis_client().flushdb()  # Redis lost the announce job
    run_jobs(app)
    assert fake["email"].sent == [] and statuses(tp) == {}
    later = utcnow() + dt.timedelta(minutes=11)
    assert announcing.sweep(later) == 1  # the talking point nobody announced
    run_jobs(app)
    assert fake["email"].sent == [(sam, [tp])]

    other = approve("Other")
    from advocacy.notifications.models import NotificationPreference

    db.session.execute(update(NotificationPreference).values(frequency="daily"))
    db.session.commit()
    run_jobs(app)  # recorded for a day later; then Redis loses the scheduled delivery
    redis_client().flushdb()
    db.session.execute(update(Announcement).where(Announcement.talking_point_id == other)
                       .values(due_at=utcnow() - dt.timedelta(hours=1)))
    db.session.commit()
    assert announcing.sweep() == 1
    run_jobs(app)
    assert fake["email"].sent[-1] == (sam, [other]) and announcing.sweep() == 0


def test_announcements_a_killed_worker_held_are_sent_after_the_lease(app, fake):
    sam = person("sam@acme.test", fake, ["email"], ("email",))
    tp = approve()
    redis_client().flushdb()
    # what a delivery killed in the middle of sending leaves: its claim, and no message
    run = AnnouncementRun(talking_point_id=tp, total=0, done=0, queued=0)
    db.session.add(run)
    announcing._walk(db.session.get(TalkingPoint, tp), run)
    assert announcing._claim(sam, utcnow()) != []
    assert statuses(tp) == {sam: "sending"} and fake["email"].sent == []
    assert announcing.sweep(utcnow() + dt.timedelta(minutes=5)) == 0  # inside the lease: still its worker's
    assert statuses(tp) == {sam: "sending"}
    redis_client().flushdb()  # what the dead worker left in Redis is gone too
    assert announcing.sweep(utcnow() + announcing.LEASE + dt.timedelta(seconds=1)) == 1
    run_jobs(app)
    assert fake["email"].sent == [(sam, [tp])] and statuses(tp) == {sam: "sent"}
    assert announcing.sweep(utcnow() + announcing.LEASE * 2) == 0
