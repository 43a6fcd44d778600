"""What delivery does when the other stages tell it something happened (``advocacy.events``).

Each subscriber returns how many shares it changed. ``subscribe`` is called once by ``create_app``, so the web, the
API, the CLI and the workers all react the same way; connecting twice changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from advocacy import events
from advocacy.delivery import services
from advocacy.delivery.models import Share, ShareStatus
from advocacy.extensions import db

WAITING = (ShareStatus.SCHEDULED, ShareStatus.QUEUED, ShareStatus.PAUSED)


def on_withdrawn(tp: Any, **_: Any) -> int:
    """A withdrawn talking point: each of its shares not yet out is cancelled."""
    pending = db.session.scalars(select(Share).where(Share.talking_point_id == tp.id,
                                                     Share.status.in_(WAITING))).all()
    return sum(services.cancel(s, "the talking point was withdrawn") for s in pending)


def on_opted_out(user: Any, **_: Any) -> int:
    return services.cancel_pending_for_user(user, "you opted out")


def on_deactivated(user: Any, **_: Any) -> int:
    return services.cancel_pending_for_user(user, "your account was deactivated")


def on_policy_published(_policy: Any, **_: Any) -> int:
    """Everyone must acknowledge the new version: their shares not yet out wait for it."""
    from advocacy.people.models import User

    return services.hold_for_policy(list(db.session.scalars(select(User.id))))


def on_policy_acknowledged(user: Any, **_: Any) -> int:
    return services.release_policy_hold(user)


def subscribe() -> None:
    """Connect delivery's subscribers (strong references: they live as long as the process)."""
    events.talking_point_withdrawn.connect(on_withdrawn, weak=False)
    events.person_opted_out.connect(on_opted_out, weak=False)
    events.person_deactivated.connect(on_deactivated, weak=False)
    events.policy_published.connect(on_policy_published, weak=False)
    events.policy_acknowledged.connect(on_policy_acknowledged, weak=False)
