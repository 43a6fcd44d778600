"""Four eyes means four eyes: nobody approves or rejects a version they wrote or changed in this review cycle,
whichever path they take (JSON API, web form), and the review page names who changed what."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from advocacy.content import versions, workflow
from advocacy.content.models import Revision, TalkingPoint
from advocacy.errors import Conflict, NotAllowed
from advocacy.extensions import db
from tests.content.test_media import png, put_image

JSON = {"title": "Launch", "link": "https://acme.example/launch", "text": "We launched!",
        "disclosure": "#iworkforacme"}


@pytest.fixture()
def comms(browser_factory, make_user):
    make_user("comms@acme.test", "comms", name="Comms One")
    make_user("comms2@acme.test", "comms", name="Comms Two")
    make_user("comms3@acme.test", "comms", name="Comms Three")
    return (browser_factory("comms@acme.test"), browser_factory("comms2@acme.test"),
            browser_factory("comms3@acme.test"))


def in_review(author) -> int:
    created = author.api("POST", "/api/talking-points", JSON)
    assert created.status_code == 201, created.get_json()
    tp_id = created.get_json()["id"]
    assert author.api("POST", f"/api/talking-points/{tp_id}/submit").status_code == 200
    return tp_id


def status(tp_id: int) -> str:
    return db.session.scalar(select(TalkingPoint.status).where(TalkingPoint.id == tp_id))


def test_patch_then_approve_is_refused_over_the_api(comms):
    author, comms2, comms3 = comms
    tp_id = in_review(author)
    patched = comms2.api("PATCH", f"/api/talking-points/{tp_id}",
                         {"text": "We launched! Buy now", "link": "https://evil.example/"})
    assert patched.status_code == 200, patched.get_json()
    refused = comms2.api("POST", f"/api/talking-points/{tp_id}/approve")
    assert refused.status_code == 403
    assert "four eyes" in refused.get_json()["message"] and "text, link" in refused.get_json()["message"]
    assert comms2.api("POST", f"/api/talking-points/{tp_id}/reject", {"reason": "hmm"}).status_code == 403
    assert author.api("POST", f"/api/talking-points/{tp_id}/approve").status_code == 403  # the author, still
    assert status(tp_id) == "in_review"
    # someone who neither wrote nor changed it approves what comms2 changed
    assert comms3.api("POST", f"/api/talking-points/{tp_id}/approve").get_json()["status"] == "approved"


def test_edit_then_approve_is_refused_on_the_web_form_and_the_page_names_the_editors(comms):
    author, comms2, comms3 = comms
    tp_id = in_review(author)
    edited = comms2.post(f"/studio/{tp_id}/edit", {
        "title": "Launch", "link": "https://acme.example/other", "text": "We launched today!",
        "disclosure": "#iworkforacme", "target_everyone": "1", "employees_may_edit": "1", "checkboxes": "1"})
    assert edited.status_code == 302, edited.get_data(as_text=True)[:2000]
    page = comms2.get(f"/studio/{tp_id}").get_data(as_text=True)
    assert "Changed in this review: text, link by <strong>Comms Two</strong>" in page
    assert "Written in this review by <strong>Comms One</strong>" in page
    assert 'id="four-eyes"' in page and "disabled" in page.split('id="four-eyes"')[1].split("Reject")[0]
    refused = comms2.post(f"/studio/{tp_id}/approve")
    assert refused.status_code == 403 and "four eyes" in refused.get_data(as_text=True)
    assert comms2.post(f"/studio/{tp_id}/reject", {"reason": "no"}).status_code == 403
    assert status(tp_id) == "in_review"
    other = comms3.get(f"/studio/{tp_id}").get_data(as_text=True)  # comms3 sees the same list and may approve
    assert "text, link by <strong>Comms Two</strong>" in other and 'id="four-eyes"' not in other
    assert comms3.post(f"/studio/{tp_id}/approve").status_code == 302
    assert status(tp_id) == "approved"


def test_an_image_change_counts_as_an_edit(comms):
    author, comms2, comms3 = comms
    tp_id = in_review(author)
    answer = put_image(comms2, tp_id, png(), alt="A chart")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:1000]
    assert comms2.api("POST", f"/api/talking-points/{tp_id}/approve").status_code == 403
    assert comms2.api("PATCH", f"/api/talking-points/{tp_id}/image", {"image_alt": "A bar chart"}).status_code == 200
    page = comms3.get(f"/studio/{tp_id}").get_data(as_text=True)
    assert "Changed in this review: image, image alt text by <strong>Comms Two</strong>" in page
    assert comms3.api("POST", f"/api/talking-points/{tp_id}/approve").status_code == 200


def test_an_editor_of_an_earlier_approved_cycle_may_approve_the_next(comms):
    author, comms2, comms3 = comms
    tp_id = in_review(author)
    assert comms2.api("PATCH", f"/api/talking-points/{tp_id}", {"text": "We launched, finally!"}).status_code == 200
    assert comms3.api("POST", f"/api/talking-points/{tp_id}/approve").status_code == 200  # cycle 1 approved
    # the author edits the approved talking point: back to review, a new cycle that comms2 had no hand in
    again = author.api("PATCH", f"/api/talking-points/{tp_id}", {"link": "https://acme.example/launch-2"})
    assert again.status_code == 200 and again.get_json()["status"] == "in_review"
    tp = db.session.get(TalkingPoint, tp_id)
    assert [(u.name, f) for u, f in versions.review_changes(tp)] == [("Comms One", ["link"])]
    assert comms2.api("POST", f"/api/talking-points/{tp_id}/approve").get_json()["status"] == "approved"
    cycles = [(r.version, r.cycle, r.changed) for r in db.session.scalars(
        select(Revision).where(Revision.talking_point_id == tp_id).order_by(Revision.version))]
    assert cycles == [(1, 1, "created"), (2, 1, "text"), (3, 2, "link")]
    listed = author.api("GET", f"/api/talking-points/{tp_id}/revisions").get_json()
    assert [(r["version"], r["cycle"], r["changed"]) for r in listed] == [
        (1, 1, ["created"]), (2, 1, ["text"]), (3, 2, ["link"])]


def test_an_approval_racing_an_edit_is_refused(app, make_user):
    author = make_user("a@acme.test", "comms")
    reviewer = make_user("r@acme.test", "comms")
    tp = workflow.create_talking_point(author, **JSON)
    workflow.submit(tp, author)
    # another request saves a new version after this one read the talking point
    db.session.execute(update(TalkingPoint).where(TalkingPoint.id == tp.id).values(version=2)
                       .execution_options(synchronize_session=False))
    with pytest.raises(Conflict):
        workflow.approve(tp, reviewer)
    db.session.rollback()
    assert db.session.get(TalkingPoint, tp.id).status == "in_review"
    with pytest.raises(NotAllowed):
        workflow.approve(db.session.get(TalkingPoint, tp.id), author)


def test_a_link_title_is_a_content_edit_under_four_eyes(comms):
    """LinkedIn shows the link's title on the article card: setting it is an edit like any other."""
    author, comms2, comms3 = comms
    tp_id = in_review(author)
    assert comms3.api("POST", f"/api/talking-points/{tp_id}/approve").status_code == 200
    titled = comms2.api("PATCH", f"/api/talking-points/{tp_id}", {"link_title": "Buy now, ask later"})
    assert titled.status_code == 200 and titled.get_json()["status"] == "in_review"  # back to review
    assert comms2.api("POST", f"/api/talking-points/{tp_id}/approve").status_code == 403
    assert comms2.post(f"/studio/{tp_id}/link-title", {"link_title": "Another"}).status_code == 302  # the web form
    page = author.get(f"/studio/{tp_id}").get_data(as_text=True)
    assert "Changed in this review: link title by <strong>Comms Two</strong>" in page
    assert author.api("POST", f"/api/talking-points/{tp_id}/approve").status_code == 403  # still the author
    assert comms3.api("POST", f"/api/talking-points/{tp_id}/approve").get_json()["status"] == "approved"
