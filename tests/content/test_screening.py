"""Each rule of the screening engine catches what it should and passes what it should."""

from __future__ import annotations

import pytest

from advocacy.content.screening import default_rules, measure, screen

LINK = "https://go.acme.com/r/abcdefgh"


def rules_of(text: str, **kw) -> list[str]:
    return [f.rule for f in screen(text, disclosure="#iworkforacme", **kw)]


@pytest.mark.parametrize("number", ["4111 1111 1111 1111", "4111-1111-1111-1111", "5500005555555559",
                                    "378282246310005"])
def test_luhn_valid_card_numbers_are_blocked_with_their_span(number):
    text = f"Pay with {number} today"
    [finding] = screen(text, disclosure="#d")
    assert finding.rule == "payment_card" and finding.action == "block"
    assert text[finding.start:finding.end] == number == finding.excerpt


@pytest.mark.parametrize("text", ["Order 4111 1111 1111 1112 shipped",  # Luhn-invalid
                                  "Ticket 1234 5678 9012 3456 closed",  # looks like a card, fails Luhn
                                  "Call 0000 0000 0000 0000",  # Luhn-valid but no card
                                  "Revenue grew 12% to 1,234,567,890 in 2025-2026"])
def test_text_that_only_looks_like_a_card_number_passes(text):
    assert "payment_card" not in rules_of(text)


def test_ibans_with_a_valid_checksum_are_caught_and_invalid_ones_pass():
    good = "Send to DE89 3704 0044 0532 0130 00 THANKS"
    [finding] = [f for f in screen(good, disclosure="#d") if f.rule == "iban"]
    assert finding.excerpt == "DE89 3704 0044 0532 0130 00"
    assert "iban" in rules_of("GB82WEST12345698765432")
    assert "iban" not in rules_of("Send to DE89 3704 0044 0532 0130 01")  # checksum off by one
    assert "iban" not in rules_of("Our model DE12 is great")


def test_email_addresses_warn_but_mastodon_handles_do_not():
    findings = screen("Write to jo.smith+pr@acme.co.uk or follow @alice@mastodon.social", disclosure="#d")
    assert [(f.rule, f.excerpt, f.action) for f in findings] == [("email", "jo.smith+pr@acme.co.uk", "warn")]


def test_phone_numbers_warn_but_dates_and_plain_numbers_do_not():
    findings = screen("Call +44 20 7946 0958 or (202) 555-0143", disclosure="#d")
    assert [f.excerpt for f in findings if f.rule == "phone"] == ["+44 20 7946 0958", "(202) 555-0143"]
    assert "phone" not in rules_of("On 2026-01-15 we had 12345678 visitors and 42 launches")


@pytest.mark.parametrize("marker", ["CONFIDENTIAL", "Internal only", "internal   use only", "Not for distribution"])
def test_confidentiality_markers_block(marker):
    findings = screen(f"Our plan ({marker}) is great", disclosure="#d")
    assert [(f.rule, f.action) for f in findings] == [("confidential", "block")]
    assert findings[0].excerpt == marker


def test_markers_match_whole_words_only():
    assert "confidential" not in rules_of("We are confidentiality champions")


def test_banned_terms_are_configurable_whole_word_and_case_insensitive():
    rules = [r if r.key != "banned_terms" else type(r)(r.key, r.label, r.kind, True, "block",
                                                         {"terms": ["guaranteed returns", "crypto"]})
             for r in default_rules()]
    text = "Guaranteed   Returns on Crypto! (cryptography is fine)"
    findings = [f for f in screen(text, rules=rules, disclosure="#d") if f.rule == "banned_terms"]
    assert [f.excerpt for f in findings] == ["Guaranteed   Returns", "Crypto"]


def test_x_counts_weighted_length_with_urls_as_23():
    assert measure("a" * 200 + " https://example.com/" + "p" * 200, "x") == 200 + 1 + 23
    assert measure("日本語", "x") == 6  # CJK counts double on X
    text = "a" * 256  # + space + link (23) = 280: fits exactly
    assert "length_x" not in rules_of(text, networks=["x"], link=LINK)
    [finding] = [f for f in screen(text + "a", networks=["x"], link=LINK, disclosure="#d")]
    assert finding.rule == "length_x" and "281 of 280" in finding.message


def test_bluesky_counts_graphemes():
    family = "👩\u200d👩\u200d👧\u200d👦"  # one grapheme, seven code points
    accented = "e\u0301"  # one grapheme, two code points
    assert measure(family + accented, "bluesky") == 2
    text = family * 80 + accented * (300 - len(LINK) - 1 - 80)  # 300 graphemes with the link, 2,598 bytes
    assert "length_bluesky" not in rules_of(text, networks=["bluesky"], link=LINK)
    over = screen(text + accented, networks=["bluesky"], link=LINK, disclosure="#d")
    assert [f.rule for f in over] == ["length_bluesky"] and over[0].excerpt


def test_mastodon_500_and_linkedin_3000():
    assert "length_mastodon" not in rules_of("m" * 476, networks=["mastodon"], link=LINK)  # 476 + 1 + 23
    assert "length_mastodon" in rules_of("m" * 477, networks=["mastodon"], link=LINK)
    limit = 3000 - len(LINK) - 1  # with an image the link joins LinkedIn's commentary (see test_screening_linkedin)
    assert "length_linkedin" not in rules_of("l" * limit, networks=["linkedin"], link=LINK, media=True)
    assert "length_linkedin" in rules_of("l" * (limit + 1), networks=["linkedin"], link=LINK, media=True)


def test_length_rules_only_apply_to_the_networks_asked_for():
    assert rules_of("z" * 600) == []


def test_disclosure_is_required():
    assert [f.rule for f in screen("Hello", disclosure="")] == ["disclosure"]
    assert screen("Hello #iworkforacme", disclosure="#iworkforacme") == []


def test_text_in_any_script_passes_clean():
    text = "مرحبا بالعالم ‏שלום 👨‍👩‍👧 नमस्ते Ṱ̴͉e̷s̸t̶ #iworkforacme"
    assert screen(text, networks=["x", "bluesky", "mastodon", "linkedin"], link=LINK, disclosure="#iworkforacme") == []
