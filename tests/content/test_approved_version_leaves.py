"""Only approved content leaves: a share, its tracked link and its redirect carry the version approved when the
share was made, never an edit waiting for review."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from advocacy.content import workflow
from advocacy.content.models import TalkingPoint
from advocacy.delivery.models import Share, ShareStatus
from advocacy.delivery.services import create_share
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.people.models import User
from tests.content.test_targeting_and_recall import approved, share_published
from tests.content.test_targeting_and_recall import org as org  # noqa: F401 (the fixture)

APPROVED = "https://acme.example/p"
EDITED = "https://evil.example/unapproved"


def person(email: str) -> User:
    return db.session.scalars(select(User).where(User.email == email)).one()


def redirect(client, code: str) -> str:
    answer = client.get(f"/r/{code}")
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return answer.headers["Location"]


def test_the_tracked_link_keeps_the_approved_url_while_an_edit_waits_for_review(app, org, browser_factory, policy,
                                                                                 client):
    tp_id = approved(org, "Frozen").id
    old = share_published(app, browser_factory, tp_id, "sam@acme.test", "sam_acme")
    old_code = old.code
    assert old.link == APPROVED

    tp = db.session.get(TalkingPoint, tp_id)
    workflow.update_talking_point(tp, person("author@acme.test"), link=EDITED)
    assert tp.status == "in_review" and tp.link == EDITED and tp.approved_link == APPROVED
    # the first click after the edit: the share's own (approved) link, not the edit waiting for review
    assert redirect(client, old_code).startswith(f"{APPROVED}?") and "evil" not in redirect(client, old_code)
    with pytest.raises(DomainError):  # no new share of the version waiting for review
        create_share(person("sue@acme.test"), tp, "x")

    workflow.approve(db.session.get(TalkingPoint, tp_id), person("reviewer@acme.test"))
    new = share_published(app, browser_factory, tp_id, "sue@acme.test", "sue_acme")
    assert new.link == EDITED and redirect(client, new.code).startswith(f"{EDITED}?")
    assert redirect(client, old_code).startswith(f"{APPROVED}?")  # the old share keeps its own
    links = dict(db.session.execute(select(Share.code, Share.link)).all())
    assert links == {old_code: APPROVED, new.code: EDITED}


def test_a_share_row_made_without_a_link_takes_the_approved_one(app, org):
    people, _, _ = org
    tp = approved(org, "Hand made")
    workflow.update_talking_point(tp, people["author"], link=EDITED)  # pending review
    share = Share(talking_point_id=tp.id, user_id=people["sam"].id, network="x", text="t", code="handmade1",
                  status=ShareStatus.CANCELLED)
    db.session.add(share)
    db.session.commit()
    assert share.link == APPROVED


def test_the_link_card_title_a_share_carries_is_the_approved_one(app, org):
    """LinkedIn's article card: never the title of an edit waiting for review, never another page's."""
    from advocacy.content.link_previews import LinkPreview, link_preview, shared_link_title

    tp = approved(org, "Card")
    card = link_preview(tp.id)  # saving the talking point asked for its card; here it is, fetched
    assert isinstance(card, LinkPreview) and card.url == APPROVED
    card.title = "The approved page"
    db.session.commit()
    assert shared_link_title(tp.id, APPROVED) == "The approved page"
    workflow.set_link_title(tp, person("author@acme.test"), "Buy now")  # an edit: back to review
    assert tp.status == "in_review" and shared_link_title(tp.id, APPROVED) is None
    workflow.approve(tp, person("reviewer@acme.test"))
    assert shared_link_title(tp.id, APPROVED) == "Buy now"
    workflow.update_talking_point(tp, person("author@acme.test"), link=EDITED)  # a new page, waiting for review
    assert shared_link_title(tp.id, APPROVED) is None and shared_link_title(tp.id, EDITED) is None
    workflow.approve(tp, person("reviewer@acme.test"))
    card = link_preview(tp.id)
    card.title = "The new page"  # its card fetched
    db.session.commit()
    assert shared_link_title(tp.id, EDITED) == "The new page"
    assert shared_link_title(tp.id, APPROVED) is None  # an older share of the first page: not the new page's title
