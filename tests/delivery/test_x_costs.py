"""X's price, visible: the prices are strict settings, the approval page shows what a talking point will cost on X,
a monthly spend cap holds shares over it until next month (never fails them), and Reach shows the spend."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from advocacy.config import ConfigError, load
from advocacy.delivery import costs, services
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.models_base import utcnow
from tests.conftest import run_jobs, run_worker_process
from tests.delivery.support import approved, employee, posts_by_code


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


# --------------------------------------------------------------------------------------------------------- settings
def test_the_prices_default_to_xs_published_ones_and_parse_strictly():
    config = load({}, {})
    assert config["X_PRICE_PER_POST"] == Decimal("0.015")
    assert config["X_PRICE_PER_POST_WITH_LINK"] == Decimal("0.200")
    assert config["X_MONTHLY_SPEND_CAP"] is None
    set_ = load({}, {"ADVOCACY_X_PRICE_PER_POST_WITH_LINK": "0.25", "ADVOCACY_X_MONTHLY_SPEND_CAP": "100"})
    assert set_["X_PRICE_PER_POST_WITH_LINK"] == Decimal("0.25") and set_["X_MONTHLY_SPEND_CAP"] == Decimal(100)


@pytest.mark.parametrize(("variable", "value"), [
    ("ADVOCACY_X_PRICE_PER_POST", "cheap"), ("ADVOCACY_X_PRICE_PER_POST_WITH_LINK", "-0.2"),
    ("ADVOCACY_X_MONTHLY_SPEND_CAP", "1e999999"), ("ADVOCACY_X_MONTHLY_SPEND_CAP", "0.0000001"),
    ("ADVOCACY_X_PRICE_PER_POST", "NaN"), ("ADVOCACY_X_PRICE_PER_POST", "1,5")])
def test_a_bad_price_stops_the_start_naming_the_variable(variable, value):
    with pytest.raises(ConfigError) as caught:
        load({}, {variable: value})
    assert str(caught.value).startswith(f"{variable}: expected an amount in US dollars")


# ---------------------------------------------------------------------------------------------- the approval page
def in_review(topics: str = "hiring") -> Any:
    from advocacy.content import workflow
    from advocacy.people.models import User
    from advocacy.people.services import create_user
    from tests.conftest import PASSWORD

    author = db.session.scalar(select(User).where(User.email == "author@acme.test")) or \
        create_user("author@acme.test", "Author", PASSWORD, "comms")
    db.session.commit()
    tp = workflow.create_talking_point(author, title="Platform jobs", link="https://acme.test/jobs",
                                      text="Come build the platform.", topics=topics, disclosure="#iworkforacme")
    workflow.submit(tp, author)
    return tp


def test_the_approval_page_shows_the_x_cost_of_auto_share_and_manual_sharing(app, x, make_user, browser_factory):
    for i in range(3):  # X connected and the topic chosen: the fan-out would post for them
        employee(f"fan{i}@acme.test", f"fan{i}_acme", auto_share_topics="hiring culture")
    employee("other@acme.test", "other_acme", auto_share_topics="finance")  # X, another topic: manual only
    employee("hand@acme.test", "hand_acme")  # X, no auto-share: manual only
    employee("nox@acme.test", None, auto_share_topics="hiring")  # no X: costs nothing on X
    tp = in_review()
    make_user("reviewer@acme.test", "comms")
    page = browser_factory("reviewer@acme.test").get(f"/studio/{tp.id}")
    assert page.status_code == 200
    text = text_of(page.get_data(as_text=True))
    assert "Auto-share: X: up to 3 posts × $0.20 = $0.60" in text
    assert "Manual shares: X: up to 5 posts × $0.20 = $1.00 (upper bound: everyone it is aimed at" in text
    assert "X's published prices as read on 2026-08-28" in text

    app.config["X_PRICE_PER_POST_WITH_LINK"] = Decimal("0.25")  # the setting is what the page multiplies by
    text = text_of(browser_factory("reviewer@acme.test").get(f"/studio/{tp.id}").get_data(as_text=True))
    assert "Auto-share: X: up to 3 posts × $0.25 = $0.75" in text


def test_the_auto_share_count_is_the_fan_outs_own_audience(app, x):
    """The number the page shows is what the fan-out places on X once approved."""
    for i in range(4):
        employee(f"fan{i}@acme.test", f"fan{i}_acme", auto_share_topics="hiring", share_hours_start=0,
                 share_hours_end=24)
    employee("late@acme.test", "late_acme", auto_share_topics="finance")
    tp = in_review()
    assert costs.estimate(tp).auto_posts == 4
    from advocacy.content import workflow
    from advocacy.people.services import create_user
    from tests.conftest import PASSWORD

    reviewer = create_user("reviewer@acme.test", "Reviewer", PASSWORD, "comms")
    db.session.commit()
    workflow.approve(tp, reviewer)
    run_jobs(app)  # the fan-out
    placed = db.session.scalars(select(Share).where(Share.talking_point_id == tp.id, Share.network == "x",
                                                    Share.auto.is_(True))).all()
    assert len(placed) == 4


# --------------------------------------------------------------------------------------------------------- the cap
def due_shares(count: int) -> list[int]:
    tp = approved()
    ids = []
    for i in range(count):
        user = employee(f"cap{i}@acme.test", f"cap{i}_acme")
        ids.append(services.create_share(user, tp, "x").id)
    return ids


def first_of_next_month(now: dt.datetime) -> dt.datetime:
    return (now.replace(day=28) + dt.timedelta(days=4)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@pytest.mark.parametrize("threads", [1, 3])
def test_the_monthly_cap_holds_shares_over_it_until_next_month_never_failing_them(app, settings, x, threads):
    settings["X_MONTHLY_SPEND_CAP"] = "0.40"  # two posts with a link, for the worker process
    settings["LOG_LEVEL"] = "INFO"  # its lines are shown if the outcome is wrong
    ids = due_shares(3)

    if threads == 1:
        done = run_worker_process(settings)
    else:
        import subprocess
        import sys

        from tests.conftest import ROOT, settings_env

        done = subprocess.run([sys.executable, "-m", "advocacy.cli", "worker", "--burst", "--threads", str(threads)],
                              env=settings_env(settings), cwd=ROOT, capture_output=True, text=True, timeout=90,
                              check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    db.session.expire_all()
    shares = [db.session.get(Share, i) for i in ids]
    states = sorted(s.status for s in shares)
    assert states == ["published", "published", "scheduled"], \
        f"{[(s.id, s.status, s.last_error) for s in shares]}\n{done.stderr[-6000:]}"
    held = next(s for s in shares if s.status == "scheduled")
    assert held.last_error == "held: X monthly spend cap of $0.40 reached"
    assert held.scheduled_at == first_of_next_month(utcnow())
    assert held.attempts == 0  # not an attempt: nothing reached X
    assert len(x.posts()) == 2 and held.code not in posts_by_code(x.posts())
    assert all(s.price_micros == 200_000 for s in shares if s.status == "published")
    assert costs.spent("x") == Decimal("0.40")


def test_a_price_change_does_not_rewrite_the_months_spend(app, x):
    ids = due_shares(1)
    run_jobs(app)
    app.config["X_PRICE_PER_POST_WITH_LINK"] = Decimal("0.30")
    assert costs.spent("x") == Decimal("0.20")  # the price it went out at
    assert db.session.get(Share, ids[0]).price_micros == 200_000


def test_the_held_share_and_its_reason_show_on_the_share_and_the_operations_page(app, x, make_user, browser_factory):
    app.config["X_MONTHLY_SPEND_CAP"] = Decimal("0.20")
    ids = due_shares(2)
    run_jobs(app)
    db.session.expire_all()
    shares = [db.session.get(Share, i) for i in ids]
    assert sorted(s.status for s in shares) == ["published", "scheduled"], [(s.status, s.last_error) for s in shares]
    held = next(s for s in shares if s.status == "scheduled")
    make_user("ops@acme.test", "admin")
    ops = text_of(browser_factory("ops@acme.test").get("/admin/operations").get_data(as_text=True))
    assert "Spent $0.20 of the $0.20 monthly cap" in ops
    assert "held: X monthly spend cap of $0.20 reached" in ops
    owner = browser_factory(held.user.email)
    page = text_of(owner.get(f"/shares/{held.id}").get_data(as_text=True))
    assert "held: X monthly spend cap of $0.20 reached" in page
    assert "failed" not in page.lower().split("held:")[0][-200:]


# ----------------------------------------------------------------------------------------------------------- reach
def test_reach_shows_x_spend_next_to_emv_overall_and_by_network(app, x, make_user, browser_factory):
    from advocacy.reach.rollup import create_share_stats

    due_shares(3)
    run_jobs(app)
    app.config["X_PRICE_PER_POST_WITH_LINK"] = Decimal("0.50")  # later prices do not change what was spent
    create_share_stats()
    db.session.commit()
    make_user("analyst@acme.test", "analyst")
    reach = browser_factory("analyst@acme.test")
    text = text_of(reach.get("/reach").get_data(as_text=True))
    assert "$0.60 X spend" in text
    by_network = reach.get("/reach?group=network").get_data(as_text=True)
    assert "<th>X spend</th>" in by_network
    row = re.search(r'<tr data-key="x">(.*?)</tr>', by_network, re.S)
    assert row is not None and '<td class="spend">$0.60</td>' in row.group(1)


def test_a_share_that_does_not_post_gives_its_room_under_the_cap_back(app, x):
    app.config["X_MONTHLY_SPEND_CAP"] = Decimal("0.20")  # one post
    x.fault(status=400, count=1, path_prefix="/2/tweets", method="POST")  # the first attempt is refused
    first, second = due_shares(2)
    run_jobs(app)
    db.session.expire_all()
    refused, posted = db.session.get(Share, first), db.session.get(Share, second)
    assert refused.status == "failed" and refused.price_micros is None  # X charged nothing for it
    assert posted.status == "published" and posted.price_micros == 200_000  # the room it left was there
    assert costs.spent("x") == Decimal("0.20")
