"""Domain events: what one stage of the loop tells the others, instead of calling their services.

Content and people say what happened (a talking point withdrawn, a person opted out or deactivated, a new policy
published or acknowledged); delivery subscribes and does what that means for shares (cancel them, hold them,
release them). So content and people call no delivery service (content only reads the shares table, to list live
posts), while delivery may still call content (it composes the text that goes out).

The subscribers are connected once, by ``create_app`` (``advocacy.delivery.reactions.subscribe``), so every path that
runs inside the app (web, API, CLI, workers) has them. Signals are sent after the change is committed, in the same
thread and session; each subscriber returns how many shares it changed, and a sender adds them up with ``total``.
An edit that retargets a talking point needs no event: the worker asks the sharing rule again when each share comes
due (``advocacy.delivery.rules``), so a share no longer aimed at its person is cancelled then.

The integrations outbox (``advocacy.integrations.webhooks``) hears approvals, withdrawals, shares published or failed,
results and deactivations, and writes a webhook delivery only when an endpoint subscribes: a signal with no interested
endpoint costs a cached lookup, never a query or an HTTP call.

A deactivation (``people.services.deactivate``: the admin's people page and SCIM alike) is heard by delivery
(cancels the person's shares not yet out), content (``content.reactions``: named-person targets go), reach
(``reach.reactions``: off the leaderboard) and the outbox; the deactivating function itself revokes the person's
network tokens, as opting out does.

Blinker (Flask's own signal library) carries them: ``signal.send(sender, **details)``.
"""

from __future__ import annotations

from typing import Any

from blinker import Namespace, Signal

_events = Namespace()

talking_point_approved: Signal = _events.signal(
    "talking-point-approved", doc="sender: the TalkingPoint (already approved and committed)")
talking_point_submitted: Signal = _events.signal(
    "talking-point-submitted", doc="sender: the TalkingPoint (already in review and committed): reviewers are asked")
talking_point_withdrawn: Signal = _events.signal(
    "talking-point-withdrawn", doc="sender: the TalkingPoint (already withdrawn and committed); reason: str")
person_opted_out: Signal = _events.signal(
    "person-opted-out", doc="sender: the User who opted out (committed)")
person_deactivated: Signal = _events.signal(
    "person-deactivated",
    doc="sender: the User deactivated (committed) by people.services.deactivate; by: the admin, or None when the "
        "identity provider did it over SCIM")
share_published: Signal = _events.signal(
    "share-published", doc="sender: the id of the Share now published (committed); sent on publishing's hot path")
share_failed: Signal = _events.signal(
    "share-failed", doc="sender: the id of the Share that failed for good (committed)")
notification_recorded: Signal = _events.signal(
    "notification-recorded", doc="sender: the user id a notice is for (recorded once and committed by "
    "notifications.services.notify_once); kind, key, subject, body: str")
result_recorded: Signal = _events.signal(
    "result-recorded", doc="sender: the Result an employee recorded (committed)")
policy_published: Signal = _events.signal(
    "policy-published", doc="sender: the new PolicyVersion (committed); everyone must acknowledge it again")
policy_acknowledged: Signal = _events.signal(
    "policy-acknowledged", doc="sender: the User (committed); version: int")


def total(results: list[tuple[Any, Any]]) -> int:
    """The sum of the counts the subscribers returned (``signal.send`` gives ``[(receiver, result), …]``)."""
    return sum(r for _, r in results if isinstance(r, int))
