"""The content calendar: availability windows across days, shares waiting per day (counted in SQL), the day's
drill-down, the week view, the JSON API, and who may see it."""

from __future__ import annotations

import datetime as dt
import re
import secrets

import pytest

from advocacy.delivery.models import Share
from advocacy.extensions import db
from tests.delivery.support import approved

UTC = dt.UTC


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def shares(tp, people, when: dt.datetime, status: str = "scheduled", network: str = "x") -> None:
    for person in people:
        db.session.add(Share(talking_point_id=tp.id, user_id=person.id, network=network, text="t",
                             code=secrets.token_urlsafe(8)[:12], status=status, scheduled_at=when))
    db.session.commit()


@pytest.fixture()
def month(make_user):
    """Two talking points in March 2027 and shares waiting on three days (others published or cancelled)."""
    launch = approved("Spring launch", available_from=at("2027-03-03"), available_until=at("2027-03-10", 18))
    hiring = approved("Hiring fair", available_from=at("2027-03-28"))  # open-ended, into April
    people = [make_user(f"p{i}@acme.test") for i in range(5)]
    shares(launch, people[:3], at("2027-03-04", 8))
    shares(launch, people[3:5], at("2027-03-04", 15), status="queued")
    shares(launch, people[:2], at("2027-03-05", 10), network="linkedin")
    shares(launch, people[4:5], at("2027-03-05", 11), status="published", network="mastodon")  # not waiting
    shares(hiring, people[:1], at("2027-03-29", 9))
    return launch, hiring


def cells(html: str) -> dict[str, int]:
    """Day → shares scheduled, as the month grid shows them."""
    out = {}
    for day, body in re.findall(r'<a class="cal-day[^"]*"[^>]*data-day="([\d-]+)"[^>]*>(.*?)</a>', html, re.S):
        count = re.search(r'data-scheduled="(\d+)"', body)
        out[day] = int(count.group(1)) if count else 0
    return out


def bars(html: str) -> list[tuple[str, str, str]]:
    """(talking point id, grid column, title) of each bar in the grid, week by week."""
    grid = html.split('class="cal-list"')[0]
    return re.findall(r'class="cal-bar[^"]*"\s+style="grid-column:(\d+ / span \d+)"[^>]*data-talking-point="(\d+)"'
                      r'[^>]*>.*?</span>([^<]+)</a>', grid, re.S)


def test_month_shows_windows_across_days_and_shares_waiting_per_day(month, make_user, browser_factory):
    launch, hiring = month
    make_user("carl@acme.test", "comms")
    page = browser_factory("carl@acme.test").get("/studio/calendar?date=2027-03-15")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "March 2027" in html
    counts = cells(html)
    assert counts["2027-03-04"] == 5  # 3 scheduled + 2 queued
    assert counts["2027-03-05"] == 2  # the published one is not waiting
    assert counts["2027-03-29"] == 1
    assert sum(counts.values()) == 8
    assert counts["2027-03-01"] == 0 and "2027-04-04" in counts  # whole weeks, Monday first
    # Spring launch: Wed 3 to Wed 10 March -> columns 3..7 of its first week, 1..3 of the next
    found = [(col, tp_id, title.strip()) for col, tp_id, title in bars(html)]
    assert ("3 / span 5", str(launch.id), "Spring launch") in found
    assert ("1 / span 3", str(launch.id), "Spring launch") in found
    # Hiring fair opens Sunday 28 March and runs on: it fills the last column, then the whole next week
    assert ("7 / span 1", str(hiring.id), "Hiring fair") in found
    assert ("1 / span 7", str(hiring.id), "Hiring fair") in found
    assert 'class="cal-bar st-approved' in html


def test_the_day_drill_down_lists_talking_points_and_shares(month, make_user, browser_factory):
    launch, hiring = month
    make_user("carl@acme.test", "comms")
    carl = browser_factory("carl@acme.test")
    month_page = carl.get("/studio/calendar?date=2027-03-15").get_data(as_text=True)
    assert 'href="/studio/calendar/2027-03-04?view=month"' in month_page
    day = carl.get("/studio/calendar/2027-03-04?view=month")
    html = day.get_data(as_text=True)
    assert day.status_code == 200 and "Thursday 4 March 2027" in html
    assert 'data-scheduled="5"' in html
    assert f'href="/studio/{launch.id}"' in html and "Hiring fair" not in html
    assert len(re.findall(r'<tr data-share="\d+">', html)) == 5
    assert html.count(">scheduled</span>") == 3 and html.count(">queued</span>") == 2
    quiet = carl.get("/studio/calendar/2027-03-20").get_data(as_text=True)
    assert "No share is waiting to go out on this day." in quiet and "Spring launch" not in quiet
    assert carl.get("/studio/calendar/not-a-day").status_code == 404


def test_week_view_and_navigation(month, make_user, browser_factory):
    launch, _ = month
    make_user("carl@acme.test", "comms")
    html = browser_factory("carl@acme.test").get("/studio/calendar?view=week&date=2027-03-04").get_data(as_text=True)
    assert "Week of 1 Mar – 7 Mar 2027" in html
    assert list(cells(html)) == [f"2027-03-0{d}" for d in range(1, 8)]
    assert cells(html)["2027-03-04"] == 5
    assert [(c, t) for c, t, _ in bars(html)] == [("3 / span 5", str(launch.id))]
    assert 'href="/studio/calendar?view=week&amp;date=2027-02-25"' in html  # previous week
    assert 'href="/studio/calendar?view=week&amp;date=2027-03-11"' in html  # next week
    assert 'href="/studio/calendar?view=month&amp;date=2027-03-04"' in html  # the month around it


def test_days_are_the_viewers_own(make_user, browser_factory):
    tp = approved("Late night")
    person = make_user("p@acme.test")
    shares(tp, [person], at("2027-03-04", 23))  # 23:00 UTC is 00:00 on the 5th in Berlin
    carl = make_user("carl@acme.test", "comms")
    carl.timezone = "Europe/Berlin"
    db.session.commit()
    html = browser_factory("carl@acme.test").get("/studio/calendar?date=2027-03-01").get_data(as_text=True)
    assert cells(html)["2027-03-05"] == 1 and cells(html)["2027-03-04"] == 0


def test_calendar_api_matches_the_page(month, make_user, browser_factory):
    launch, hiring = month
    make_user("carl@acme.test", "comms")
    carl = browser_factory("carl@acme.test")
    answer = carl.api("GET", "/api/calendar?from=2027-03-01&to=2027-03-31")
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    days = {d["date"]: d for d in body["days"]}
    assert len(days) == 31 and days["2027-03-04"]["scheduled"] == 5 and days["2027-03-05"]["scheduled"] == 2
    assert days["2027-03-04"]["talking_point_ids"] == [launch.id]
    windows = {w["title"]: w for w in body["windows"]}
    assert windows["Spring launch"] == {"talking_point_id": launch.id, "title": "Spring launch", "status": "approved",
                                        "start": "2027-03-03", "end": "2027-03-10", "open_start": False,
                                        "open_end": False}
    assert windows["Hiring fair"]["open_end"] is True and windows["Hiring fair"]["end"] == "2027-03-31"
    bad = carl.api("GET", "/api/calendar?from=2027-03-31&to=2027-03-01")
    assert bad.status_code == 422 and "to" in bad.get_json()["errors"]["query"]
    long = carl.api("GET", "/api/calendar?from=2027-01-01&to=2027-06-01")
    assert long.status_code == 422 and "at most" in long.get_json()["errors"]["query"]["to"][0]


@pytest.mark.parametrize("role", ["employee", "analyst"])
def test_only_comms_and_admins_see_the_calendar(role, make_user, browser_factory):
    make_user("someone@acme.test", role)
    someone = browser_factory("someone@acme.test")
    assert someone.get("/studio/calendar").status_code == 403
    assert someone.get("/studio/calendar/2027-03-04").status_code == 403
    assert someone.api("GET", "/api/calendar?from=2027-03-01&to=2027-03-31").status_code == 403
    make_user("admin@acme.test", "admin")
    admin = browser_factory("admin@acme.test")
    assert admin.get("/studio/calendar").status_code == 200
    assert 'href="/studio/calendar"' in admin.get("/studio/").get_data(as_text=True)  # in the menu
