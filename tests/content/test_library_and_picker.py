"""The studio's library filters (status, topic, author, with counts, kept in the URL; the API alike) and the people
picker's server side: search among 50,000 people, and the plain e-mail field that works without JavaScript."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, insert, select

from advocacy.content import workflow
from advocacy.content.models import TalkingPoint
from advocacy.extensions import db
from advocacy.people.models import User


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-talking-point="\d+"><td><a [^>]*>([^<]+)</a>', html)


def test_library_filters_narrow_the_list_with_counts_kept_in_the_url(make_user, browser_factory):
    carl, rita = make_user("carl@acme.test", "comms", "Carl Comms"), make_user("rita@acme.test", "comms", "Rita R")
    workflow.create_talking_point(carl, title="Hiring fair", link="https://a.test/1", text="x", topics="hiring events")
    workflow.create_talking_point(carl, title="Q3 results", link="https://a.test/2", text="x", topics="finance")
    workflow.create_talking_point(rita, title="Graduate jobs", link="https://a.test/3", text="x", topics="Hiring")
    sent = workflow.create_talking_point(rita, title="Office party", link="https://a.test/4", text="x", topics="events")
    workflow.submit(sent, rita)
    db.session.commit()
    page = browser_factory("carl@acme.test")

    html = page.get("/studio/").get_data(as_text=True)
    assert len(rows(html)) == 4
    assert re.search(r'<option value="hiring" >hiring \(2\)</option>', html)
    assert re.search(rf'<option value="{rita.id}" >Rita R \(2\)</option>', html)
    assert re.search(r'data-status="in_review">In review <span class="count">1</span>', html)

    html = page.get("/studio/?topic=hiring").get_data(as_text=True)
    assert sorted(rows(html)) == ["Graduate jobs", "Hiring fair"]
    assert re.search(r'data-status="draft">Draft <span class="count">2</span>', html)  # counts follow the topic
    html = page.get(f"/studio/?topic=hiring&author={rita.id}").get_data(as_text=True)
    assert rows(html) == ["Graduate jobs"]
    tab = re.search(r'href="(/studio/\?[^"]*)"(?: aria-current="true")? data-status="in_review"', html).group(1)
    assert "topic=hiring" in tab and f"author={rita.id}" in tab  # a status tab keeps the other filters
    html = page.get("/studio/?topic=events&status=in_review").get_data(as_text=True)
    assert rows(html) == ["Office party"]
    assert "Nothing matches these filters." in page.get("/studio/?topic=finance&status=in_review").get_data(
        as_text=True)

    api = page.api("GET", f"/api/talking-points?topic=hiring&author={carl.id}")
    assert [tp["title"] for tp in api.get_json()] == ["Hiring fair"]
    bad = page.api("GET", "/api/talking-points?author=abc")
    assert bad.status_code == 422 and "author" in bad.get_json()["errors"]["query"]


def _fifty_thousand_people() -> None:
    now = dt.datetime.now(dt.UTC)
    db.session.execute(insert(User), [
        {"email": f"person{i:05d}@big.test", "name": f"Person {i:05d}", "password_hash": "x", "role": "employee",
         "timezone": "UTC", "active": True, "created_at": now} for i in range(50_000)])
    db.session.execute(insert(User), [
        {"email": "zoe.quist@big.test", "name": "Zoë Quist", "password_hash": "x", "role": "employee",
         "timezone": "UTC", "active": True, "created_at": now},
        {"email": "ann.quist@big.test", "name": "Ann Quistorp", "password_hash": "x", "role": "employee",
         "timezone": "UTC", "active": True, "created_at": now},
        {"email": "gone.quist@big.test", "name": "Gone Quist", "password_hash": "x", "role": "employee",
         "timezone": "UTC", "active": False, "created_at": now}])
    db.session.commit()


def test_people_search_finds_matches_among_fifty_thousand(make_user, browser_factory):
    make_user("carl@acme.test", "comms")
    _fifty_thousand_people()
    assert db.session.scalar(select(func.count(User.id))) > 50_000
    carl = browser_factory("carl@acme.test")
    found = carl.api("GET", "/api/people/search?q=quist").get_json()
    # surname and e-mail starts first, by name; a deactivated person never
    assert [p["name"] for p in found["people"]] == ["Ann Quistorp", "Zoë Quist"]
    assert found["people"][0]["email"] == "ann.quist@big.test"
    many = carl.api("GET", "/api/people/search?q=person4").get_json()["people"]
    assert len(many) == 20 and all(p["email"].startswith("person4") for p in many)
    assert carl.api("GET", "/api/people/search?q=12345").get_json()["people"][0]["email"] == "person12345@big.test"
    assert carl.api("GET", "/api/people/search?q=").status_code == 422
    assert carl.api("GET", "/api/people/search?q=a&limit=500").status_code == 422
    make_user("emma@acme.test")
    assert browser_factory("emma@acme.test").api("GET", "/api/people/search?q=quist").status_code == 403
    # the editor no longer lists everyone: the page stays small
    assert len(carl.get("/studio/").get_data()) < 200_000


def test_people_field_without_javascript(make_user, browser_factory):
    carl = make_user("carl@acme.test", "comms")
    rita = make_user("rita@acme.test", "comms")
    nia, sam = make_user("nia@acme.test", name="Nia"), make_user("sam@acme.test", name="Sam")
    page = browser_factory("carl@acme.test")
    form = {"title": "For two", "link": "https://a.test/p", "text": "Hello", "checkboxes": "1"}

    refused = page.post("/studio/", {**form, "people_emails": "nia@acme.test, nobody@acme.test"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'People: no active person has the address nobody@acme.test' in html
    assert 'id="people_emails-error"' in html and "nia@acme.test, nobody@acme.test</textarea>" in html
    assert db.session.scalar(select(func.count(TalkingPoint.id))) == 0  # nothing stored

    saved = page.post("/studio/", {**form, "people_emails": "NIA@acme.test;\nsam@acme.test"})
    assert saved.status_code == 302
    tp = db.session.scalars(select(TalkingPoint)).one()
    assert tp.target_everyone is False and tp.user_ids == [nia.id, sam.id]
    edit = page.get(f"/studio/{tp.id}/edit").get_data(as_text=True)
    assert "nia@acme.test, sam@acme.test</textarea>" in edit and "Reaches 2 people." in edit

    # a change of targeting on an approved talking point goes back to review (four eyes), through the same service
    workflow.submit(tp, carl)
    workflow.approve(tp, rita)
    db.session.commit()
    changed = page.post(f"/studio/{tp.id}/edit", {**form, "people_emails": "nia@acme.test"})
    assert changed.status_code == 302
    db.session.refresh(tp)
    assert tp.status == "in_review" and tp.user_ids == [nia.id]
    assert "targeting" in tp.revisions[-1].fields
