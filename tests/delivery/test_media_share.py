"""A talking point's image goes out with its shares: an RQ worker posts the share to the X sandbox, which records the
image it was given (type, size, alt text) and serves the bytes back."""

from __future__ import annotations

from typing import Any

import requests
from sqlalchemy import inspect

from advocacy.content import images, workflow
from advocacy.delivery import services
from advocacy.delivery.models import Share
from advocacy.extensions import db
from tests.conftest import run_jobs
from tests.content.test_media import GIF, OTHER_PNG, png
from tests.delivery.support import approved, employee

PNG = png(24, 12)
ALT = "A rocket on a launch pad at dawn"


def fresh(share: Share) -> Share:
    db.session.expire_all()
    found = db.session.get(Share, inspect(share).identity[0])
    assert found is not None
    return found


def with_image(data: bytes, alt: str = ALT) -> Any:
    """An approved talking point whose image (set before review) the approval covers."""
    from sqlalchemy import select

    from advocacy.people.models import User

    tp = approved()
    images.set_image(tp, tp.author, data, alt, "rocket.png")  # an edit: back to review ...
    workflow.approve(tp, db.session.scalar(select(User).where(User.email == "reviewer@acme.test")))  # ... approved
    assert tp.status == "approved"
    return tp


def post_of(x: Any, share: Share) -> dict[str, Any]:
    [post] = [p for p in x.posts() if share.code in p["text"]]
    return post


def test_a_share_goes_out_with_the_talking_points_image(app, x):
    user = employee("emma@acme.test", "emma_acme")
    share = services.create_share(user, with_image(PNG), "x")
    run_jobs(app)
    share = fresh(share)
    assert share.status == "published", share.last_error
    post = post_of(x, share)
    assert post["id"] == share.post_id
    [media] = post["media"]
    assert media["type"] == "photo" and media["content_type"] == "image/png" and media["size"] == len(PNG)
    assert media["alt_text"] == ALT
    served = requests.get(f"{x.url}/i/media/{media['media_key']}", timeout=5)
    assert served.status_code == 200 and served.content == PNG  # the very bytes comms uploaded


def test_a_share_without_an_image_posts_none(app, x):
    user = employee("emma@acme.test", "emma_acme")
    share = services.create_share(user, approved(), "x")
    run_jobs(app)
    assert fresh(share).status == "published"
    assert post_of(x, share)["media"] == []
    assert [r for r in x.requests() if r["path"].startswith("/2/media")] == []  # nothing uploaded


def test_a_queued_share_carries_the_approved_image_while_a_new_one_waits_for_review(app, x):
    user = employee("emma@acme.test", "emma_acme")
    tp = with_image(PNG)
    share = services.create_share(user, tp, "x")
    images.set_image(tp, tp.author, OTHER_PNG, "Not approved yet")  # back to review: not what shares carry
    assert tp.status == "in_review"
    run_jobs(app)
    share = fresh(share)
    assert share.status == "published", share.last_error
    [media] = post_of(x, share)["media"]
    assert media["alt_text"] == ALT and media["size"] == len(PNG)


def test_a_gif_goes_out_as_one(app, x):
    user = employee("emma@acme.test", "emma_acme")
    share = services.create_share(user, with_image(GIF), "x")
    run_jobs(app)
    share = fresh(share)
    assert share.status == "published", share.last_error
    [media] = post_of(x, share)["media"]
    assert media["content_type"] == "image/gif" and media["alt_text"] == ALT


def test_an_image_the_network_refuses_fails_the_share_with_the_connectors_reason(app, x):
    """Comms were warned on the talking point's page; a share there fails naming the limit and posts nothing."""
    from connectors import x as x_connector

    app.config["MEDIA_MAX_BYTES"] = 6_000_000  # this install takes larger images than X does
    big = png(24, 12) + b"\x00" * x_connector.IMAGE_MAX_BYTES
    tp = with_image(big)
    assert [f.network for f in images.image_findings(tp)] == ["x", "bluesky"]
    user = employee("emma@acme.test", "emma_acme")
    share = services.create_share(user, tp, "x")
    run_jobs(app)
    share = fresh(share)
    assert share.status == "failed" and share.last_error.startswith("Rejected")
    assert f"{x_connector.IMAGE_MAX_BYTES:,} bytes" in share.last_error
    assert [p for p in x.posts() if share.code in p["text"]] == []  # never posted without its image


def test_after_a_new_image_is_approved_the_next_share_carries_it_though_the_worker_read_the_old_one(app, x):
    """A worker reads an image's bytes once and keeps them; a newly approved image (or new alt text) is a new row
    that the next share's claim names, so it goes out with the new one, never the old."""
    from sqlalchemy import select

    from advocacy.content.models import TalkingPoint
    from advocacy.people.models import User

    tp = with_image(PNG)
    tp_id = tp.id
    first = services.create_share(employee("emma@acme.test", "emma_acme"), tp, "x")
    run_jobs(app)
    assert post_of(x, fresh(first))["media"][0]["alt_text"] == ALT
    tp = db.session.get(TalkingPoint, tp_id)
    images.set_image(tp, tp.author, OTHER_PNG, "The new picture")
    workflow.approve(tp, db.session.scalar(select(User).where(User.email == "reviewer@acme.test")))
    second = services.create_share(employee("noah@acme.test", "noah_acme"), tp, "x")
    run_jobs(app)  # the same process: the first image is still in its memory
    [media] = post_of(x, fresh(second))["media"]
    assert media["alt_text"] == "The new picture" and media["size"] == len(OTHER_PNG)
    tp = db.session.get(TalkingPoint, tp_id)
    images.set_image(tp, tp.author, OTHER_PNG, "The new picture, described")  # the same bytes, new words
    workflow.approve(tp, db.session.scalar(select(User).where(User.email == "reviewer@acme.test")))
    third = services.create_share(employee("mia@acme.test", "mia_acme"), tp, "x")
    run_jobs(app)
    assert post_of(x, fresh(third))["media"][0]["alt_text"] == "The new picture, described"
