"""The studio through the web routes and the API: four eyes on every path, versions, rejection, bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from advocacy.content.models import TalkingPoint
from advocacy.extensions import db

FORM = {"title": "We are hiring", "link": "https://acme.example/jobs", "text": "Come build the platform with us.",
        "hashtags": "#hiring", "disclosure": "#iworkforacme", "topics": "careers", "target_everyone": "1",
        "employees_may_edit": "1", "checkboxes": "1"}
JSON = {"title": "Launch", "link": "https://acme.example/launch", "text": "We launched!",
        "disclosure": "#iworkforacme"}


@pytest.fixture()
def comms(browser_factory, make_user):
    make_user("author@acme.test", "comms", name="Ana Author")
    make_user("reviewer@acme.test", "comms", name="Rey Reviewer")
    return browser_factory("author@acme.test"), browser_factory("reviewer@acme.test")


def create_web(browser, **changes) -> int:
    answer = browser.post("/studio/", FORM | changes)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:3000]
    return int(answer.headers["Location"].rstrip("/").split("/")[-1])


def test_four_eyes_holds_on_the_web(comms):
    author, reviewer = comms
    tp_id = create_web(author)
    assert reviewer.post(f"/studio/{tp_id}/approve").status_code == 422  # a draft cannot be approved
    assert author.post(f"/studio/{tp_id}/submit").status_code == 302
    own = author.post(f"/studio/{tp_id}/approve")
    assert own.status_code == 403 and "four eyes" in own.get_data(as_text=True)
    own_reject = author.post(f"/studio/{tp_id}/reject", {"reason": "meh"})
    assert own_reject.status_code == 403
    assert db.session.get(TalkingPoint, tp_id).status == "in_review"
    assert reviewer.post(f"/studio/{tp_id}/approve").status_code == 302
    page = reviewer.get(f"/studio/{tp_id}").get_data(as_text=True)
    assert 'id="status">approved' in page and "approved by Rey Reviewer" in page


def test_four_eyes_holds_over_the_api_and_for_suggestions(comms, browser_factory, make_user):
    author, reviewer = comms
    tp = author.api("POST", "/api/talking-points", JSON)
    assert tp.status_code == 201, tp.get_json()
    tp_id = tp.get_json()["id"]
    assert author.api("POST", f"/api/talking-points/{tp_id}/submit").status_code == 200
    own = author.api("POST", f"/api/talking-points/{tp_id}/approve")
    assert own.status_code == 403 and "four eyes" in own.get_json()["message"]
    assert author.api("POST", f"/api/talking-points/{tp_id}/reject", {"reason": "x"}).status_code == 403
    assert reviewer.api("POST", f"/api/talking-points/{tp_id}/approve").get_json()["status"] == "approved"

    # an employee's suggestion enters review; they can neither approve it nor can its author be the approver
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    suggested = emma.api("POST", "/api/talking-points/suggestions",
                         {"title": "Our meetup", "link": "https://acme.example/meetup", "text": "Join us!"})
    assert suggested.status_code == 201 and suggested.get_json()["status"] == "in_review"
    s_id = suggested.get_json()["id"]
    assert suggested.get_json()["suggested"] is True
    assert emma.api("POST", f"/api/talking-points/{s_id}/approve").status_code == 403  # not comms
    assert author.api("POST", f"/api/talking-points/{s_id}/approve").get_json()["status"] == "approved"


def test_suggestion_through_the_web_is_screened_and_reviewed(comms, browser_factory, make_user):
    author, _ = comms
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    refused = emma.post("/studio/suggest", {"title": "Leak", "link": "https://acme.example/x",
                                            "text": "CONFIDENTIAL roadmap inside"})
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "Confidentiality markers" in body and "CONFIDENTIAL roadmap inside" in body  # what was typed stays
    assert db.session.scalars(select(TalkingPoint)).all() == []
    assert emma.post("/studio/suggest", {"title": "Meetup", "link": "https://acme.example/meetup",
                                         "text": "Join our meetup"}).status_code == 302
    library = author.get("/studio/").get_data(as_text=True)
    assert "Meetup" in library and "(suggested)" in library and "in review" in library


def test_rejection_sends_back_to_draft_with_the_reason(comms):
    author, reviewer = comms
    tp_id = create_web(author)
    author.post(f"/studio/{tp_id}/submit")
    no_reason = reviewer.post(f"/studio/{tp_id}/reject", {"reason": "  "})
    assert no_reason.status_code == 422 and "must not be empty" in no_reason.get_data(as_text=True)
    assert reviewer.post(f"/studio/{tp_id}/reject", {"reason": "Link goes to the old page"}).status_code == 302
    page = author.get(f"/studio/{tp_id}").get_data(as_text=True)
    assert 'id="status">draft' in page and "Link goes to the old page" in page and "sent it back" in page


def test_editing_an_approved_talking_point_sends_it_back_to_review_and_keeps_every_version(comms):
    author, reviewer = comms
    tp_id = create_web(author)
    author.post(f"/studio/{tp_id}/submit")
    reviewer.post(f"/studio/{tp_id}/approve")
    edited = author.post(f"/studio/{tp_id}/edit", FORM | {"text": "Come build the platform with us, remote-friendly."})
    assert edited.status_code == 302
    tp = db.session.get(TalkingPoint, tp_id)
    db.session.refresh(tp)
    assert tp.status == "in_review" and tp.approved_by_id is None and tp.version == 2
    revisions = author.api("GET", f"/api/talking-points/{tp_id}/revisions").get_json()
    assert [r["version"] for r in revisions] == [1, 2]
    assert revisions[0]["snapshot"]["variants"][0]["text"] == "Come build the platform with us."
    assert revisions[1]["snapshot"]["variants"][0]["text"].endswith("remote-friendly.")
    # the author's own edit does not let them approve it
    assert author.post(f"/studio/{tp_id}/approve").status_code == 403
    # API edit of an approved one also goes back to review
    reviewer.post(f"/studio/{tp_id}/approve")
    patched = author.api("PATCH", f"/api/talking-points/{tp_id}", {"hashtags": "#hiring #remote"})
    assert patched.status_code == 200 and patched.get_json()["status"] == "in_review"
    assert patched.get_json()["version"] == 3


def test_variants_per_network_and_the_locked_disclosure(comms):
    author, _ = comms
    created = author.api("POST", "/api/talking-points", JSON | {"variants": [
        {"network": "generic", "text": "We launched!"}, {"network": "x", "text": "Launched 🚀"},
        {"network": "linkedin", "text": "Today we launched our new product."}], "hashtags": "launch"})
    assert created.status_code == 201, created.get_json()
    tp_id = created.get_json()["id"]
    assert [v["network"] for v in created.get_json()["variants"]] == ["generic", "x", "linkedin"]
    assert created.get_json()["hashtags"] == "#launch"
    x = author.api("POST", f"/api/talking-points/{tp_id}/preview", {"network": "x"}).get_json()
    assert x["text"] == "Launched 🚀 #launch #iworkforacme"
    mastodon = author.api("POST", f"/api/talking-points/{tp_id}/preview", {"network": "mastodon"}).get_json()
    assert mastodon["text"] == "We launched! #launch #iworkforacme"  # generic where no variant of its own
    # an employee edit without the disclosure still gets it, and it is counted
    edit = author.api("POST", f"/api/talking-points/{tp_id}/preview", {"network": "bluesky", "text": "b" * 290})
    assert edit.get_json()["text"].endswith("#iworkforacme") and edit.get_json()["blocked"] is True
    assert [f["rule"] for f in edit.get_json()["findings"]] == ["length_bluesky"]


def test_submit_is_refused_when_screening_blocks_and_names_the_variant(comms):
    author, _ = comms
    created = author.api("POST", "/api/talking-points", JSON | {"variants": [
        {"network": "generic", "text": "All good"}, {"network": "x", "text": "Card 4111 1111 1111 1111"}]})
    tp_id = created.get_json()["id"]
    refused = author.api("POST", f"/api/talking-points/{tp_id}/submit")
    assert refused.status_code == 422
    errors = refused.get_json()["errors"]["json"]
    assert list(errors) == ["variants.1.text"]
    assert "payment_card" in errors["variants.1.text"][0] and "4111 1111 1111 1111" in errors["variants.1.text"][0]
    assert db.session.get(TalkingPoint, tp_id).status == "draft"
    page = author.post(f"/studio/{tp_id}/submit")
    assert page.status_code == 422 and "Payment card numbers" in page.get_data(as_text=True)
    # too long for X in the X variant blocks too
    author.api("PATCH", f"/api/talking-points/{tp_id}", {"variants": [{"network": "x", "text": "x" * 300}]})
    too_long = author.api("POST", f"/api/talking-points/{tp_id}/submit").get_json()
    assert "length_x" in too_long["message"]


@pytest.mark.parametrize(("changes", "field", "problem"), [
    ({"link": "javascript:alert(1)"}, "link", "http"),
    ({"link": "ftp://acme.example/file"}, "link", "http"),
    ({"title": "   "}, "title", "must not be empty"),
    ({"text": "", "text_x": ""}, "text", "must not be empty"),
    ({"text": "a" * 10_001}, "text", "at most 10000"),
    ({"text_x": "b" * 10_001}, "text_x", "at most 10000"),
    ({"hashtags": "#ok #not ok!"}, "hashtags", "not a hashtag"),
    ({"available_from": "2026-12-02T10:00", "available_until": "2026-12-01T10:00"}, "available_until", "after"),
    ({"available_from": "tomorrow"}, "available_from", "not a date"),
    ({"target_everyone": ""}, "targets", "choose the whole organisation"),
])
def test_bad_input_on_the_web_names_the_field_and_keeps_what_was_typed(comms, changes, field, problem):
    author, _ = comms
    form = FORM | changes
    if changes.get("target_everyone") == "":
        form.pop("target_everyone")
    answer = author.post("/studio/", form)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert f'id="{field}-error"' in page and problem in page
    assert 'value="We are hiring"' in page or 'value="   "' in page  # what was typed is shown again
    if form["text"]:
        assert form["text"][:50] in page
    assert db.session.scalars(select(TalkingPoint)).all() == []


@pytest.mark.parametrize(("changes", "field"), [
    ({"link": "javascript:alert(1)"}, "link"),
    ({"variants": []}, "variants"),
    ({"variants": [{"network": "myspace", "text": "hi"}]}, "variants"),
    ({"variants": [{"network": "x", "text": "  "}]}, "variants.0.text"),
    ({"available_from": "2026-12-02T10:00:00+00:00", "available_until": "2026-12-01T10:00:00+00:00"},
     "available_until"),
    ({"available_from": "2026-12-02T10:00:00"}, "available_from"),  # no timezone
    ({"team_ids": [999]}, "team_ids"),
    ({"user_ids": [2**70]}, "user_ids"),
    ({"target_everyone": False}, "targets"),
    ({"text": "z" * 10_001}, "text"),
])
def test_bad_input_over_the_api_is_422_naming_the_field_and_nothing_saved_is_lost(comms, changes, field):
    author, _ = comms
    tp = author.api("POST", "/api/talking-points", JSON).get_json()
    bad_new = author.api("POST", "/api/talking-points", JSON | changes)
    assert bad_new.status_code == 422, bad_new.get_json()
    assert field in bad_new.get_json()["errors"]["json"], bad_new.get_json()
    bad_edit = author.api("PATCH", f"/api/talking-points/{tp['id']}", changes)
    assert bad_edit.status_code == 422 and field in bad_edit.get_json()["errors"]["json"]
    again = author.api("GET", f"/api/talking-points/{tp['id']}").get_json()
    assert again == tp  # the stored talking point is untouched
    assert len(author.api("GET", "/api/talking-points").get_json()) == 1


def test_any_script_is_stored_and_displayed_safely(comms):
    author, _ = comms
    text = "مرحبا 👨‍👩‍👧 e\u0301 <script>alert(1)</script> \u202eevil"
    tp_id = create_web(author, title="שלום <b>world</b>", text=text)
    stored = db.session.get(TalkingPoint, tp_id)
    assert stored.title == "שלום <b>world</b>" and stored.variants[0].text == text.strip()
    page = author.get(f"/studio/{tp_id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "שלום &lt;b&gt;world&lt;/b&gt;" in page and "👨‍👩‍👧" in page


def test_library_full_text_search(comms):
    author, _ = comms
    create_web(author, title="Sustainability report", text="Scope 3 emissions down 18%", topics="esg climate")
    create_web(author, title="Hiring", text="Join the platform team", hashtags="#jobs")
    create_web(author, title="100% remote", text="Work from anywhere")

    def titles(q: str) -> list[str]:
        return sorted(tp["title"] for tp in author.api("GET", f"/api/talking-points?q={q}").get_json())

    assert titles("emissions") == ["Sustainability report"]  # words in the copy
    assert titles("CLIMATE") == ["Sustainability report"]  # topics, case-insensitive
    assert titles("%23jobs") == ["Hiring"]  # hashtags
    assert titles("platform join") == ["Hiring"]  # every word must match
    assert titles("100%25") == ["100% remote"]  # % is a character, not a wildcard
    assert titles("nothing-like-this") == []
    page = author.get("/studio/?q=emissions").get_data(as_text=True)
    assert "Sustainability report" in page and "Hiring</a>" not in page
    bad = author.api("GET", "/api/talking-points?status=lost")
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]["query"]


def test_employees_cannot_use_the_studio(comms, browser_factory, make_user):
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    assert emma.post("/studio/", FORM).status_code == 403
    assert emma.api("POST", "/api/talking-points", JSON).status_code == 403
    assert db.session.scalars(select(TalkingPoint)).all() == []


def test_the_studio_api_is_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/talking-points/{tp_id}/reject", "/api/talking-points/{tp_id}/withdraw",
                 "/api/talking-points/{tp_id}/revisions", "/api/talking-points/{tp_id}/live-posts",
                 "/api/talking-points/{tp_id}/preview", "/api/talking-points/{tp_id}/image",
                 "/api/talking-points/suggestions", "/api/screening/rules/{key}", "/api/screening/check",
                 "/api/policy", "/api/policy/acknowledge", "/api/audit/events", "/api/audit/archive"):
        assert path in paths, path
