"""The disclosure line cannot be removed: it is appended unless the copy ends with exactly the line, and screening
blocks a mangled copy of it (inside a longer word, or negated)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from advocacy.content import composing, screening, workflow
from advocacy.content.models import TalkingPoint
from advocacy.delivery.models import Share
from advocacy.errors import DomainError
from advocacy.extensions import db
from tests.conftest import connect_x

LINE = "#iworkforacme"


def tp_with(**fields) -> TalkingPoint:
    return TalkingPoint(hashtags=fields.get("hashtags", ""), disclosure=LINE, employees_may_edit=True,
                        variants=[])


@pytest.mark.parametrize(("body", "composed"), [
    ("Great news #iworkforacmenot", "Great news #iworkforacmenot #iworkforacme"),
    ("Great news (not #iworkforacme)", "Great news (not #iworkforacme) #iworkforacme"),
    ("#iworkforacme great news", "#iworkforacme great news #iworkforacme"),
    ("Great news x#iworkforacme", "Great news x#iworkforacme #iworkforacme"),
    ("Great news #iworkforacme", "Great news #iworkforacme"),
    ("Great news\n\n#iworkforacme", "Great news\n\n#iworkforacme"),  # laid out as written
    ("Great news #IWorkForAcme", "Great news #IWorkForAcme #iworkforacme"),
])
def test_the_line_is_appended_unless_the_copy_ends_with_exactly_it(app, body, composed):
    assert composing._compose(tp_with(), body) == composed


def test_the_line_stays_last_after_the_hashtags_and_the_copy_keeps_its_line_breaks(app):
    tp = tp_with(hashtags="#hiring")
    assert composing._compose(tp, "Join us\nnow #iworkforacme") == "Join us\nnow #hiring #iworkforacme"


@pytest.mark.parametrize(("text", "words"), [
    ("Great news #iworkforacmenot", "part of a longer word"),
    ("Great news not#iworkforacme", "part of a longer word"),
    ("Great news (not #iworkforacme)", "negated"),
    ("Great news, NOT #IWorkForAcme!", "negated"),
    ("I never #iworkforacme", "negated"),
])
def test_screening_blocks_a_mangled_copy_of_the_line(text, words):
    composed = f"{text} {LINE}"
    found = [f for f in screening.screen(composed, disclosure=LINE) if f.rule == "disclosure_intact"]
    assert found and found[0].action == screening.BLOCK and words in found[0].message
    assert LINE.casefold() in found[0].excerpt.casefold()


@pytest.mark.parametrize("text", ["Great news #iworkforacme", "Great news (#iworkforacme).",
                                  "Proud of us. #iworkforacme", "Not bad at all: we shipped #iworkforacme"])
def test_screening_lets_the_line_used_plainly_pass(text):
    assert [f for f in screening.screen(f"{text} {LINE}", disclosure=LINE) if f.rule == "disclosure_intact"] == []


def test_an_employee_share_with_a_mangled_line_is_refused_with_a_clear_message(app, make_user, browser_factory,
                                                                               policy):
    author, reviewer = make_user("a@acme.test", "comms"), make_user("r@acme.test", "comms")
    make_user("emma@acme.test")
    tp = workflow.create_talking_point(author, title="News", link="https://acme.example/n", text="Great news",
                                       disclosure=LINE)
    workflow.submit(tp, author)
    workflow.approve(tp, reviewer)
    with pytest.raises(DomainError) as refused:
        composing.check_employee_copy(tp, "mastodon", "Great news #iworkforacmenot")
    assert refused.value.field == "text" and "disclosure line" in refused.value.message
    emma = browser_factory("emma@acme.test")
    emma.post("/policy/acknowledge", {"version": 1})
    emma.post("/opt-in")
    connect_x(emma, "emma_acme")
    answer = emma.post("/share", {"talking_point_id": tp.id, "network": "x", "text": "Great (not #iworkforacme)"})
    assert answer.status_code == 422 and "negated" in answer.get_data(as_text=True)
    assert db.session.scalars(select(Share)).all() == []
    # wording that ends with the line exactly is shared as written, the line once
    assert emma.post("/share", {"talking_point_id": tp.id, "network": "x",
                                "text": "Big day for us #iworkforacme"}).status_code == 302
    assert db.session.scalars(select(Share.text)).one() == "Big day for us #iworkforacme"
