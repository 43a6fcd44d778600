"""LinkedIn shares through a real worker: a 429 waits as long as LinkedIn says (midnight only for its daily limits),
an attempt in doubt is recognised before anything is posted again, and the article card carries the link's title."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import inspect

from advocacy.accounts.networks import connector_for
from advocacy.delivery import publishing, services
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.models_base import utcnow
from connectors.linkedin import next_midnight_utc
from tests.conftest import consent, run_jobs
from tests.delivery.support import approved, employee

CALLBACK = "http://advocacy.test/accounts/callback/linkedin"


def again(obj: Any) -> Any:
    """The row of ``obj`` as the database holds it now (jobs run in this process end their own session)."""
    db.session.expire_all()
    found = db.session.get(type(obj), inspect(obj).identity[0])
    assert found is not None
    return found


fresh = again


def connect(user: Any, username: str) -> Any:
    from advocacy.accounts.services import finish_connect

    start = connector_for("linkedin").authorization_url(CALLBACK)
    code = parse_qs(urlsplit(consent(start.url, username)).query)["code"][0]
    return finish_connect(user, "linkedin", code, CALLBACK, start.code_verifier)


class LinkedIn:
    """The LinkedIn sandbox's control API."""

    def __init__(self, url: str) -> None:
        self.url = url

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = requests.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=5)
        assert answer.ok, answer.text
        return answer.json()

    def fault(self, **spec: Any) -> None:
        self.control("POST", "faults", {"method": "POST", "path_prefix": "/rest/posts", **spec})

    def posts(self) -> list[dict[str, Any]]:
        return list(self.control("GET", "posts")["posts"])


@pytest.fixture()
def linkedin(app: Any, sandbox: dict[str, str], policy: Any) -> LinkedIn:
    return LinkedIn(sandbox["linkedin"])


def person(email: str) -> Any:
    user = employee(email)
    connect(user, email.split("@")[0].replace(".", "_"))
    return user


def run_when_due(app: Any, share: Share, deadline: float = 20.0) -> None:
    """Wait (with a deadline) until ``share`` is due again, then run the queued jobs as a worker would."""
    due = fresh(share).scheduled_at
    limit = time.monotonic() + deadline
    while utcnow() < due:
        assert time.monotonic() < limit, f"share {share.id} not due within {deadline} s"
        time.sleep(0.1)
    services.requeue_lost(utcnow() + dt.timedelta(seconds=app.config["DELIVERY_SWEEP_GRACE_SECONDS"] + 1))
    run_jobs(app)


def test_a_429_with_retry_after_reschedules_that_long_not_to_midnight(app: Any, linkedin: LinkedIn) -> None:
    emma = person("emma@acme.test")
    linkedin.fault(status=429, count=1, headers={"Retry-After": "30"})
    share = services.create_share(emma, approved(), "linkedin")
    asked = utcnow()
    run_jobs(app)
    share = fresh(share)
    assert share.status == "scheduled" and "rate limited" in (share.last_error or "")
    assert dt.timedelta(seconds=29) <= share.scheduled_at - asked <= dt.timedelta(seconds=35)
    assert share.scheduled_at < next_midnight_utc() - dt.timedelta(minutes=1) or asked.hour == 23
    later = services.create_share(again(emma), approved(title="Another"), "linkedin")  # the same person waits as long
    run_jobs(app)
    assert fresh(later).status == "scheduled" and fresh(later).attempts == 0
    assert dt.timedelta(seconds=28) <= fresh(later).scheduled_at - asked <= dt.timedelta(seconds=36)
    assert linkedin.posts() == []


def test_a_429_that_says_nothing_waits_a_short_backoff(app: Any, linkedin: LinkedIn) -> None:
    app.config["DELIVERY_RETRY_SECONDS"] = 5.0
    emma = person("emma@acme.test")
    linkedin.fault(status=429, count=1)  # infrastructure protection: no DAY limit named, no Retry-After
    share = services.create_share(emma, approved(), "linkedin")
    asked = utcnow()
    run_jobs(app)
    share = fresh(share)
    assert share.status == "scheduled" and share.scheduled_at - asked <= dt.timedelta(seconds=10)


def test_an_in_doubt_share_hit_by_a_429_is_recognised_before_it_is_posted_again(app: Any, linkedin: LinkedIn) -> None:
    """The post went out but its answer was lost; the retry meets a 429 with Retry-After; the next attempt finds the
    post LinkedIn holds (its 422 names it) and records it: one post, published, never 'failed', never midnight."""
    emma = person("emma@acme.test")
    linkedin.fault(status=504, count=1, after=True)  # stored, answer lost
    linkedin.fault(status=429, count=1, headers={"Retry-After": "2"})
    share = services.create_share(emma, approved(), "linkedin")
    run_jobs(app)
    share = fresh(share)
    assert share.status == "scheduled" and share.in_doubt and share.attempts == 2
    assert share.scheduled_at - utcnow() <= dt.timedelta(seconds=3)
    assert len(linkedin.posts()) == 1
    run_when_due(app, share)
    share = fresh(share)
    (post,) = linkedin.posts()
    assert share.status == "published" and share.post_id == post["id"] and not share.in_doubt
    assert "already held this post" in (share.last_error or "")


def test_an_application_daily_limit_holds_every_linkedin_share_until_midnight(app: Any, linkedin: LinkedIn) -> None:
    linkedin.control("POST", "config", {"app_day_limits": {"POST /rest/posts": 1}})
    emma, noah, ava = person("emma@acme.test"), person("noah@acme.test"), person("ava@acme.test")
    tp = approved()
    first = services.create_share(emma, tp, "linkedin")
    run_jobs(app)
    assert fresh(first).status == "published"
    second = services.create_share(again(noah), again(tp), "linkedin")
    run_jobs(app)
    second = fresh(second)
    assert second.status == "scheduled" and "APPLICATION DAY" in (second.last_error or "")
    assert second.scheduled_at >= next_midnight_utc()
    third = services.create_share(again(ava), again(tp), "linkedin")  # someone else: LinkedIn is not even asked
    run_jobs(app)
    third = fresh(third)
    assert third.status == "scheduled" and third.attempts == 0 and "budget" in (third.last_error or "")
    assert third.scheduled_at >= next_midnight_utc()


def test_a_members_daily_limit_holds_only_that_member(app: Any, linkedin: LinkedIn) -> None:
    linkedin.control("POST", "config", {"member_day_limits": {"POST /rest/posts": 1}})
    emma, noah = person("emma@acme.test"), person("noah@acme.test")
    tp, other = approved(), approved(title="Other")
    services.create_share(emma, tp, "linkedin")
    run_jobs(app)
    held = services.create_share(again(emma), again(other), "linkedin")
    run_jobs(app)
    held = fresh(held)
    assert held.status == "scheduled" and held.scheduled_at >= next_midnight_utc()
    assert "APPLICATION_AND_MEMBER DAY" in (held.last_error or "")
    free = services.create_share(again(noah), again(tp), "linkedin")
    run_jobs(app)
    assert fresh(free).status == "published"


def test_a_503_with_retry_after_is_retried_no_sooner(app: Any, linkedin: LinkedIn) -> None:
    emma = person("emma@acme.test")
    linkedin.fault(status=503, count=1, headers={"Retry-After": "120"})
    share = services.create_share(emma, approved(), "linkedin")
    asked = utcnow()
    run_jobs(app)
    share = fresh(share)
    assert share.status == "scheduled" and share.in_doubt
    assert dt.timedelta(seconds=119) <= share.scheduled_at - asked <= dt.timedelta(seconds=125)


def test_the_article_card_carries_the_links_title_not_the_post(app: Any, linkedin: LinkedIn) -> None:
    from advocacy.content.link_previews import link_title, set_title

    emma = person("emma@acme.test")
    tp = approved(text="Come build the platform with us.\nSecond line.")
    set_title(tp.id, "Platform engineers · Acme careers")
    db.session.commit()
    assert link_title(tp.id) == "Platform engineers · Acme careers"
    share = services.create_share(emma, tp, "linkedin")
    run_jobs(app)
    (post,) = linkedin.posts()
    assert post["body"]["content"]["article"] == {"source": publishing.tracked_url(fresh(share)),
                                                  "title": "Platform engineers · Acme careers"}
