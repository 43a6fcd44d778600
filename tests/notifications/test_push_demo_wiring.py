"""`make demo` gives the demo employee a Teams chat and a subscribed browser in the sandboxes, once, and again when
the sandboxes forgot them (their state folder deleted)."""

from __future__ import annotations

import requests

from advocacy.notifications import channels
from advocacy.notifications.demo_wiring import wire
from advocacy.notifications.destinations import subscriptions, teams_webhook_for
from tests.delivery.support import approved, employee


def test_the_demo_employee_is_reachable_on_teams_and_push_and_stays_so(app, sandbox, policy):
    for name in ("teams", "webpush"):
        requests.post(f"{sandbox[name]}/_sandbox/reset", timeout=5).raise_for_status()
    emma = employee("employee@example.com", "emma_demo")
    lines = wire(sandbox, "127.0.0.1")
    assert any(sandbox["teams"] in line for line in lines) and any(sandbox["webpush"] in line for line in lines)
    hook, [device] = teams_webhook_for(user_id=emma.id), subscriptions(emma.id)
    assert hook is not None

    wire(sandbox, "127.0.0.1")  # a restart: nothing new
    assert teams_webhook_for(user_id=emma.id).id == hook.id and [s.id for s in subscriptions(emma.id)] == [device.id]

    for name in ("teams", "webpush"):  # the sandboxes' state deleted: set up again
        requests.post(f"{sandbox[name]}/_sandbox/reset", timeout=5).raise_for_status()
    wire(sandbox, "127.0.0.1")
    tp = approved()
    for name in ("teams", "push"):
        channel = channels.get(name)
        assert channel is not None
        channel.announce(emma, [tp])
    cards = requests.get(f"{sandbox['teams']}/_sandbox/cards", timeout=5).json()["cards"]
    messages = requests.get(f"{sandbox['webpush']}/_sandbox/messages", timeout=5).json()["messages"]
    assert len(cards) == 1 and len(messages) == 1 and messages[0]["data"]["title"].endswith("We are hiring")
