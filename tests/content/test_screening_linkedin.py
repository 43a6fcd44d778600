"""LinkedIn's length rule measures the commentary the connector sends: escapes included, the link only with images."""

from __future__ import annotations

from advocacy.content.screening import measure, screen
from connectors.linkedin import commentary, commentary_length

LINK = "https://go.acme.com/r/abcdefgh"


def linkedin_findings(text: str, **kw):
    return [f for f in screen(text, networks=["linkedin"], link=LINK, disclosure="#d", **kw)
            if f.rule == "length_linkedin"]


def test_escapes_and_hashtag_templates_count():
    """Issue 13: 3,000 characters typed passed screening and 3,011 were sent."""
    typed = "(" * 11 + "x" * 2989
    [over] = linkedin_findings(typed)
    assert over.action == "block" and over.message.startswith("3011 of 3000 characters")
    assert "11 of them little-text escapes" in over.message
    assert over.start == 2989 and over.end == 3000  # the tail that does not fit once escaped
    assert not linkedin_findings("(" * 10 + "x" * 2980)  # 3,000 as sent
    tags = "#a " * 100  # every hashtag becomes {hashtag|\#|a}: 14 characters sent for 2 typed
    assert commentary_length(commentary(tags)) == 1500 and measure(tags, "linkedin") == 1500
    assert linkedin_findings(tags * 3)


def test_an_article_post_does_not_carry_the_link_in_its_commentary():
    assert not linkedin_findings("l" * 3000)  # the link goes in the article card
    assert linkedin_findings("l" * 3001)


def test_with_an_image_the_link_joins_the_commentary_and_counts():
    fits = 3000 - len(LINK) - 1
    assert not linkedin_findings("l" * fits, media=True)
    [over] = linkedin_findings("l" * (fits + 1), media=True)
    assert over.message.startswith("3001 of 3000") and over.end == fits + 1
    assert not linkedin_findings(f"{'l' * fits} {LINK}", media=True)  # the link already in the text: not twice


def test_characters_beyond_the_bmp_count_two_as_linkedin_counts_them():
    assert not linkedin_findings("😀" * 1500)
    [over] = linkedin_findings("😀" * 1501)
    assert over.message.startswith("3002 of 3000")


def _point(make_user, text: str):
    from advocacy.content import workflow

    author = make_user("li-author@acme.test", "comms")
    return author, workflow.create_talking_point(author, title="Report", link="https://acme.test/report",
                                                 variants=[{"network": "linkedin", "text": text}])


def test_a_talking_point_with_an_image_is_measured_with_the_link_in_its_commentary(app, make_user):
    """With an image LinkedIn gets no article card: the tracked link joins the commentary and counts. Screening of a
    talking point and the counter comms and employees read must know it (they measured it as an article post)."""
    from advocacy.content import composing, images, workflow
    from advocacy.errors import DomainError
    from tests.connectors.imagefiles import png

    link = composing.tracked_link_placeholder()
    text = "l" * (3000 - len(link))  # fits as an article post; with the link in the commentary it is 1 over
    author, tp = _point(make_user, text)
    assert composing.preview(tp, "linkedin")["length"] == 3000 - len(link)  # the counter: the link is in the card
    images.set_image(tp, author, png(), "A chart of the results")
    try:
        workflow.submit(tp, author)
    except DomainError as exc:
        assert exc.field == "variants.0.text" and "3001 of 3000" in exc.message
    else:
        raise AssertionError("a LinkedIn copy that does not fit with its link went to review")


def test_the_draft_counter_measures_linkedin_as_sent(app):
    from advocacy.content import composing

    [li] = [p for p in composing.draft_previews({"linkedin": "(" * 10 + "x" * 2980}) if p["network"] == "linkedin"]
    assert li["length"] == 3000 and not li["blocked"]  # escapes counted, the link (in the card) not
