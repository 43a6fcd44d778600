"""The comms journey in a real browser: compose with per-network previews, see a screening finding as you type,
submit; a second person approves from the review queue and watches the auto-share fan-out progress."""

from __future__ import annotations

from sqlalchemy import select

from advocacy.delivery.models import Share
from advocacy.extensions import db
from tests.delivery.support import employee
from tests.e2e.test_employee_journey import sign_in


def test_compose_screen_submit_then_a_colleague_approves_and_it_fans_out(live, open_page, make_user, policy,
                                                                       sandbox):
    make_user("carl@acme.test", "comms", name="Carl Comms")
    make_user("rita@acme.test", "comms", name="Rita Reviewer")
    employee("emma@acme.test", "emma_acme", auto_share_topics="hiring")  # auto-shares #hiring, X connected

    author = open_page()
    page = author.page
    sign_in(page, live, "carl@acme.test")
    page.wait_for_url(f"{live}/studio/")
    page.get_by_label("Title", exact=True).fill("We are hiring platform engineers")
    page.get_by_label("Link", exact=True).fill("https://acme.test/jobs")
    page.get_by_label("Hashtags").fill("#hiring")
    page.get_by_label("Disclosure line").fill("#iworkforacme")
    page.get_by_label("Topic tags").fill("hiring")
    copy = page.get_by_label("Generic (suggested copy)")
    copy.fill("Come build the platform with us. Internal only: salaries are great.")
    previews = page.locator("#draft-previews")
    finding = previews.locator('[data-network="x"] .finding.block', has_text="Confidentiality markers")
    finding.wait_for()  # screening finds it while typing, before anything is saved
    assert previews.locator('[data-network="x"] .counter').inner_text().endswith("/ 280")
    assert previews.locator('[data-network="linkedin"] .preview').inner_text().endswith("#hiring #iworkforacme")
    reach = page.locator("#audience-count")
    page.get_by_label("The whole organisation").uncheck()
    page.get_by_role("combobox", name="People").fill("emma")  # the type-ahead people picker
    page.locator("#people-options").get_by_role("option", name="Emma").wait_for()
    page.keyboard.press("Enter")
    reach.filter(has_text="Reaches 1 person.").wait_for()  # the targeting picker counts who it reaches
    page.get_by_label("The whole organisation").check()
    reach.filter(has_text="Reaches 3 people.").wait_for()
    author.shots("studio-finding")
    author.page.evaluate("document.getElementById('new-h').scrollIntoView()")
    author.readme("comms-studio")

    copy.fill("Come build the platform with us: great people, real problems.")
    finding.wait_for(state="detached")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("Draft saved.").wait_for()
    page.get_by_role("button", name="Submit for review").click()
    page.get_by_text("Submitted for review.").wait_for()
    assert page.get_by_role("button", name="Approve").is_disabled()  # four eyes: not my own

    reviewer = open_page()
    page = reviewer.page
    sign_in(page, live, "rita@acme.test")
    queue = page.locator("#review-queue")
    queue.get_by_role("link", name="We are hiring platform engineers").click()
    reviewer.shots("review")
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("Approved: employees can share it now.").wait_for()
    fanout = page.locator("#fanout-status")
    fanout.filter(has_text="done").wait_for(timeout=30_000)  # the progress region refreshes itself
    assert "1 of 1 people placed" in page.locator("#fanout").inner_text()
    assert page.locator("#fanout-progress").get_attribute("value") == "1"
    reviewer.shots("fanout-done")

    share = db.session.scalars(select(Share)).one()
    assert (share.user.email, share.network, share.auto) == ("emma@acme.test", "x", True)
