"""May this person share this talking point now? The one rule every path asks.

The web forms, the JSON API, the share dialogs (``services.create_share``, ``services.open_share_dialog``), the
auto-share fan-out (``fanout.targets``) and the worker when a share comes due (``publishing.publish``, after the
claim) all ask it here. The conditions are written once, as SQL over the talking point and the person
(``CONDITIONS``): the fan-out puts them in its query; a single share reads them as one row of booleans, in one
indexed query (``facts``; a publish job's block of shares, all at once: ``facts_many``), and ``refusal`` names the
first that does not hold.

A share may be made when the talking point is approved, aimed at the person (the organisation, their team, or them),
inside its availability window, and the person is active, opted in and has acknowledged the current policy; a
posting network also needs a connected, active account, and no other live share of the talking point there.
A share that comes due is checked again: withdrawn, retargeted away, expired, a person deactivated or opted out:
it is cancelled with the reason; a policy not yet acknowledged holds it; a window not yet open moves it; a LinkedIn
auto-share whose owner's yearly consent to automatic posting lapsed is paused until they renew it (``consent_hold``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import url_for
from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, or_, select

from advocacy.accounts.models import AccountStatus
from advocacy.content.models import PostDeletion, Status, TalkingPoint, Target
from advocacy.delivery.models import Share, ShareStatus
from advocacy.errors import Conflict, DomainError, NotAllowed
from advocacy.extensions import db
from advocacy.models_base import UTCDateTime, utcnow
from advocacy.people.models import PolicyVersion, User

# a share that is, or is on its way to being, on the network: a second one of the same talking point on the same
# account would post it twice (failed, cancelled, opened dialogs and deleted posts do not count)
LIVE = (ShareStatus.SCHEDULED, ShareStatus.QUEUED, ShareStatus.PUBLISHING, ShareStatus.PAUSED, ShareStatus.PUBLISHED)
# the live statuses the database's unique index ``ux_shares_live_once`` covers (a published post can be deleted,
# which the shares table does not record; the domain check below covers published ones)
PENDING = (ShareStatus.SCHEDULED, ShareStatus.QUEUED, ShareStatus.PUBLISHING, ShareStatus.PAUSED)
POLICY_HOLD = "waiting for you to acknowledge the new social-media policy"


@dataclass(frozen=True)
class Condition:
    """One condition of the rule: its SQL, and what a refused share is told (``message``, ``field``, ``error``) or
    what a share cancelled when it came due says (``reason``)."""

    name: str
    error: type[DomainError]
    field: str
    message: str
    reason: str


CONDITIONS = (
    Condition("withdrawn", DomainError, "talking_point_id", "this talking point was withdrawn",
              "the talking point was withdrawn before this share went out"),
    Condition("approved", DomainError, "talking_point_id", "this talking point is not approved for sharing",
              "the talking point is no longer approved"),
    Condition("aimed", NotAllowed, "talking_point_id", "this talking point is not aimed at you",
              "the talking point is no longer aimed at you (its audience or your team changed)"),
    Condition("open", DomainError, "talking_point_id", "is no longer available: its availability window closed",
              "the talking point stopped being available before this share went out"),
    Condition("active", NotAllowed, "user", "your account is deactivated", "your account was deactivated"),
    Condition("opted_in", NotAllowed, "user", "opt in to the advocacy programme before sharing", "you opted out"),
    Condition("acknowledged", NotAllowed, "policy", "acknowledge the current social-media policy before sharing",
              POLICY_HOLD),
)
BY_NAME = {c.name: c for c in CONDITIONS}


def clauses(at: Any, *, due: bool = False) -> dict[str, ColumnElement[bool]]:
    """Each condition as SQL over ``TalkingPoint`` and ``User`` (the query joins both).

    Args:
        at: when the share goes out (a datetime, or a bound parameter).
        due: the share exists and came due: its talking point need not be approved any more (an edit waiting for
            review leaves the approved version it carries), only not withdrawn.
    """
    current = select(func.max(PolicyVersion.version)).scalar_subquery()
    mine = or_(Target.user_id == User.id, and_(User.team_id.is_not(None), Target.team_id == User.team_id))
    return {
        "withdrawn": TalkingPoint.status != Status.WITHDRAWN,
        "approved": TalkingPoint.status == Status.APPROVED if not due else TalkingPoint.status != Status.WITHDRAWN,
        "aimed": or_(TalkingPoint.target_everyone.is_(True),
                     exists().where(Target.talking_point_id == TalkingPoint.id, mine)),
        "open": or_(TalkingPoint.available_until.is_(None), TalkingPoint.available_until > at),
        "active": User.active.is_(True),
        "opted_in": User.opted_in_at.is_not(None),
        "acknowledged": or_(current.is_(None), User.policy_version_acknowledged == current),
    }


def _columns(due: bool) -> list[Any]:
    """Each condition as a boolean column, and the window's start and end (``clauses`` at the bound ``at``)."""
    checks = clauses(bindparam("at", type_=UTCDateTime()), due=due)
    return [*(expr.label(name) for name, expr in checks.items()), TalkingPoint.available_from,
            TalkingPoint.available_until]


@cache
def _facts_statement(due: bool) -> Select[Any]:
    """One row: each condition as a boolean, and the window's start, for one talking point and one person."""
    return (select(*_columns(due))
            .select_from(TalkingPoint).join(User, User.id == bindparam("user_id"))
            .where(TalkingPoint.id == bindparam("tp_id")))


@cache
def _facts_many_statement(due: bool) -> Select[Any]:
    """``_facts_statement`` for every pair of some talking points and some people: a row per pair, named by both."""
    return (select(TalkingPoint.id.label("tp_id"), User.id.label("user_id"), *_columns(due))
            .select_from(TalkingPoint).join(User, User.id.in_(bindparam("user_ids", expanding=True)))
            .where(TalkingPoint.id.in_(bindparam("tp_ids", expanding=True))))


@dataclass(frozen=True)
class Facts:
    failed: Condition | None  # the first condition that does not hold
    available_from: dt.datetime | None
    available_until: dt.datetime | None


def facts(tp_id: int, user_id: int, at: dt.datetime, *, due: bool = False) -> Facts:
    """The rule's conditions for one talking point and person at ``at``, in one query (primary keys, and the
    targets' index on ``talking_point_id``)."""
    row = db.session.execute(_facts_statement(due), {"tp_id": tp_id, "user_id": user_id, "at": at}).one_or_none()
    return _facts(row._mapping if row is not None else None)


def facts_many(pairs: list[tuple[int, int]], at: dt.datetime, *, due: bool = False) -> dict[tuple[int, int], Facts]:
    """``facts`` for many (talking point id, person id) pairs in one query (the shares one publish job claimed):
    the same conditions, each pair's answer as ``facts`` would give it.

    Args:
        pairs: (talking point id, user id) of each share.
        at: when the shares go out.
        due: as for ``facts``.
    """
    if not pairs:
        return {}
    tp_ids, user_ids = sorted({p[0] for p in pairs}), sorted({p[1] for p in pairs})
    rows = db.session.execute(_facts_many_statement(due), {"tp_ids": tp_ids, "user_ids": user_ids, "at": at})
    found = {(r.tp_id, r.user_id): r._mapping for r in rows}
    return {pair: _facts(found.get(pair)) for pair in pairs}


def _facts(values: Any) -> Facts:
    if values is None:  # no such talking point or person
        return Facts(BY_NAME["approved"], None, None)
    failed = next((c for c in CONDITIONS if not values[c.name]), None)
    return Facts(failed, values["available_from"], values["available_until"])


def consent_hold(share: Share, now: dt.datetime) -> str | None:
    """Why an auto-share that came due must wait for its owner: a LinkedIn one whose owner's yearly consent to
    automatic posting lapsed (``consent.hold_reason``; one primary-key read, LinkedIn auto-shares only). None: it may
    go."""
    if not share.auto or share.network != "linkedin":
        return None
    from advocacy.delivery import consent

    return consent.hold_reason(share, now)


class AlreadyShared(Conflict):
    """A second live share of the same talking point on the same account: refused, naming the share that holds it."""

    def __init__(self, share: Share) -> None:
        from advocacy.accounts.networks import INTENT_LABELS, LABELS

        label = (INTENT_LABELS | LABELS).get(share.network, share.network)
        state = {"published": "posted", "publishing": "posting"}.get(share.status, share.status)
        super().__init__(f"you already shared this talking point on {label} ({state}): see share {share.id}",
                         "network")
        self.share = share

    @property
    def url(self) -> str:
        return url_for("api_shares.get_share", share_id=self.share.id)

    @property
    def page(self) -> str:
        return url_for("delivery.share_detail", share_id=self.share.id)


def live_share(user_id: int, tp_id: int, network: str) -> Share | None:
    """The person's live share of the talking point on ``network`` (there is at most one), if any."""
    return db.session.scalar(
        select(Share).where(Share.talking_point_id == tp_id, Share.user_id == user_id, Share.network == network,
                            Share.status.in_(LIVE), ~exists().where(PostDeletion.share_id == Share.id))
        .order_by(Share.id.desc()).limit(1))


def live_shares(user_id: int, tp_ids: list[int]) -> dict[tuple[int, str], Share]:
    """The person's live shares of these talking points, by (talking point id, network): one query, for the feed."""
    if not tp_ids:
        return {}
    rows = db.session.scalars(
        select(Share).where(Share.user_id == user_id, Share.talking_point_id.in_(tp_ids), Share.status.in_(LIVE),
                            ~exists().where(PostDeletion.share_id == Share.id))
        .order_by(Share.id))
    return {(s.talking_point_id, s.network): s for s in rows}


def check_may_share(user: User, tp: TalkingPoint, network: str, at: dt.datetime | None = None, *,
                    posting: bool = True) -> None:
    """Raise the ``DomainError`` (naming the field) that refuses this share, or return when it may be made.

    Args:
        user: who shares.
        tp: the talking point.
        network: where it goes.
        at: when it goes out (aware); None: now.
        posting: the share posts through the person's account (not a share dialog): it needs the account
            connected, and no other live share of the talking point there.
    """
    now = utcnow()
    when = at if at is not None and at > now else now
    found = facts(tp.id, user.id, when)
    if found.failed is not None:
        c = found.failed
        if c.name == "open" and at is not None and at > now and (found.available_until or now) > now:
            raise DomainError("is after the talking point stops being available", "scheduled_at")
        raise c.error(c.message, c.field)
    if not posting:
        return
    from advocacy.accounts.services import account_for

    account = account_for(user, network)
    if account is None or account.status != AccountStatus.ACTIVE:
        raise DomainError(f"connect your {network} account first", "network")
    existing = live_share(user.id, tp.id, network)
    if existing is not None:
        raise AlreadyShared(existing)


# the fan-out's query: every condition, for everyone at once
def eligible(at: dt.datetime) -> list[ColumnElement[bool]]:
    """The rule's conditions as ``WHERE`` clauses over ``TalkingPoint`` and ``User`` (the fan-out's audience)."""
    return list(clauses(at).values())

