"""What reach does when another stage tells it something happened (``advocacy.events``)."""

from __future__ import annotations

from typing import Any

from advocacy import events


def on_deactivated(user: Any, **_: Any) -> int:
    """A person who left is taken off the leaderboard; their results stay in the reports and the archive."""
    from advocacy.reach.services import set_leaderboard_opt_out

    set_leaderboard_opt_out(user, True)
    return 0


def subscribe() -> None:
    events.person_deactivated.connect(on_deactivated, weak=False)
