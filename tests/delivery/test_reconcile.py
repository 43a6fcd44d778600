"""Never twice, never falsely failed: an attempt whose answer was lost is found on the network, through real workers.

X gives every URL of a post back as a t.co link (the tracked link only in ``entities.urls[].expanded_url``): the
retry's look-up must find the post there, or it posts again, meets X's 403 duplicate and records a live post as
failed.

Mastodon honours an ``Idempotency-Key`` for about an hour; a retry after that (a long outage, a worker dead past its
lease) must find the status by the share's tracked link instead of posting again. LinkedIn refuses a repeat with a
422 naming the post it holds; the share records that post, so its figures can be fetched.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import inspect, select

from advocacy.accounts.networks import MastodonServers, connector_for
from advocacy.delivery import publishing, services
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.models_base import utcnow
from connectors.base import FindsPosts
from tests.conftest import consent, run_jobs
from tests.delivery.support import Sandbox, approved, employee, posts_by_code

MASTODON_CALLBACK = "http://advocacy.test/accounts/callback/mastodon"
LINKEDIN_CALLBACK = "http://advocacy.test/accounts/callback/linkedin"


def fresh(share: Share) -> Share:
    """The share as the database holds it now (jobs run in this process end their own session)."""
    db.session.expire_all()
    found = db.session.get(Share, inspect(share).identity[0])
    assert found is not None
    return found


def code_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["code"][0]


def connect_mastodon(user: Any, server: str, username: str) -> Any:
    """Register on the server, consent there as ``username`` and store the account, as the connect routes do."""
    from advocacy.accounts.services import finish_connect_mastodon, mastodon_authorization

    server_url, start = mastodon_authorization(server, MASTODON_CALLBACK)
    code = code_of(consent(start.url, username))
    return finish_connect_mastodon(user, server_url, code, MASTODON_CALLBACK, start.code_verifier)


def connect_linkedin(user: Any, username: str) -> Any:
    from advocacy.accounts.services import finish_connect

    start = connector_for("linkedin").authorization_url(LINKEDIN_CALLBACK)
    code = code_of(consent(start.url, username))
    return finish_connect(user, "linkedin", code, LINKEDIN_CALLBACK, start.code_verifier)


def control(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    answer = requests.request(method, f"{url}/_sandbox/{path}", json=body, timeout=5)
    assert answer.ok, answer.text
    return answer.json()


@pytest.fixture()
def mastodon(app: Any, sandbox: dict[str, str], policy: Any) -> str:
    """The Mastodon sandbox's address (reset by ``app``), with a policy people acknowledge."""
    return sandbox["mastodon"]


@pytest.fixture()
def linkedin_app(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings asking LinkedIn for post analytics too, so the fetched figures show which post was asked about."""
    settings["LINKEDIN_SCOPES"] = "openid profile w_member_social r_member_postAnalytics"
    return settings


def test_a_lost_x_answer_is_found_behind_its_t_co_link_and_published_not_failed(
        app: Any, sandbox: dict[str, str], policy: Any) -> None:
    x = Sandbox(sandbox["x"])
    user = employee("emma@acme.test", handle="emma")
    x.fault(status=503, after=True, count=1, method="POST", path_prefix="/2/tweets")  # posted, the answer lost
    share = services.create_share(user, approved(), "x")
    run_jobs(app)  # the retry looks first, over HTTP, and finds the post by its link's expanded_url

    share = fresh(share)
    (post,) = x.posts()
    assert publishing.tracked_url(share) in post["text"]
    assert posts_by_code([post]) == {share.code: 1}
    assert share.status == "published" and share.attempts == 2, share.last_error
    assert "found on the network" in (share.last_error or "")
    assert share.post_id == post["id"] and share.post_url == f"{sandbox['x']}/i/web/status/{post['id']}"
    posts_made = [r for r in x.requests() if r["method"] == "POST" and r["path"] == "/2/tweets"]
    assert [r["status"] for r in posts_made] == [503]  # one post call: no repeat refused as a duplicate


def test_the_app_wraps_mastodon_servers_as_a_connector_that_finds_posts(app: Any) -> None:
    connector = connector_for("mastodon")
    assert isinstance(connector, MastodonServers) and isinstance(connector, FindsPosts)


def test_a_lost_mastodon_answer_retried_after_the_key_expired_is_found_not_posted_twice(app: Any,
                                                                                          mastodon: str) -> None:
    user = employee("emma@acme.test")
    account = connect_mastodon(user, mastodon, "emma")
    assert "read:statuses" in account.scope.split()  # the connect flow asks for it: the engine may look
    control(mastodon, "POST", "config", {"idempotency_ttl": 0})  # the server forgets keys at once: an hour has passed
    control(mastodon, "POST", "faults", {"status": 503, "after": True, "count": 1, "method": "POST",
                                         "path_prefix": "/api/v1/statuses"})  # posted, but the answer is lost
    share = services.create_share(user, approved(), "mastodon")
    run_jobs(app)  # the first attempt's answer is lost; the retry looks before it posts

    share = fresh(share)
    (post,) = control(mastodon, "GET", "posts")["posts"]
    assert posts_by_code([post]) == {share.code: 1}
    assert share.status == "published" and share.attempts == 2
    assert "found on the network" in (share.last_error or "")
    assert share.post_id == post["id"] and share.post_url == f"{mastodon}/@emma/{post['id']}"


def test_a_mastodon_share_left_by_a_dead_worker_past_the_key_is_found_not_posted_twice(app: Any,
                                                                                         mastodon: str) -> None:
    user = employee("emma@acme.test")
    account = connect_mastodon(user, mastodon, "emma")
    share = services.create_share(user, approved(), "mastodon")
    assert services.claim(share.id)
    from advocacy.accounts.services import token_of

    # the worker posted with the share's key, then died before recording it
    made = connector_for("mastodon").publish(token_of(account).access_token, share.text, publishing.tracked_url(share),
                                             idempotency_key=publishing.idempotency_key(share))
    past = utcnow() - dt.timedelta(seconds=app.config["DELIVERY_LEASE_SECONDS"] + 5)
    db.session.execute(Share.__table__.update().where(Share.id == share.id).values(claimed_at=past))
    db.session.commit()
    assert services.sweep()["recovered"] == 1
    assert control(mastodon, "POST", "idempotency/expire", {"handle": "emma"})["expired"] == 1  # long after

    run_jobs(app)
    share = fresh(share)
    assert share.status == "published" and share.post_id == made.id and share.post_url == made.url
    assert posts_by_code(control(mastodon, "GET", "posts")["posts"]) == {share.code: 1}


def test_a_lost_linkedin_answer_records_the_existing_post_and_its_figures_are_fetched(
        linkedin_app: dict[str, Any], app: Any, sandbox: dict[str, str], policy: Any) -> None:
    from advocacy.reach.metrics import fetch_due
    from advocacy.reach.models import MetricSnapshot
    from advocacy.reach.rollup import rollup

    linkedin = sandbox["linkedin"]
    user = employee("emma@acme.test")
    account = connect_linkedin(user, "emma_acme")
    assert "r_member_postAnalytics" in account.scope
    control(linkedin, "POST", "faults", {"status": 504, "after": True, "count": 1, "method": "POST",
                                         "path_prefix": "/rest/posts"})  # posted, but the answer is lost
    share = services.create_share(user, approved(), "linkedin")
    run_jobs(app)  # the retry is refused as a duplicate naming the post LinkedIn holds

    share = fresh(share)
    (post,) = control(linkedin, "GET", "posts")["posts"]
    assert post["body"]["content"]["article"]["source"] == publishing.tracked_url(share)
    assert share.status == "published" and share.attempts == 2
    assert share.post_id == post["id"] and share.post_url == f"{linkedin}/feed/update/{post['id']}/"
    assert "already held this post" in (share.last_error or "")

    control(linkedin, "POST", f"posts/{post['id']}/metrics", {"REACTION": 7, "COMMENT": 2, "RESHARE": 1,
                                                              "IMPRESSION": 321, "growth": False})
    rollup()  # the share's figures row and its schedule
    assert share.published_at is not None
    assert fetch_due(now=share.published_at + dt.timedelta(days=30)) == 1
    snapshot = db.session.scalars(select(MetricSnapshot).where(MetricSnapshot.share_id == share.id)).one()
    assert snapshot.found and (snapshot.likes, snapshot.replies, snapshot.reposts, snapshot.impressions) == (
        7, 2, 1, 321)  # LinkedIn was asked about the post the share recorded
