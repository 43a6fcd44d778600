"""The employee's journey in a real browser: sign in, accept the policy, opt in, connect X on its own consent page,
see the post previewed with its counter, have my wording screened as I type, share in one tap, watch the status
become posted without reloading, open the post."""

from __future__ import annotations

import re

import requests

from tests.conftest import PASSWORD


def sign_in(page, live: str, email: str) -> None:
    page.goto(f"{live}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def approved_talking_point(make_user, title: str = "We are hiring platform engineers"):
    from advocacy.content import workflow

    author = make_user("author@acme.test", "comms")
    reviewer = make_user("reviewer@acme.test", "comms")
    tp = workflow.create_talking_point(author, title=title, link="https://acme.test/jobs",
                                       text="Come build the platform with us.", hashtags="#hiring",
                                       disclosure="#iworkforacme")
    workflow.submit(tp, author)
    workflow.approve(tp, reviewer)
    return tp


def test_employee_shares_in_one_tap_and_sees_the_post(live, open_page, make_user, policy, sandbox):
    tp = approved_talking_point(make_user)
    make_user("emma@acme.test", "employee", name="Emma Employee")
    browser = open_page()
    page = browser.page
    sign_in(page, live, "emma@acme.test")
    browser.shots("feed-before-opt-in")
    page.get_by_role("link", name="read the policy and opt in").click()
    page.get_by_role("button", name=re.compile("I have read and accept")).click()
    page.get_by_role("button", name="Opt in").click()

    page.get_by_role("button", name="Connect X").click()
    assert page.url.startswith(sandbox["x"])  # the network's own consent page
    page.locator("#username").fill("emma_acme")
    page.get_by_role("button", name="Authorize app").click()
    page.wait_for_url(f"{live}/feed")
    assert "Connected X as @emma_acme" in page.content()

    # the preview is exactly what will post, disclosure included, counted as X counts with the tracked link
    key = f"{tp.id}-x"
    assert page.locator(f"#pv-{key}").inner_text() == "Come build the platform with us. #hiring #iworkforacme"
    counter = page.locator(f"#ct-{key}")
    assert re.fullmatch(r"\d+ / 280", counter.inner_text())
    browser.shots("feed")
    browser.readme("employee-feed", phone=True)

    # my own wording, screened as I type: a blocking finding appears and the share button waits for a fix
    page.get_by_text("Edit the wording").click()
    wording = page.get_by_label("Your wording on X")
    wording.fill("Come build with us, internal only for now!")
    page.locator(f"#fd-{key} .finding.block").filter(has_text="Confidentiality markers").wait_for()
    assert page.get_by_role("button", name="Share on X").is_disabled()
    before = counter.inner_text()
    wording.fill("Come build the platform with us: great people, real problems.")
    page.locator(f"#fd-{key} .finding.block").wait_for(state="detached")
    assert page.get_by_role("button", name="Share on X").is_enabled()
    assert counter.inner_text() != before
    assert "great people, real problems. #hiring #iworkforacme" in page.locator(f"#pv-{key}").inner_text()
    browser.shots("feed-editing")

    page.get_by_role("button", name="Share on X").click()
    status = page.locator("#share-status")
    status.filter(has_text="published").wait_for(timeout=30_000)  # the live region updates itself while posting
    browser.shots("share-published")
    post_url = page.locator("#post-url").get_attribute("href")
    assert post_url.startswith(sandbox["x"])
    page.locator("#post-url").click()
    page.wait_for_url(post_url)
    assert "great people, real problems." in page.content()

    posts = requests.get(f"{sandbox['x']}/_sandbox/posts", timeout=5).json()["posts"]
    assert [p["author_handle"] for p in posts] == ["emma_acme"]

    # the feed shows the share as posted with a link
    page.goto(f"{live}/feed")
    recent = page.locator("#recent")
    assert "posted" in recent.inner_text() and recent.get_by_role("link", name="see the post").count() == 1
    page.goto(f"{live}/preferences")
    browser.shots("auto-share")
    page.goto(f"{live}/reach/me")
    browser.shots("impact")
