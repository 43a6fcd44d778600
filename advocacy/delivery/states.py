"""One vocabulary for a share's state, on every page: the words people see, defined once.

Templates show a state with the ``share_state`` filter (``{{ share.status|share_state }}``), so the feed, My shares,
a share's page, operations and Reach never say "publishing" on one page and "posting" on another.
"""

from __future__ import annotations

LABELS = {
    "scheduled": "scheduled",
    "queued": "queued",
    "publishing": "posting",
    "published": "posted",
    "failed": "failed",
    "paused": "paused",
    "cancelled": "cancelled",
    "opened": "opened",
}

HINTS = {
    "scheduled": "waits for its time",
    "queued": "waits for a worker, then posts",
    "publishing": "being posted now",
    "published": "on the network, with its link",
    "failed": "did not post; the reason says what to fix",
    "paused": "waits for you (reconnect, policy or consent)",
    "cancelled": "will not post",
    "opened": "the network's own share dialog was opened; the app cannot see whether you posted",
}


def label(status: str | None) -> str:
    """The word people see for a share state."""
    return LABELS.get(status or "", status or "")
