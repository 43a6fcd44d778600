"""The whole loop through the web routes: write, approve, opt in, connect, share, post, click, report."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests
from sqlalchemy import select

from advocacy.delivery.models import Share
from advocacy.extensions import db
from tests.conftest import connect_x, run_jobs, run_worker_process


def write_and_approve(browser_factory, make_user) -> int:
    make_user("author@acme.test", "comms")
    make_user("reviewer@acme.test", "comms")
    author = browser_factory("author@acme.test")
    created = author.post("/studio/", {"title": "We are hiring", "link": "https://acme.test/jobs?team=platform",
                                       "text": "Come build the platform with us.", "hashtags": "#hiring",
                                       "disclosure": "#iworkforacme"})
    assert created.status_code == 302
    tp_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
    assert author.post(f"/studio/{tp_id}/submit").status_code == 302
    own = author.post(f"/studio/{tp_id}/approve")
    assert own.status_code == 403 and "four eyes" in own.get_data(as_text=True)
    reviewer = browser_factory("reviewer@acme.test")
    approved = reviewer.post(f"/studio/{tp_id}/approve")
    assert approved.status_code == 302, approved.get_data(as_text=True)
    assert "approved" in reviewer.get(f"/studio/{tp_id}").get_data(as_text=True)
    return tp_id


def opt_in(browser, version: int = 1) -> None:
    assert browser.post("/policy/acknowledge", {"version": version}).status_code == 302
    assert browser.post("/opt-in").status_code == 302


def test_the_whole_loop_with_a_real_worker_process(app, client, settings, sandbox, browser_factory, make_user, policy):
    tp_id = write_and_approve(browser_factory, make_user)
    make_user("emma@acme.test", "employee")
    emma = browser_factory("emma@acme.test")
    assert "read the policy and opt in" in emma.get("/feed").get_data(as_text=True)
    opt_in(emma)

    connected = connect_x(emma, "emma_acme")
    assert connected.status_code == 302 and connected.headers["Location"].endswith("/feed")
    feed = emma.get("/feed").get_data(as_text=True)
    assert "Share on X" in feed and "#iworkforacme" in feed

    shared = emma.post("/share", {"talking_point_id": tp_id, "network": "x"})
    assert shared.status_code == 302
    share_page = shared.headers["Location"]
    assert "queued" in emma.get(share_page).get_data(as_text=True)

    worker = run_worker_process(settings)  # a real `advocacy worker --burst` process
    assert worker.returncode == 0, worker.stderr[-2000:]

    page = emma.get(share_page).get_data(as_text=True)
    assert "published" in page and 'id="post-url"' in page
    share = db.session.scalars(select(Share)).one()
    assert share.post_url and share.post_url.startswith(sandbox["x"])
    post_page = requests.get(share.post_url, timeout=5)  # the post URL opens the post
    assert post_page.status_code == 200 and "Come build the platform with us." in post_page.text

    posts = requests.get(f"{sandbox['x']}/_sandbox/posts", timeout=5).json()
    posts = posts.get("posts", posts) if isinstance(posts, dict) else posts
    assert len(posts) == 1
    assert f"http://advocacy.test/r/{share.code}" in posts[0]["text"]
    assert "#iworkforacme" in posts[0]["text"]

    visitor = client
    click = visitor.get(f"/r/{share.code}", headers={"User-Agent": "Mozilla/5.0 (iPhone) Safari/605"})
    assert click.status_code == 302
    target = urlsplit(click.headers["Location"])
    assert target.netloc == "acme.test" and target.path == "/jobs"
    query = parse_qs(target.query)
    assert query["team"] == ["platform"] and query["utm_source"] == ["x"] and query["utm_medium"] == ["advocacy"]
    assert query["utm_content"] == [f"share-{share.id}"]
    preview = visitor.get(f"/r/{share.code}", headers={"User-Agent": "Twitterbot/1.0"})
    assert preview.status_code == 302  # bots are redirected too, but not counted as clicks

    from advocacy.reach.rollup import rollup

    rollup()  # the background job that counts clicks per share per day (every minute in production)
    make_user("mia@acme.test", "analyst")
    analyst = browser_factory("mia@acme.test")
    report = analyst.get("/reach").get_data(as_text=True)
    row = report.split(f'data-talking-point="{tp_id}"')[1].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in row.split("<td")[1:]]
    # shares (published), clicks, unique clicks, link-preview bots
    assert [c.split(">", 1)[1] for c in cells[1:5]] == ["1", "1", "1", "1"]


def test_a_network_error_ends_as_failed_with_the_networks_message(app, sandbox, browser_factory, make_user, policy):
    tp_id = write_and_approve(browser_factory, make_user)
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    opt_in(emma)
    connect_x(emma, "emma_acme")
    requests.post(f"{sandbox['x']}/_sandbox/faults", json={"status": 500, "count": 10, "path_prefix": "/2/tweets"},
                  timeout=5).raise_for_status()
    share_page = emma.post("/share", {"talking_point_id": tp_id, "network": "x"}).headers["Location"]
    run_jobs(app)
    share = db.session.scalars(select(Share)).one()
    db.session.refresh(share)
    assert share.status == "failed" and share.attempts == 3
    assert "500" in share.last_error
    page = emma.get(share_page).get_data(as_text=True)
    assert "It did not post" in page and "500" in page and "published" not in page
    posts = requests.get(f"{sandbox['x']}/_sandbox/posts", timeout=5).json()
    posts = posts.get("posts", posts) if isinstance(posts, dict) else posts
    assert posts == []
