"""Factories for reach tests: talking points, published shares (straight in the database, or really posted to the
sandbox X), clicks through the real redirect, and the rollup."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from advocacy.content.models import Status, TalkingPoint, Variant
from advocacy.delivery.models import Share, ShareStatus
from advocacy.extensions import db
from advocacy.people.models import Team, User

HUMAN = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Safari/605.1"
_codes = itertools.count(1)


@pytest.fixture()
def factory(app: Any, make_user: Any) -> Any:
    return Factory(make_user)


class Factory:
    def __init__(self, make_user: Any) -> None:
        self.make_user = make_user
        self.author: User | None = None

    def team(self, name: str) -> Team:
        team = Team(name=name)
        db.session.add(team)
        db.session.commit()
        return team

    def talking_point(self, title: str = "We are hiring",
                      link: str = "https://acme.test/jobs?team=platform") -> TalkingPoint:
        if self.author is None:
            self.author = self.make_user("author@acme.test", "comms")
        tp = TalkingPoint(title=title, link=link, status=Status.APPROVED, author_id=self.author.id,
                          variants=[Variant(network="generic", text="Come build with us.")])
        db.session.add(tp)
        db.session.commit()
        return tp

    def share(self, user: User, tp: TalkingPoint, network: str = "x", published: dt.datetime | None = None,
              followers: int | None = 1000) -> Share:
        published = published or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        share = Share(talking_point_id=tp.id, user_id=user.id, network=network, text="Come build with us.",
                      code=f"code{next(_codes):04d}", status=ShareStatus.PUBLISHED, published_at=published,
                      post_id=f"p{next(_codes)}", followers_at_share=followers, scheduled_at=published)
        db.session.add(share)
        db.session.commit()
        return share


def click(client: Any, share: Share, ip: str = "203.0.113.7", ua: str = HUMAN, method: str = "GET") -> Any:
    """Follow a tracked link like a visitor from ``ip``."""
    return client.open(f"/r/{share.code}", method=method, headers={"User-Agent": ua},
                       environ_base={"REMOTE_ADDR": ip})


def rollup() -> int:
    from advocacy.reach.rollup import rollup as run

    return run()
