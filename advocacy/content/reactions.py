"""What content does when another stage tells it something happened (``advocacy.events``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from advocacy import events
from advocacy.content.models import Target
from advocacy.extensions import db


def on_deactivated(user: Any, **_: Any) -> int:
    """A person who left is no longer aimed at by name: their named-person targets go (team targets stay)."""
    db.session.execute(delete(Target).where(Target.user_id == user.id))
    db.session.commit()
    return 0  # no share changed here: delivery cancels them


def subscribe() -> None:
    events.person_deactivated.connect(on_deactivated, weak=False)
