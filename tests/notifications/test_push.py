"""Web Push: a message the push service sandbox accepts (VAPID checked, RFC 8291 decrypted by the subscribed
"browser") carries the one-tap url; following it shares with channel "push"; 410 removes the subscription; a 429
is retried without notifying a device twice; notices that need action (reconnect soon) are pushed by a job."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests
from sqlalchemy import select

from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.notifications import channels, push
from advocacy.notifications.destinations import PushSubscription, subscriptions
from tests.conftest import run_jobs
from tests.delivery.support import Sandbox, approved, employee

pytestmark = pytest.mark.timeout(120)


class PushService:
    def __init__(self, url: str) -> None:
        self.url = url
        requests.post(f"{url}/_sandbox/reset", timeout=5).raise_for_status()

    def browser(self, name: str, key: str | None) -> tuple[str, dict[str, Any]]:
        """A browser subscribing with ``key`` (the app's VAPID public key): its sandbox id and its subscription."""
        answer = requests.post(f"{self.url}/_sandbox/subscriptions",
                               json={"name": name, "application_server_key": key}, timeout=5)
        answer.raise_for_status()
        return answer.json()["id"], answer.json()["subscription"]

    def messages(self, sub_id: str) -> list[dict[str, Any]]:
        return list(requests.get(f"{self.url}/_sandbox/messages", params={"subscription": sub_id}, timeout=5)
                    .json()["messages"])

    def drop(self, sub_id: str) -> None:
        requests.delete(f"{self.url}/_sandbox/subscriptions/{sub_id}", timeout=5).raise_for_status()

    def fault(self, **spec: Any) -> None:
        requests.post(f"{self.url}/_sandbox/faults", json=spec, timeout=5).raise_for_status()


@pytest.fixture()
def service(app: Any, sandbox: dict[str, str], policy: Any) -> PushService:
    return PushService(sandbox["webpush"])


def subscribe(browser: Any, service: PushService, name: str) -> str:
    """What the preferences page's script does: subscribe with the server's key, send the subscription."""
    setup = browser.api("GET", "/api/me/push-subscriptions").get_json()
    sub_id, subscription = service.browser(name, setup["public_key"])
    kept = browser.api("POST", "/api/me/push-subscriptions", subscription)
    assert kept.status_code == 201, kept.get_json()
    return sub_id


def press(client: Any, url: str) -> Any:
    path = url.removeprefix("http://advocacy.test")
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:1000]
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)  # type: ignore
    return client.post(path, data={"csrf_token": token})


def test_the_message_is_decrypted_with_the_one_tap_url_and_tapping_it_shares(app, sandbox, service, client,
                                                                           browser_factory):
    emma = employee("emma@acme.test", "emma_acme")
    phone = subscribe(browser_factory("emma@acme.test"), service, "Emma's phone")
    tp = approved()
    channel = channels.get("push")
    assert channel is not None and channel.label == "Phone or browser notification" and channel.available_for(emma)

    channel.announce(emma, [tp])

    [message] = service.messages(phone)
    data = message["data"]
    assert data["title"] == "New to share: We are hiring" and data["url"].startswith("http://advocacy.test/go/")
    assert message["ttl"] > 0 and message["vapid_sub"].startswith("mailto:")
    page = requests.get(service.url, timeout=5)  # the demo's view of where Emma's notifications went
    assert "Emma&#x27;s phone" in page.text and "We are hiring" in page.text and data["url"] in page.text

    answer = press(client, data["url"])  # the service worker opens it on a tap
    assert answer.status_code in (200, 302, 303)
    run_jobs(app)
    db.session.commit()
    share = db.session.scalars(select(Share)).one()
    assert share.channel == "push" and share.network == "x" and share.status == "published"
    assert len(Sandbox(sandbox["x"]).posts()) == 1


def test_a_dropped_subscription_is_removed_and_the_last_one_makes_the_person_unreachable(app, service,
                                                                                       browser_factory):
    emma = employee("emma@acme.test", "emma_acme")
    browser = browser_factory("emma@acme.test")
    phone, laptop = subscribe(browser, service, "phone"), subscribe(browser, service, "laptop")
    channel = channels.get("push")
    assert channel is not None and len(subscriptions(emma.id)) == 2

    service.drop(phone)  # the browser unsubscribed: its push service answers 410 Gone
    channel.announce(emma, [approved("First")])
    assert len(service.messages(laptop)) == 1 and service.messages(phone) == []
    assert len(subscriptions(emma.id)) == 1

    service.drop(laptop)
    with pytest.raises(channels.Unreachable):
        channel.announce(emma, [approved("Second")])
    assert subscriptions(emma.id) == [] and not channel.available_for(emma)


def test_a_429_is_retried_and_no_device_is_notified_twice(app, service, browser_factory):
    emma = employee("emma@acme.test", "emma_acme")
    browser = browser_factory("emma@acme.test")
    phone, laptop = subscribe(browser, service, "phone"), subscribe(browser, service, "laptop")
    service.fault(status=429, count=1, headers={"Retry-After": "9"}, path_prefix=f"/push/{laptop}")
    channel = channels.get("push")
    assert channel is not None
    tp = approved()

    with pytest.raises(channels.RetryLater) as waited:
        channel.announce(emma, [tp])
    assert waited.value.seconds == 9
    assert len(service.messages(phone)) == 1 and service.messages(laptop) == []

    channel.announce(emma, [tp])  # the job's retry
    assert len(service.messages(phone)) == 1 and len(service.messages(laptop)) == 1


def test_a_notice_that_needs_action_is_pushed_by_a_job(app, service, browser_factory):
    from advocacy.notifications.services import notify_once

    emma = employee("emma@acme.test", "emma_acme")
    phone = subscribe(browser_factory("emma@acme.test"), service, "phone")
    assert notify_once(emma.id, "reconnect_soon", "reconnect-soon:1:2030-01-01", "Reconnect your x account",
                       "X lets advocacy post for you until 2030-01-01.")
    run_jobs(app)
    [message] = service.messages(phone)
    assert message["data"]["title"] == "Reconnect your x account"
    assert message["data"]["url"] == "http://advocacy.test/accounts"


def test_the_push_service_checks_vapid_and_ttl(app, service, browser_factory):
    emma = employee("emma@acme.test")
    subscribe(browser_factory("emma@acme.test"), service, "phone")
    [row] = db.session.scalars(select(PushSubscription).where(PushSubscription.user_id == emma.id)).all()
    endpoint = row.info()["endpoint"]
    assert requests.post(endpoint, data=b"", timeout=5).status_code == 400  # no TTL
    assert requests.post(endpoint, data=b"", headers={"TTL": "60"}, timeout=5).status_code == 401  # no VAPID
    wrong_aud = push.vapid().sign({"aud": "https://elsewhere.example", "sub": "mailto:a@b.example",
                                   "exp": int(time.time()) + 3600})
    answer = requests.post(endpoint, data=b"", headers={"TTL": "60", **wrong_aud}, timeout=5)
    assert answer.status_code == 401 and "aud" in answer.json()["message"]
    from py_vapid import Vapid02

    stranger = Vapid02()
    stranger.generate_keys()
    origin = endpoint.split("/push/")[0]
    other_key = stranger.sign({"aud": origin, "sub": "mailto:a@b.example", "exp": int(time.time()) + 3600})
    answer = requests.post(endpoint, data=b"", headers={"TTL": "60", **other_key}, timeout=5)
    assert answer.status_code == 403  # not the key the browser subscribed with
    ok = push.vapid().sign({"aud": origin, "sub": "mailto:a@b.example", "exp": int(time.time()) + 3600})
    assert requests.post(endpoint, data=b"", headers={"TTL": "60", **ok}, timeout=5).status_code == 201


def test_a_share_that_failed_for_good_is_pushed_with_a_link_to_it(app, sandbox, service, browser_factory):
    from advocacy.delivery import services

    emma = employee("emma@acme.test", "emma_acme")
    phone = subscribe(browser_factory("emma@acme.test"), service, "phone")
    Sandbox(sandbox["x"]).fault(status=400, count=1, path_prefix="/2/tweets", method="POST")
    share_id = services.create_share(emma, approved(), "x").id
    run_jobs(app)  # the share fails, then the push job runs
    [message] = service.messages(phone)
    assert message["data"]["title"] == "Your share on X failed"
    assert message["data"]["url"] == f"http://advocacy.test/shares/{share_id}"
