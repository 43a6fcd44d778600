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
