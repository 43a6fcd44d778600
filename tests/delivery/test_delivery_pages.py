"""The operations page (a failed share's real error, a working retry) and employees' auto-share preferences."""

from __future__ import annotations

from sqlalchemy import select

from advocacy.delivery import services
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.people.models import User
from tests.conftest import run_jobs
from tests.delivery.support import approved, employee, posts_by_code


def test_the_operations_page_shows_the_real_error_and_retry_posts_once(app, x, make_user, browser_factory):
    user = employee("emma@acme.test", "emma_acme")
    x.fault(status=400, count=1, path_prefix="/2/tweets", method="POST",
            body='{"title":"Invalid Request","detail":"Your media IDs are invalid.","type":"about:blank"}',
            content_type="application/json")
    share_id = services.create_share(user, approved(), "x").id
    run_jobs(app)
    make_user("ops@acme.test", "admin")
    admin = browser_factory("ops@acme.test")
    page = admin.get("/admin/operations").get_data(as_text=True)
    row = page.split(f'data-share="{share_id}"')[1].split("</tr>")[0]
    assert "failed" in row and "Your media IDs are invalid." in row and "HTTP 400" in row
    assert 'data-queue="publish"' in page and "No worker is running." in page

    answer = admin.post(f"/admin/operations/shares/{share_id}/retry")
    assert answer.status_code == 302
    assert f"Share {share_id} is queued again." in admin.get("/admin/operations").get_data(as_text=True)
    run_jobs(app)
    db.session.expire_all()
    share = db.session.get(Share, share_id)
    assert share.status == "published"
    assert posts_by_code(x.posts()) == {share.code: 1}
    again = admin.post(f"/admin/operations/shares/{share_id}/retry")  # a published share is not retried
    assert again.status_code == 302
    assert "only a failed or paused share can be retried" in admin.get("/admin/operations").get_data(as_text=True)


def test_employees_cannot_see_operations(app, x, browser_factory):
    employee("emma@acme.test", "emma_acme")
    emma = browser_factory("emma@acme.test")
    assert emma.get("/admin/operations").status_code == 403
    assert emma.post("/admin/operations/shares/1/retry").status_code == 403


def test_preferences_are_stored_and_bad_input_names_the_field(app, x, browser_factory):
    employee("emma@acme.test", "emma_acme")
    emma = browser_factory("emma@acme.test")
    good = emma.post("/preferences", {"auto_share_topics": "Hiring, #engineering", "share_hours_start": "8",
                                      "share_hours_end": "17", "daily_share_cap": "2", "digest": "daily"})
    assert good.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "emma@acme.test"))
    db.session.refresh(user)
    assert (user.auto_share_topics, user.share_hours_start, user.share_hours_end, user.daily_share_cap,
            user.digest) == ("hiring engineering", 8, 17, 2, "daily")
    for field, value, words in (("share_hours_end", "7", "later than"), ("share_hours_start", "25", "0 to 23"),
                                ("daily_share_cap", "lots", "whole number"), ("auto_share_topics", "a/b", "topic"),
                                ("digest", "hourly", "daily, weekly, off")):
        data = {"auto_share_topics": "hiring", "share_hours_start": "8", "share_hours_end": "17",
                "daily_share_cap": "2", "digest": "daily", field: value}
        bad = emma.post("/preferences", data)
        page = bad.get_data(as_text=True)
        assert bad.status_code == 422 and f"{field}:" in page and words in page, (field, page[:300])
        assert f'value="{value}"' in page or field == "digest"  # what was typed stays in the form
    db.session.refresh(user)
    assert user.share_hours_start == 8 and user.daily_share_cap == 2  # nothing stored was lost
