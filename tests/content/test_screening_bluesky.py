"""Bluesky's length rule counts both of the lexicon's limits on the text as it is sent: 300 graphemes and 3,000 UTF-8
bytes (issue 13: 300 family emoji passed screening and the network refused them)."""

from __future__ import annotations

from advocacy.content.screening import screen

LINK = "https://go.acme.com/r/abcdefgh"  # 30 bytes, and one more for the space before it
FAMILY = "👨\u200d👩\u200d👧\u200d👦"  # one grapheme, 25 bytes


def bluesky_findings(text: str, link: str = LINK):
    return [f for f in screen(text, networks=["bluesky"], link=link, disclosure="#d") if f.rule == "length_bluesky"]


def test_300_family_emoji_are_300_graphemes_but_7500_bytes():
    [over] = bluesky_findings(FAMILY * 300, link="")
    assert over.action == "block" and over.message.startswith("7,500 of 3,000 bytes as bluesky counts them")
    assert over.start == 120 * len(FAMILY) and over.end == 300 * len(FAMILY)  # the 120 that fit stay outside


def test_the_byte_limit_counts_the_link_as_sent():
    fits = FAMILY * 118 + "a" * 19  # 2,950 + 19 + 31 = 3,000 bytes with the link
    assert not bluesky_findings(fits)
    [over] = bluesky_findings(fits + "a")
    assert over.message.startswith("3,001 of 3,000 bytes") and over.end == len(fits) + 1
    holding = FAMILY * 118 + "a" * 18 + " " + LINK  # 2,999 bytes: the link in the text is not appended again
    assert not bluesky_findings(holding)


def test_graphemes_and_bytes_are_each_reported():
    assert [f.message.split(" as ")[0] for f in bluesky_findings("a" * 301, link="")] == ["301 of 300 characters"]
    both = bluesky_findings(FAMILY * 301, link="")
    assert [f.message.split(" as ")[0] for f in both] == ["301 of 300 characters", "7,525 of 3,000 bytes"]


def test_the_preview_blocks_what_bluesky_would_refuse(app, make_user, browser_factory):
    make_user("carl@acme.test", "comms")
    carl = browser_factory("carl@acme.test")
    answer = carl.api("POST", "/api/screening/preview", {"copy": {"generic": "Hi", "bluesky": FAMILY * 200},
                                                         "disclosure": "#iworkforacme"})
    assert answer.status_code == 200, answer.get_json()
    [bluesky] = [p for p in answer.get_json() if p["network"] == "bluesky"]
    assert bluesky["blocked"] is True
    assert any(f["rule"] == "length_bluesky" and "bytes" in f["message"] for f in bluesky["findings"])
