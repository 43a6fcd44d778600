"""The employee's journey in a real browser: sign in, accept the policy, opt in, connect X on its own consent page,
see each talking point as one compact card (the copy as it will post, with its counter, my networks as chips, one
Share button), have my wording screened as I type, share, watch the status become posted without reloading, open
the post, and find the card saying where it went with no button that would post it twice; the tabs filter."""

from __future__ import annotations

import re

import requests
from playwright.sync_api import expect

from tests.conftest import PASSWORD


def sign_in(page, live: str, email: str) -> None:
    page.goto(f"{live}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def approved_talking_point(make_user, title: str = "We are hiring platform engineers"):
    from sqlalchemy import select

    from advocacy.content import workflow
    from advocacy.extensions import db
    from advocacy.people.models import User

    def staff(email: str):
        return db.session.scalar(select(User).where(User.email == email)) or make_user(email, "comms")

    author, reviewer = staff("author@acme.test"), staff("reviewer@acme.test")
    tp = workflow.create_talking_point(author, title=title, link="https://acme.test/jobs",
                                       text="Come build the platform with us.", hashtags="#hiring",
                                       disclosure="#iworkforacme")
    workflow.submit(tp, author)
    workflow.approve(tp, reviewer)
    return tp


def link_card(tp_id: int, site: str, title: str, description: str) -> None:
    """The link's preview card as the background fetch would have stored it (acme.test is not on the internet)."""
    from sqlalchemy import select

    from advocacy.content.link_previews import LinkPreview
    from advocacy.extensions import db
    from advocacy.models_base import utcnow

    card = db.session.scalar(select(LinkPreview).where(LinkPreview.talking_point_id == tp_id))
    card.site_name, card.title, card.description, card.error, card.fetched_at = site, title, description, None, utcnow()
    db.session.commit()


def card_fits(page, tp_id: int) -> dict:
    """The card's height and where its Share button sits, against the viewport."""
    return page.evaluate("""(id) => {
      const card = document.querySelector(`[data-talking-point="${id}"]`).getBoundingClientRect();
      const button = document.querySelector(`[data-talking-point="${id}"] button.share-now`);
      const b = button ? button.getBoundingClientRect() : null;
      return {card: card.height, viewport: window.innerHeight, buttonBottom: b ? b.bottom + window.scrollY : null};
    }""", tp_id)


def test_employee_shares_in_one_tap_and_sees_the_post(live, open_page, make_user, policy, sandbox):
    tp = approved_talking_point(make_user)
    other = approved_talking_point(make_user, title="Our new office opens in Lyon")
    link_card(tp.id, "Acme Careers", "Platform engineers (all levels)",
              "Build the platform that runs Acme: Kubernetes, Postgres, and a team that writes things down.")
    link_card(other.id, "Acme Newsroom", "Acme opens its Lyon office",
              "Forty engineers by summer, a ten-minute walk from Part-Dieu station.")
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

    # one card per talking point: the link's card, the copy exactly as it will post, counted as X counts
    key = f"{tp.id}-x"
    card = page.locator(f'[data-talking-point="{tp.id}"]')
    assert "Platform engineers (all levels)" in card.locator("[data-link-card]").inner_text()
    assert page.locator(f"#pv-{key}").inner_text() == "Come build the platform with us. #hiring #iworkforacme"
    counter = page.locator(f"#ct-{key}")
    assert re.fullmatch(r"\d+ / 280", counter.inner_text())
    chip = card.get_by_role("checkbox", name="X")
    assert chip.is_checked()  # the connected network, pre-selected
    share = card.get_by_role("button", name="Share on X", exact=True)
    assert card.locator("button.share-now").count() == 1  # one primary action
    # at 375 px the first card's Share button is on the first screen; at 1280 px a card fits in one screen
    first = page.locator("[data-talking-point]").first.get_attribute("data-talking-point")
    fit = card_fits(page, int(first))
    assert fit["buttonBottom"] is not None and fit["buttonBottom"] <= fit["viewport"], fit
    page.set_viewport_size({"width": 1280, "height": 900})
    for tp_id in (tp.id, other.id):
        fit = card_fits(page, tp_id)
        assert fit["card"] <= fit["viewport"], fit
    page.set_viewport_size({"width": 375, "height": 812})
    browser.shots("feed")
    browser.readme("employee-feed", phone=True)

    # one tap on the chip deselects X: nothing chosen, the Share button waits
    chip.uncheck()
    assert card.locator("button.share-now").is_disabled()
    chip.check()
    assert share.is_enabled()

    # my own wording, screened as I type: a blocking finding appears and its share button waits for a fix
    card.get_by_text("Edit wording").click()
    wording = card.get_by_label("Your wording on X")
    wording.fill("Come build with us, internal only for now!")
    page.locator(f"#fd-{key} .finding.block").filter(has_text="Confidentiality markers").wait_for()
    mine = card.get_by_role("button", name="Share my wording on X")
    assert mine.is_disabled()
    assert card.locator("button.share-now").is_hidden()  # one share button at a time: the one for my words
    before = counter.inner_text()
    wording.fill("Come build the platform with us: great people, real problems.")
    page.locator(f"#fd-{key} .finding.block").wait_for(state="detached")
    assert mine.is_enabled()
    assert counter.inner_text() != before
    assert "great people, real problems. #hiring #iworkforacme" in page.locator(f"#pv-{key}").inner_text()
    browser.shots("feed-editing")

    mine.click()
    status = page.locator("#share-status")
    status.filter(has_text="posted").wait_for(timeout=30_000)  # the live region updates itself while posting
    browser.shots("share-published")
    post_url = page.locator("#post-url").get_attribute("href")
    assert post_url.startswith(sandbox["x"])
    page.locator("#post-url").click()
    page.wait_for_url(post_url)
    assert "great people, real problems." in page.content()

    # the other talking point, shared in one tap with the primary button
    page.goto(f"{live}/feed")
    second = page.locator(f'[data-talking-point="{other.id}"]')
    second.get_by_role("button", name="Share on X", exact=True).click()
    page.wait_for_url(re.compile(r"/feed#tp-\d+$"))
    second.locator('.network.shared[data-network="x"] .badge.published').wait_for(timeout=30_000)  # live status

    posts = requests.get(f"{sandbox['x']}/_sandbox/posts", timeout=5).json()["posts"]
    assert [p["author_handle"] for p in posts] == ["emma_acme", "emma_acme"]

    # after sharing: the card says where it went, links the post, and offers no button that would post it again
    page.goto(f"{live}/feed")
    for tp_id in (tp.id, other.id):
        done = page.locator(f'[data-talking-point="{tp_id}"]')
        assert "Shared on X" in done.inner_text() and "posted" in done.inner_text()
        assert done.get_by_role("link", name="view post").count() == 1
        assert done.locator("button.share-now").count() == 0 and done.get_by_role("checkbox").count() == 0
    browser.shots("feed-shared")
    page.get_by_role("link", name=re.compile("^New for me")).click()
    page.wait_for_url(re.compile(r"[?&]show=new"))  # the click only starts the navigation: wait for the new page
    expect(page.get_by_text("Nothing new for you")).to_be_visible()
    assert page.locator("[data-talking-point]").count() == 0
    page.get_by_role("link", name=re.compile("^Shared")).click()
    page.wait_for_url(re.compile(r"[?&]show=shared"))
    expect(page.locator("[data-talking-point]")).to_have_count(2)
    page.goto(f"{live}/preferences")
    browser.shots("auto-share")
    page.goto(f"{live}/reach/me")
    browser.shots("impact")
