"""The employee's feed: one card per talking point (link card, the copy as it will post, network chips, one Share
button), the new/shared/all tabs, each person's own copy variant, my own wording screened."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from sqlalchemy import func, select

from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.models_base import utcnow
from tests.conftest import run_jobs
from tests.delivery.support import approved, employee

APP_PASSWORD = "emma-2345-abcd-wxyz"


def test_feed_card_previews_each_network_and_shares_on_the_ticked_chips(app, x, browser, sandbox):
    tp_id = approved().id
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    browser.post("/accounts/connect/bluesky", {"handle": "emma.bsky.social", "app_password": APP_PASSWORD})
    page = browser.get("/feed").get_data(as_text=True)
    # exactly as it will post: copy, hashtag, the disclosure line; counted with the tracked link against the limit
    assert page.count("Come build the platform with us. #hiring #iworkforacme") == 2
    assert f'id="ct-{tp_id}-x" data-limit="280">' in page and " / 300</span>" in page
    # one chip per connected network, each pre-selected, and ONE primary button naming them
    for network in ("x", "bluesky"):
        chip = re.search(rf'<input type="checkbox" name="networks" value="{network}" id="share-{tp_id}-{network}"'
                         r"[^>]*>", page)
        assert chip is not None and "checked" in chip.group(0)
    assert page.count('class="share-now"') == 1 and "Share on X, Bluesky</button>" in page
    assert 'href="/static/feed.css"' in page and "net-icon net-x" in page

    # one tap on the card, the X chip untoggled: only Bluesky goes out
    answer = browser.post("/share/all", {"talking_point_id": tp_id, "chips": "1", "networks": ["bluesky"]})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/feed#tp-{tp_id}")
    run_jobs(app)
    assert [(s.network, s.status) for s in db.session.scalars(select(Share))] == [("bluesky", "published")]
    feed = browser.get("/feed").get_data(as_text=True)
    assert "Shared on Bluesky" in feed and 'class="badge published">posted<' in feed
    assert f'id="share-{tp_id}-bluesky"' not in feed and "Share on X</button>" in feed  # the rest stays offered

    browser.post("/share/all", {"talking_point_id": tp_id, "chips": "1", "networks": ["x"]})
    run_jobs(app)
    shares = db.session.scalars(select(Share).order_by(Share.network)).all()
    assert [(s.network, s.status) for s in shares] == [("bluesky", "published"), ("x", "published")]
    feed = browser.get("/feed").get_data(as_text=True)
    assert "Shared on X, Bluesky · <a" in feed and "view posts" in feed  # where it went, with live status
    assert feed.count("view post<") == 2 and shares[1].post_url in feed
    assert 'class="share-now"' not in feed and 'name="networks"' not in feed  # nothing would post it twice


def test_share_on_chips_refuses_none_ticked_or_a_network_not_connected(app, x, browser):
    tp_id = approved().id
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    none = browser.post("/share/all", {"talking_point_id": tp_id, "chips": "1"})
    assert none.status_code == 302
    assert "networks is empty: tick at least one network" in browser.get("/feed").get_data(as_text=True)
    other = browser.post("/share/all", {"talking_point_id": tp_id, "chips": "1", "networks": ["x", "mastodon"]})
    assert other.status_code == 302
    assert "networks mastodon is not connected" in browser.get("/feed").get_data(as_text=True)
    assert db.session.scalar(select(func.count(Share.id))) == 0  # nothing stored, not even the X share


def test_feed_tabs_new_shared_all_filter_on_the_server(app, x, browser):
    first, second = approved(title="Hiring engineers").id, approved(title="Our new office").id
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    browser.post("/share", {"talking_point_id": first, "network": "x", "when": "now"})

    def titles(show: str | None) -> list[str]:
        page = browser.get("/feed" + (f"?show={show}" if show else "")).get_data(as_text=True)
        return re.findall(r'<h2 id="tp-\d+" dir="auto">([^<]+)</h2>', page)

    assert sorted(titles(None)) == sorted(titles("all")) == ["Hiring engineers", "Our new office"]
    assert titles("new") == ["Our new office"]
    assert titles("shared") == ["Hiring engineers"]
    assert titles("nonsense") == titles("all")  # an unknown filter shows everything
    page = browser.get("/feed?show=shared").get_data(as_text=True)
    current = re.search(
        r'<a href="/feed\?show=(\w+)" data-tab="\w+" aria-current="page">[^<]*<span class="count">(\d+)', page)
    assert current is not None and current.groups() == ("shared", "1")
    assert "Nothing new for you" not in browser.get("/feed?show=new").get_data(as_text=True)
    browser.post("/share", {"talking_point_id": second, "network": "x", "when": "now"})
    assert "Nothing new for you" in browser.get("/feed?show=new").get_data(as_text=True)


def test_chips_skip_a_network_whose_copy_screening_blocks(app, x, browser):
    tp = approved()
    tp.variants[0].text = "This is CONFIDENTIAL, internal only."  # as if screening had changed since approval
    db.session.commit()
    tp_id = tp.id
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    page = browser.get("/feed").get_data(as_text=True)
    chip = re.search(rf'<input type="checkbox" name="networks" value="x" id="share-{tp_id}-x"[^>]*>', page)
    assert chip is not None and "checked" not in chip.group(0) and "disabled" in chip.group(0)
    assert re.search(r'class="share-now" id="share-\d+" disabled', page)


VARIANTS = [{"network": "x", "text": "Variant one."}, {"network": "x", "text": "Variant two."},
            {"network": "x", "text": "Variant three."}, {"network": "generic", "text": "Generic copy."}]


def test_copy_variants_are_spread_evenly_and_stable_per_person(app):
    from advocacy.content.composing import copy_for_person
    from advocacy.delivery.fanout import Placement, rotate
    from advocacy.people.models import User

    tp = approved(text=None, variants=VARIANTS)
    db.session.add_all(User(email=f"p{i}@acme.test", name=f"P{i}", password_hash="x") for i in range(300))
    db.session.commit()
    people = db.session.scalars(select(User.id).where(User.email.like("p%@acme.test"))).all()
    assert len(people) == 300
    counts = Counter(copy_for_person(tp, "x", uid) for uid in people)
    assert set(counts) == {"Variant one.", "Variant two.", "Variant three."}
    assert all(90 <= n <= 110 for n in counts.values()), counts
    assert all(copy_for_person(tp, "x", uid) == copy_for_person(tp, "x", uid) for uid in people[:30])
    assert {copy_for_person(tp, "bluesky", uid) for uid in people} == {"Generic copy."}  # no own variant there
    # auto-share's fan-out gives each person the same variant as their feed
    now = utcnow()
    placements = [Placement(uid, 1, "x", now, 0) for uid in people[:12]]
    texts = rotate(tp, placements)
    assert all(texts[i].startswith(copy_for_person(tp, "x", p.user_id)) for i, p in enumerate(placements))


def test_each_person_sees_and_shares_their_own_variant(app, x, browser_factory):
    tp_id = approved(text=None, variants=VARIANTS).id
    people = [(p.id, p.email) for p in (employee(f"e{i}@acme.test", f"e{i}_acme") for i in range(3))]
    seen = {}
    for person_id, email in people:
        browser = browser_factory(email)
        pages = [browser.get("/feed").get_data(as_text=True) for _ in range(2)]
        shown = [re.search(rf'id="pv-{tp_id}-x" dir="auto">([^<]+)<', p).group(1) for p in pages]
        assert shown[0] == shown[1]  # the same variant on every load
        wording = re.search(rf'<textarea id="tx-{tp_id}-x"[^>]*>([^<]*)</textarea>', pages[0], re.S)
        assert wording is not None and shown[0].startswith(wording.group(1))  # "Edit wording" starts from it too
        seen[person_id] = shown[0]
        assert browser.post("/share/all", {"talking_point_id": tp_id, "chips": "1", "networks": ["x"]}
                            ).status_code == 302
    assert len(set(seen.values())) == 3  # three consecutive people: the three variants
    for share in db.session.scalars(select(Share)):
        assert share.text == seen[share.user_id]  # the share posts the variant the feed showed


def test_link_card_on_the_feed_with_its_image_allowed_by_the_page_csp(app, x, browser):
    from advocacy.content.link_previews import LinkPreview

    tp_id = approved().id
    card = db.session.scalar(select(LinkPreview).where(LinkPreview.talking_point_id == tp_id))  # saved with the link
    card.title, card.description = "Platform engineers wanted", "Join the platform team."
    card.site_name = "Acme Careers"
    card.image_url, card.fetched_at = "https://cdn.acme.test/og/jobs.png", utcnow()
    db.session.commit()
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    answer = browser.get("/feed")
    page = answer.get_data(as_text=True)
    assert "Acme Careers" in page and "Platform engineers wanted" in page and "Join the platform team." in page
    assert 'src="https://cdn.acme.test/og/jobs.png"' in page
    assert "img-src 'self' data: https://cdn.acme.test;" in answer.headers["Content-Security-Policy"]
    assert "img-src 'self' data:;" in browser.get("/shares").headers["Content-Security-Policy"]  # only here


def test_my_wording_is_screened_and_a_refusal_keeps_what_i_typed(app, x, browser):
    tp = approved()
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    typed = "Join us! This is CONFIDENTIAL, internal only."
    preview = browser.api("POST", f"/api/talking-points/{tp.id}/preview", {"network": "x", "text": typed})
    assert preview.status_code == 200 and preview.get_json()["blocked"] is True

    refused = browser.post("/share", {"talking_point_id": tp.id, "network": "x", "text": typed, "when": "now"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Your wording: screening blocked it" in page and typed in page and 'aria-invalid="true"' in page
    assert db.session.scalar(select(func.count(Share.id))) == 0  # nothing stored

    ok = browser.post("/share", {"talking_point_id": tp.id, "network": "x", "text": "Great team, great work.",
                                 "when": "now"})
    assert ok.status_code == 302
    share = db.session.scalars(select(Share)).one()
    assert share.text == "Great team, great work. #hiring #iworkforacme"


def test_schedule_without_a_time_is_refused_naming_the_field(app, x, browser):
    tp = approved()
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    answer = browser.post("/share", {"talking_point_id": tp.id, "network": "x", "scheduled_at": "", "when": "later"})
    assert answer.status_code == 302
    assert "scheduled_at is empty: choose a date and time" in browser.get("/feed").get_data(as_text=True)
    assert db.session.scalar(select(func.count(Share.id))) == 0


def test_share_now_ignores_a_half_filled_schedule_box(app: Any, x: Any, browser: Any) -> None:
    tp = approved()
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    answer = browser.post("/share", {"talking_point_id": tp.id, "network": "x", "scheduled_at": "2099-01-01T09:00",
                                     "when": "now"})
    assert answer.status_code == 302
    assert db.session.scalars(select(Share)).one().status == "queued"


def test_a_new_policy_version_points_the_feed_at_the_policy_not_at_reconnecting(app, x, browser):
    from advocacy.people.models import User
    from advocacy.people.services import publish_policy

    tp_id = approved().id
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    browser.post("/share", {"talking_point_id": tp_id, "network": "x", "when": "later",
                            "scheduled_at": "2099-01-01T09:00"})
    admin = User(email="admin@acme.test", name="Admin", password_hash="x", role="admin")
    db.session.add(admin)
    db.session.commit()
    publish_policy(admin, "Policy v2", "# Be kinder")
    db.session.commit()
    assert db.session.scalars(select(Share)).one().status == "paused"
    feed = browser.get("/feed").get_data(as_text=True)
    banner = re.search(r'<p class="card notice" id="policy-banner">.*?</p>', feed, re.S)
    assert banner is not None and '<a href="/policy">read and acknowledge the policy</a>' in banner.group(0)
    card = re.search(r'<section class="network shared" data-network="x".*?</section>', feed, re.S)
    assert card is not None and 'class="badge paused">paused<' in card.group(0)
    assert '<a href="/policy">Read the policy</a>' in card.group(0) and "Reconnect" not in card.group(0)
