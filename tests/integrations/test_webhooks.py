"""Events out: a local receiver over real HTTP gets a signed webhook for each event and verifies it with the
Standard Webhooks reference library (``standardwebhooks.Webhook.verify``); 5xx and timeouts are retried with
backoff from the database, a delivery can be replayed, and endpoints are subject to the SSRF rules."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.integrations import webhooks
from advocacy.integrations.models import WebhookDelivery
from advocacy.people.models import User
from tests.conftest import connect_x, run_jobs

ALL_EVENTS = list(webhooks.EVENTS)


class Receiver:
    """Records every POST; ``plan[path]`` is a list of statuses to answer in turn ("slow": answer after 2 s)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.plan: dict[str, list[int | str]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                receiver.received.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
                plan = receiver.plan.get(self.path) or [204]
                answer = plan.pop(0) if len(plan) > 1 else plan[0]
                if answer == "slow":
                    time.sleep(2)
                    answer = 200
                text = b'{"error":"busy"}' if answer >= 500 else b"thanks"
                self.send_response(int(answer))
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def on(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.received if r["path"] == path]


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture()
def admin(app, make_user, browser_factory):
    make_user("admin@acme.test", "admin")
    return browser_factory("admin@acme.test")


def register(admin, url: str, events: list[str] | None = None) -> dict[str, Any]:
    answer = admin.api("POST", "/api/webhooks/endpoints", {"url": url, "events": events or ALL_EVENTS})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["secret"].startswith("whsec_")
    return body


def verified(secret: str, request: dict[str, Any]) -> dict[str, Any]:
    return Webhook(secret).verify(request["body"], request["headers"])


def approved_talking_point(make_user) -> int:
    from advocacy.content import workflow

    author, reviewer = make_user("author@acme.test", "comms"), make_user("reviewer@acme.test", "comms")
    tp = workflow.create_talking_point(author, title="We are hiring", link="https://acme.test/jobs",
                                       text="Come build the platform with us.")
    workflow.submit(tp, author)
    workflow.approve(tp, reviewer)
    return tp.id


def test_each_event_arrives_signed_and_verifies_with_the_reference_library(app, admin, receiver, make_user,
                                                                             browser_factory, policy, sandbox):
    from advocacy.content import workflow
    from advocacy.content.models import TalkingPoint
    from advocacy.people.services import update_person
    from advocacy.reach.services import record_result

    endpoint = register(admin, f"{receiver.url}/hooks")
    tp_id = approved_talking_point(make_user)

    emma = make_user("emma@acme.test", "employee")
    emma_id = emma.id
    browser = browser_factory("emma@acme.test")
    assert browser.post("/policy/acknowledge", {"version": 1}).status_code == 302
    assert browser.post("/opt-in").status_code == 302
    connect_x(browser, "emma_acme")
    assert browser.post("/share", {"talking_point_id": tp_id, "network": "x"}).status_code == 302
    run_jobs(app)  # publishes the share, then sends what is queued
    share = db.session.scalars(select(Share)).one()
    assert share.status == "published"
    share_id = share.id

    requests.post(f"{sandbox['x']}/_sandbox/faults", json={"status": 400, "count": 10, "path_prefix": "/2/tweets"},
                  timeout=5).raise_for_status()
    author = db.session.scalars(select(User).where(User.email == "author@acme.test")).one()
    other = workflow.create_talking_point(author, title="Second", link="https://acme.test/two", text="Another one.")
    other_id = other.id
    workflow.submit(other, other.author)
    workflow.approve(other, db.session.scalars(select(User).where(User.email == "reviewer@acme.test")).one())
    assert browser.post("/share", {"talking_point_id": other_id, "network": "x"}).status_code == 302
    run_jobs(app)
    assert db.session.scalars(select(Share).where(Share.talking_point_id == other_id)).one().status == "failed"

    record_result(db.session.get(User, emma_id), {"share_id": str(share_id), "kind": "lead", "note": "a CTO"})
    workflow.withdraw(db.session.get(TalkingPoint, tp_id), make_user("third@acme.test", "comms"), "outdated")
    boss = db.session.scalars(select(User).where(User.email == "admin@acme.test")).one()
    update_person(boss, db.session.get(User, emma_id), role="employee", team_id="", active=False)
    run_jobs(app)

    got = {}
    for request in receiver.on("/hooks"):
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= {k.lower() for k in request["headers"]}
        assert request["headers"]["webhook-signature"].startswith("v1,")
        payload = verified(endpoint["secret"], request)
        got.setdefault(payload["type"], []).append(payload["data"])
    assert set(got) == set(ALL_EVENTS)
    assert {d["talking_point_id"] for d in got["talking_point.approved"]} == {tp_id, other_id}
    assert got["talking_point.withdrawn"] == [{"talking_point_id": tp_id, "title": "We are hiring",
                                               "reason": "outdated"}]
    assert got["share.published"][0]["share_id"] == share_id and got["share.published"][0]["post_url"]
    assert got["share.failed"][0]["talking_point_id"] == other_id and got["share.failed"][0]["error"]
    assert got["result.recorded"][0]["kind"] == "lead"
    assert got["person.deactivated"] == [{"user_id": emma_id, "email": "emma@acme.test"}]

    # a signature made with another secret does not verify
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(receiver.on("/hooks")[0]["body"], receiver.on("/hooks")[0]["headers"])
    page = admin.get("/admin/webhooks").get_data(as_text=True)
    assert "share.published" in page and "HTTP 204" in page and "delivered" in page


def test_a_5xx_is_retried_with_backoff_from_the_database_then_delivered(app, admin, receiver, make_user):
    app.config["WEBHOOKS_RETRY_SECONDS"] = 60.0
    receiver.plan["/flaky"] = [503, 503, 200]
    endpoint = register(admin, f"{receiver.url}/flaky", ["talking_point.approved"])
    approved_talking_point(make_user)
    run_jobs(app)
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("pending", 1, 503)
    assert delivery.last_body == '{"error":"busy"}' and "HTTP 503" in delivery.last_error
    first = delivery.last_attempt_at
    assert delivery.next_attempt_at - first == dt.timedelta(seconds=60)

    assert webhooks.deliver_due(first + dt.timedelta(seconds=59)) == 0  # not due: nothing sent
    assert len(receiver.on("/flaky")) == 1
    assert webhooks.deliver_due(first + dt.timedelta(seconds=60)) == 0  # second attempt: 503 again
    db.session.refresh(delivery)
    assert delivery.attempts == 2 and delivery.next_attempt_at - delivery.last_attempt_at == dt.timedelta(seconds=120)
    assert webhooks.deliver_due(delivery.next_attempt_at) == 1
    db.session.refresh(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("delivered", 3, 200)
    requests_ = receiver.on("/flaky")
    assert len({r["headers"]["webhook-id"] for r in requests_}) == 1  # the same message on every attempt
    assert all(verified(endpoint["secret"], r)["type"] == "talking_point.approved" for r in requests_[:1])


def test_a_timeout_is_retried_and_after_n_attempts_marked_failed_and_publishing_never_waits(app, admin, receiver,
                                                                                            make_user):
    from advocacy.delivery import services as delivery_services

    app.config.update(WEBHOOKS_TIMEOUT=0.5, WEBHOOKS_MAX_ATTEMPTS=2, WEBHOOKS_RETRY_SECONDS=1.0)
    receiver.plan["/slow"] = ["slow"]
    register(admin, f"{receiver.url}/slow", ["share.published"])
    tp_id = approved_talking_point(make_user)
    emma = make_user("emma@acme.test", "employee")
    share = Share(user_id=emma.id, talking_point_id=tp_id, network="x", status="publishing", code="abc123",
                  text="hello", link="https://acme.test/jobs", scheduled_at=webhooks.utcnow())
    db.session.add(share)
    db.session.commit()
    assert delivery_services.mark_published(share.id, "1", "https://x.test/1")  # the publishing path
    assert receiver.received == []  # no HTTP call on the way: only the outbox row was written
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    assert delivery.status == "pending" and delivery.attempts == 0

    assert webhooks.deliver(delivery.id) is False
    db.session.refresh(delivery)
    assert delivery.last_error == "no answer within 0.5 s" and delivery.last_status is None
    assert webhooks.deliver_due(delivery.next_attempt_at) == 0
    db.session.refresh(delivery)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)
    assert webhooks.deliver_due(webhooks.utcnow() + dt.timedelta(days=1)) == 0  # failed: never again by itself
    assert len(receiver.on("/slow")) == 2
    page = admin.get("/admin/webhooks").get_data(as_text=True)
    assert 'data-status="failed"' in page and "no answer within 0.5 s" in page


def test_a_delivery_can_be_replayed_with_the_same_id_and_a_fresh_signature(app, admin, receiver, make_user):
    endpoint = register(admin, f"{receiver.url}/hooks", ["talking_point.approved"])
    approved_talking_point(make_user)
    run_jobs(app)
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    assert delivery.status == "delivered"
    assert admin.post(f"/admin/webhooks/deliveries/{delivery.id}/replay").status_code == 302
    run_jobs(app)
    got = receiver.on("/hooks")
    assert len(got) == 2 and got[0]["headers"]["webhook-id"] == got[1]["headers"]["webhook-id"]
    assert verified(endpoint["secret"], got[1]) == json.loads(got[0]["body"])
    over_api = admin.api("POST", f"/api/webhooks/deliveries/{delivery.id}/replay")
    assert over_api.status_code == 202 and over_api.get_json()["status"] == "pending"
    run_jobs(app)
    assert len(receiver.on("/hooks")) == 3
    listed = admin.api("GET", "/api/webhooks/deliveries").get_json()
    assert listed[0]["status"] == "delivered" and listed[0]["last_status"] == 204

    rotated = admin.api("POST", f"/api/webhooks/endpoints/{endpoint['id']}/secret").get_json()["secret"]
    assert rotated.startswith("whsec_") and rotated != endpoint["secret"]
    admin.api("POST", f"/api/webhooks/deliveries/{delivery.id}/replay")
    run_jobs(app)
    latest = receiver.on("/hooks")[-1]
    assert verified(rotated, latest)["type"] == "talking_point.approved"  # signed with the new secret
    with pytest.raises(WebhookVerificationError):
        verified(endpoint["secret"], latest)


def test_endpoints_are_subject_to_the_ssrf_rules(app, admin, receiver, make_user):
    answer = admin.api("POST", "/api/webhooks/endpoints", {"url": f"{receiver.url}/hooks", "events": ALL_EVENTS})
    assert answer.status_code == 201
    app.config["OUTBOUND_ALLOW"] = ""  # loopback is no longer allowed
    refused = admin.api("POST", "/api/webhooks/endpoints", {"url": "http://169.254.169.254/latest", "events":
                                                            ["share.failed"]})
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["json"] == {"url": [
        "could not reach that server; check the address or try again later"]}
    page = admin.post("/admin/webhooks", {"url": "http://127.0.0.1:9/x", "events": "share.failed"})
    assert page.status_code == 422 and "could not reach that server" in page.get_data(as_text=True)

    approved_talking_point(make_user)  # the endpoint registered before: its delivery is refused at send time
    run_jobs(app)
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    assert delivery.status == "pending" and delivery.last_status is None
    assert delivery.last_error == "could not reach that server; check the address or try again later"
    assert receiver.received == []


def test_bad_input_a_disabled_endpoint_and_no_endpoint(app, admin, receiver, make_user, browser_factory):
    bad = admin.api("POST", "/api/webhooks/endpoints", {"url": f"{receiver.url}/x", "events": ["share.exploded"]})
    assert bad.status_code == 422 and "events" in bad.get_json()["errors"]["json"]
    bad = admin.api("POST", "/api/webhooks/endpoints", {"url": "ftp://acme.test", "events": ["share.failed"]})
    assert bad.status_code == 422 and "url" in bad.get_json()["errors"]["json"]
    make_user("comms@acme.test", "comms")
    assert browser_factory("comms@acme.test").api("GET", "/api/webhooks/endpoints").status_code == 403

    approved_talking_point(make_user)  # no endpoint yet: nothing is written
    assert db.session.scalars(select(WebhookDelivery)).all() == []

    endpoint = register(admin, f"{receiver.url}/off", ["talking_point.withdrawn"])
    assert admin.api("PATCH", f"/api/webhooks/endpoints/{endpoint['id']}", {"enabled": False}).status_code == 200
    from advocacy.content import workflow
    from advocacy.content.models import TalkingPoint

    tp = db.session.scalars(select(TalkingPoint)).one()
    workflow.withdraw(tp, db.session.scalars(select(User).where(User.email == "author@acme.test")).one())
    run_jobs(app)
    assert receiver.received == [] and db.session.scalars(select(WebhookDelivery)).all() == []


def test_publishing_with_no_subscribed_endpoint_writes_and_asks_nothing_more(app, admin, receiver, make_user):
    from sqlalchemy import event

    from advocacy.delivery import services as delivery_services

    register(admin, f"{receiver.url}/hooks", ["talking_point.withdrawn"])  # an endpoint, but not for shares
    tp_id = approved_talking_point(make_user)
    emma = make_user("emma@acme.test", "employee")
    shares = [Share(user_id=emma.id, talking_point_id=tp_id, network=n, status="publishing", code=f"code{n}",
                    text="hello", link="https://acme.test/jobs", scheduled_at=webhooks.utcnow())
              for n in ("x", "linkedin")]
    db.session.add_all(shares)
    db.session.commit()
    ids = [s.id for s in shares]
    assert delivery_services.mark_published(ids[0], "1", "https://x.test/1")  # warms the subscription cache
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731  (conn, cursor, statement, …)
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert delivery_services.mark_published(ids[1], "2", "https://x.test/2")
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("UPDATE SHARES")
    assert db.session.scalars(select(WebhookDelivery)).all() == [] and receiver.received == []
