"""The screening engine: every rule a post must pass, in one module.

Rules are a fixed catalogue (``CATALOGUE``); admins switch each on or off, choose ``block`` or ``warn`` and tune its
parameters (limits, banned terms, markers, phone region), stored in ``screening_rules``. A rule without a stored
row uses its defaults. ``screen`` returns findings that name the rule and the offending span of the text.

Lengths are measured the way each network does, on the text plus the tracked link that is appended at publish time:
X with the maintained twitter-text implementation (weighted length, every URL 23), Bluesky in graphemes, Mastodon in
characters with every URL 23. LinkedIn on the commentary exactly as the connector sends it (``connectors.linkedin``:
little-text escapes and hashtag templates included; the link only when images carry it into the text, an article post
carries it in its card), as LinkedIn counts it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from advocacy.errors import DomainError

# phonenumbers, regex, python-stdnum and connectors.threads (with requests) are imported where a rule first needs them:
# together some 4 MiB in every web worker, and most requests never screen a text (issue 18).

BLOCK = "block"
WARN = "warn"
LENGTH_NETWORKS = ("x", "linkedin", "mastodon", "bluesky", "threads")
URL_RE = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
MASTODON_URL_LENGTH = 23


@dataclass(frozen=True)
class RuleSpec:
    """One rule of the catalogue and its defaults."""

    key: str
    label: str
    kind: str
    action: str
    params: Mapping[str, Any]
    help: str


CATALOGUE: tuple[RuleSpec, ...] = (
    RuleSpec("length_x", "X length", "length", BLOCK, {"network": "x", "limit": 280},
             "weighted length as X counts it (twitter-text: URLs 23, CJK and emoji 2)"),
    RuleSpec("length_bluesky", "Bluesky length", "length", BLOCK, {"network": "bluesky", "limit": 300},
             "graphemes (what a reader sees as one character), and at most 3,000 bytes in UTF-8 whatever the limit"),
    RuleSpec("length_mastodon", "Mastodon length", "length", BLOCK, {"network": "mastodon", "limit": 500},
             "characters, every URL counted as 23"),
    RuleSpec("length_linkedin", "LinkedIn length", "length", BLOCK, {"network": "linkedin", "limit": 3000},
             "characters of the commentary as sent (escapes of ( ) @ # _ * and the like count; the link only with "
             "an image)"),
    RuleSpec("length_threads", "Threads length", "length", BLOCK, {"network": "threads", "limit": 500},
             "characters of the text as sent, emoji counted as their UTF-8 bytes (the tracked link rides in the link "
             "card, in the text only with an image); and at most 5 links"),
    RuleSpec("banned_terms", "Banned terms and phrases", "terms", BLOCK, {"terms": []},
             "words and phrases that must never appear (case-insensitive, whole words)"),
    RuleSpec("payment_card", "Payment card numbers", "card", BLOCK, {},
             "13 to 19 digits, spaces or dashes allowed, that pass the Luhn check"),
    RuleSpec("iban", "IBANs", "iban", BLOCK, {}, "bank account numbers with a valid IBAN checksum"),
    RuleSpec("email", "E-mail addresses", "email", WARN, {}, "anything that looks like an e-mail address"),
    RuleSpec("phone", "Phone numbers", "phone", WARN, {"region": "US"},
             "valid phone numbers; numbers without a + are read as numbers of the region (ISO code)"),
    RuleSpec("confidential", "Confidentiality markers", "markers", BLOCK,
             {"markers": ["confidential", "internal only", "internal use only", "not for distribution",
                          "do not share", "under embargo"]},
             "words that mark a text as not for the public"),
    RuleSpec("disclosure", "Required disclosure", "disclosure", WARN, {"text": ""},
             "every share carries a disclosure line; with a text set, that exact text"),
    RuleSpec("disclosure_intact", "Disclosure line intact", "disclosure_intact", BLOCK, {},
             "the talking point's disclosure line is never mangled: not inside a longer word, never negated"),
)
BY_KEY = {r.key: r for r in CATALOGUE}


@dataclass(frozen=True)
class Rule:
    """A rule as configured now."""

    key: str
    label: str
    kind: str
    enabled: bool
    action: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """What a rule found: the rule, block or warn, a message, and the span ``[start, end)`` of the text."""

    rule: str
    label: str
    action: str
    message: str
    start: int
    end: int
    excerpt: str
    network: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        where = f" at {self.start}–{self.end}: “{self.excerpt}”" if self.end > self.start else ""
        return f"{self.label} ({self.rule}, {self.action}): {self.message}{where}"


# ------------------------------------------------------------------------------------------------ configuration
def default_rules() -> list[Rule]:
    return [Rule(s.key, s.label, s.kind, True, s.action, dict(s.params)) for s in CATALOGUE]


def merge(spec: RuleSpec, enabled: bool, action: str, params_json: str) -> Rule:
    """A catalogue rule with an admin's stored settings over its defaults."""
    try:
        stored = json.loads(params_json or "{}")
    except ValueError:
        stored = {}
    params = dict(spec.params) | {k: v for k, v in stored.items() if k in spec.params and k != "network"}
    return Rule(spec.key, spec.label, spec.kind, enabled, action, params)


def clean_settings(key: str, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check an admin's settings for rule ``key``; returns the params to store or raises ``DomainError``.

    Args:
        key: the rule's key in ``CATALOGUE``.
        action: ``block`` or ``warn``.
        params: the rule's parameters (only those the rule has are accepted).
    """
    spec = BY_KEY.get(key)
    if spec is None:
        raise DomainError(f"no screening rule {key!r}", "key")
    if action not in (BLOCK, WARN):
        raise DomainError("must be block or warn", "action")
    unknown = set(params) - set(spec.params) | ({"network"} & set(params))
    if unknown:
        raise DomainError(f"rule {key} has no setting {', '.join(sorted(unknown))}", "params")
    return {name: _clean_param(name, value) for name, value in params.items()}


def _clean_param(name: str, value: Any) -> Any:
    if name == "limit":
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100_000:
            raise DomainError("must be a whole number from 1 to 100000", "params.limit")
    elif name in {"terms", "markers"}:
        if isinstance(value, str):
            value = [line for line in value.splitlines()]
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise DomainError("must be a list of words or phrases", f"params.{name}")
        value = list(dict.fromkeys(t.strip() for t in value if t.strip()))
        if any(len(t) > 200 for t in value) or len(value) > 1000:
            raise DomainError("at most 1000 entries of at most 200 characters", f"params.{name}")
    elif name == "region":
        value = str(value).strip().upper()
        import phonenumbers

        if value and value not in phonenumbers.SUPPORTED_REGIONS:
            raise DomainError(f"{value!r} is not a region code such as US, GB or DE", "params.region")
    elif name == "text":
        value = str(value).strip()
        if len(value) > 200:
            raise DomainError("must be at most 200 characters", "params.text")
    return value


# ------------------------------------------------------------------------------------------------------ measuring
def _parse_tweet(text: str) -> Any:
    """X's own counting (twitter-text), imported on first use: it loads ``pkg_resources``, ~12 MiB in a process."""
    from twitter_text import parse_tweet

    return parse_tweet(text)


def measure(text: str, network: str) -> int:
    """The length of ``text`` as ``network`` counts it.

    Args:
        text: the whole post, link included.
        network: x, bluesky, mastodon or linkedin.
    """
    if network == "x":
        return int(_parse_tweet(text).weightedLength)
    if network == "bluesky":
        return len(_graphemes(text))
    if network == "mastodon":
        return len(URL_RE.sub("x" * MASTODON_URL_LENGTH, text))
    if network == "linkedin":  # the text as given, escaped as the connector sends it
        from connectors.linkedin import commentary as linkedin_commentary
        from connectors.linkedin import commentary_length as linkedin_length

        return linkedin_length(linkedin_commentary(text))
    if network == "threads":
        from connectors.threads import text_length as threads_length

        return threads_length(text)
    return len(text)


def sent_length(text: str, network: str, link: str = "", media: bool = False) -> int:
    """The length of a post as ``network`` counts it, measured on what the connector sends: ``text`` with ``link``
    appended, except on LinkedIn, where an article post carries the link in its card, not in the commentary (with
    ``media`` the link joins the commentary).

    Args:
        text: the composed text (copy, hashtags, disclosure), without the link.
        network: one of ``LENGTH_NETWORKS``.
        link: the tracked link the share appends.
        media: the post carries images.
    """
    if network == "linkedin":
        from connectors.linkedin import commentary as linkedin_commentary
        from connectors.linkedin import commentary_length as linkedin_length

        return linkedin_length(linkedin_commentary(text, link or None, media=media))
    if network == "threads":  # a text post carries the link in its card; with an image it joins the text
        from connectors.threads import post_text as threads_post_text
        from connectors.threads import text_length as threads_length

        return threads_length(threads_post_text(text, link or None, media=media))
    return measure(f"{text} {link}" if link else text, network)


def _graphemes(text: str) -> list[str]:
    """What a reader sees as characters (Unicode extended grapheme clusters, which ``re`` cannot match)."""
    import regex

    return regex.findall(r"\X", text)


def _overflow_start(text: str, network: str, limit: int) -> int:
    """Index in ``text`` of the first character past ``limit`` (for the finding's span)."""
    if network == "bluesky":
        return len("".join(_graphemes(text)[:limit]))
    if network == "x":
        end = int(_parse_tweet(text).validRangeEnd)
        return min(end + 1, len(text))
    low, high = 0, len(text)  # the longest prefix within the limit
    while low < high:
        mid = (low + high + 1) // 2
        if measure(text[:mid], network) <= limit:
            low = mid
        else:
            high = mid - 1
    return low


# ---------------------------------------------------------------------------------------------------- detectors
CARD_RE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])")
IBAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{1,4}){3,8}")
EMAIL_RE = re.compile(r"(?<![\w@.+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w@])")


def _cards(text: str) -> Iterator[tuple[int, int]]:
    from stdnum import luhn

    for m in CARD_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn.is_valid(digits):
            yield m.start(), m.end()


def _ibans(text: str) -> Iterator[tuple[int, int]]:
    from stdnum import iban

    for m in IBAN_RE.finditer(text):
        candidate = m.group()
        while len(candidate) >= 15:  # the match may run into the next word: try shorter on group boundaries
            if iban.is_valid(candidate):
                yield m.start(), m.start() + len(candidate)
                break
            candidate = candidate[:-1].rstrip()


def _emails(text: str) -> Iterator[tuple[int, int]]:
    for m in EMAIL_RE.finditer(text):
        yield m.start(), m.end()


def _phones(text: str, region: str) -> Iterator[tuple[int, int]]:
    import phonenumbers

    for m in phonenumbers.PhoneNumberMatcher(text, region or None, leniency=phonenumbers.Leniency.VALID):
        yield m.start, m.end


def _phrases(text: str, phrases: Iterable[str]) -> Iterator[tuple[int, int]]:
    words = [p for p in phrases if p.strip()]
    if not words:
        return
    pattern = "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in sorted(words, key=len, reverse=True))
    for m in re.finditer(rf"(?<!\w)(?:{pattern})(?!\w)", text, re.IGNORECASE):
        yield m.start(), m.end()


# -------------------------------------------------------------------------------------------------------- screen
@dataclass(frozen=True)
class _Context:
    text: str
    networks: frozenset[str]
    link: str
    disclosure: str
    media: bool = False


Hit = tuple[int, int, str, str | None]  # start, end, message, network


def _check_length(ctx: _Context, p: Mapping[str, Any]) -> Iterator[Hit]:
    network = str(p["network"])
    if network not in ctx.networks:
        return
    if network == "linkedin":
        yield from _check_linkedin_length(ctx, int(p["limit"]))
        return
    if network == "bluesky":
        yield from _check_bluesky_length(ctx, int(p["limit"]))
        return
    if network == "threads":
        yield from _check_threads_length(ctx, int(p["limit"]))
        return
    full = f"{ctx.text} {ctx.link}" if ctx.link else ctx.text
    size, limit = measure(full, network), int(p["limit"])
    if size > limit:
        start = _overflow_start(full, network, limit)
        if start >= len(ctx.text):  # only the appended link goes over: show the tail it pushes out
            start = max(0, len(ctx.text) - (size - limit))
        yield start, len(ctx.text), f"{size} of {limit} characters as {network} counts them", network


def _check_bluesky_length(ctx: _Context, limit: int) -> Iterator[Hit]:
    """The Bluesky text exactly as the connector sends it (the link appended unless the text holds it), in graphemes
    against the rule's limit and in UTF-8 bytes against the lexicon's 3,000 (300 family emoji are 300 graphemes but
    7,500 bytes)."""
    from connectors.bluesky import MAX_BYTES as BLUESKY_MAX_BYTES  # the client loads on first use

    full = f"{ctx.text} {ctx.link}" if ctx.link and ctx.link not in ctx.text else ctx.text
    count = measure(full, "bluesky")
    if count > limit:
        start = _overflow_start(full, "bluesky", limit)
        if start >= len(ctx.text):  # only the appended link goes over: show the tail it pushes out
            start = max(0, len(ctx.text) - (count - limit))
        yield start, len(ctx.text), f"{count} of {limit} characters as bluesky counts them", "bluesky"
    data = full.encode("utf-8")
    if len(data) > BLUESKY_MAX_BYTES:
        start = min(len(data[:BLUESKY_MAX_BYTES].decode("utf-8", "ignore")), max(0, len(ctx.text) - 1))
        yield start, len(ctx.text), (f"{len(data):,} of {BLUESKY_MAX_BYTES:,} bytes as bluesky counts them (UTF-8: "
                                     "emoji and accented letters take several)"), "bluesky"


def _check_threads_length(ctx: _Context, limit: int) -> Iterator[Hit]:
    """The Threads text exactly as the connector sends it (``connectors.threads.post_text``: a text post carries the
    tracked link as its link card, outside the text; an image post in the text), counted as Threads counts (emoji as
    their UTF-8 bytes), and its links against Threads' 5 (the card's link counts when it is a different one)."""
    from connectors.threads import MAX_LINKS as THREADS_MAX_LINKS
    from connectors.threads import links_in as threads_links
    from connectors.threads import post_text as threads_post_text
    from connectors.threads import text_length as threads_length

    sent = threads_post_text(ctx.text, ctx.link or None, media=ctx.media)
    count = threads_length(sent)
    if count > limit:
        start = min(_overflow_start(sent, "threads", limit), max(0, len(ctx.text) - 1))
        yield start, len(ctx.text), f"{count} of {limit} characters as threads counts them (emoji as their bytes)", \
            "threads"
    links = threads_links(sent, None if ctx.media else ctx.link or None)
    if len(links) > THREADS_MAX_LINKS:
        yield 0, len(ctx.text), f"{len(links)} links; threads takes at most {THREADS_MAX_LINKS}", "threads"


def _check_linkedin_length(ctx: _Context, limit: int) -> Iterator[Hit]:
    """The LinkedIn commentary exactly as sent (``connectors.linkedin.commentary``), measured as LinkedIn measures it;
    the span starts where the text stops fitting."""
    from connectors.linkedin import commentary as linkedin_commentary
    from connectors.linkedin import commentary_length as linkedin_length

    def size(text: str) -> int:
        return linkedin_length(linkedin_commentary(text, ctx.link or None, media=ctx.media))

    total = size(ctx.text)
    if total <= limit:
        return
    low, high = 0, len(ctx.text)  # the longest prefix whose commentary fits
    while low < high:
        mid = (low + high + 1) // 2
        if size(ctx.text[:mid]) <= limit:
            low = mid
        else:
            high = mid - 1
    plain = f"{ctx.text} {ctx.link}" if ctx.media and ctx.link and ctx.link not in ctx.text else ctx.text
    escapes = total - linkedin_length(plain)
    note = f", {escapes} of them little-text escapes" if escapes > 0 else ""
    yield low, len(ctx.text), f"{total} of {limit} characters as linkedin counts them{note}", "linkedin"


def _check_terms(ctx: _Context, p: Mapping[str, Any]) -> Iterator[Hit]:
    for s, e in _phrases(ctx.text, p.get("terms", [])):
        yield s, e, "a banned term", None


def _check_markers(ctx: _Context, p: Mapping[str, Any]) -> Iterator[Hit]:
    for s, e in _phrases(ctx.text, p.get("markers", [])):
        yield s, e, "marks the text as not for the public", None


def _check_cards(ctx: _Context, p: Mapping[str, Any]) -> Iterator[Hit]:
    for s, e in _cards(ctx.text):
        yield s, e, "a payment card number (passes the Luhn check)", None


def _check_ibans(ctx: _Context, p: Mapping[str, Any]) -> Iterator[Hit]:
    for s, e in _ibans(ctx.text):
        yield s, e, "an IBAN (valid checksum)", None


def _check_emails(ctx: _Context, p: Mapping[str, Any]) -> Iterator[Hit]:
    for s, e in _emails(ctx.text):
        yield s, e, "an e-mail address", None


def _check_phones(ctx: _Context, p: Mapping[str, Any]) -> Iterator[Hit]:
    numbers = list(_cards(ctx.text)) + list(_ibans(ctx.text))  # already reported as what they are
    for s, e in _phones(ctx.text, str(p.get("region", ""))):
        if not any(ns <= s < ne for ns, ne in numbers):
            yield s, e, "a phone number", None


def _check_disclosure(ctx: _Context, p: Mapping[str, Any]) -> Iterator[Hit]:
    required = str(p.get("text", "")).strip()
    if required and required.casefold() not in ctx.text.casefold():
        yield 0, 0, f"the required disclosure {required!r} is missing", None
    elif not required and not ctx.disclosure.strip():
        yield 0, 0, "no disclosure line: add one such as #iworkforacme", None


NEGATIONS = frozenset({"not", "no", "non", "never", "nor", "without", "ex", "former", "formerly", "isn't", "isnt",
                       "aren't", "arent", "don't", "dont", "doesn't", "doesnt", "didn't", "didnt", "won't", "wont",
                       "nope", "nah", "anti"})
TOKEN_CHARS = re.compile(r"[\w#@'’-]")


def _check_disclosure_intact(ctx: _Context, p: Mapping[str, Any]) -> Iterator[Hit]:
    """The disclosure line mangled: inside a longer word ("#iworkforacmenot") or negated ("not #iworkforacme")."""
    line = ctx.disclosure.split()
    if not line:
        return
    pattern = r"\s+".join(re.escape(w) for w in line)
    text = ctx.text
    for m in re.finditer(pattern, text, re.IGNORECASE):
        start, end = m.start(), m.end()
        while start > 0 and TOKEN_CHARS.match(text[start - 1]):
            start -= 1
        while end < len(text) and TOKEN_CHARS.match(text[end]):
            end += 1
        if (start, end) != (m.start(), m.end()):
            yield start, end, (f"the disclosure line {ctx.disclosure!r} is part of a longer word: keep it whole and "
                               "apart (it is added at the end anyway)"), None
            continue
        before = re.findall(r"[\w'’]+", text[max(0, start - 40):start])
        if before and before[-1].casefold().replace("’", "'") in NEGATIONS:
            start = text.rfind(before[-1], 0, start)
            yield start, end, (f"the disclosure line {ctx.disclosure!r} is negated: remove the "
                               f"{before[-1]!r} before it (the line is added at the end anyway)"), None


CHECKS = {"length": _check_length, "terms": _check_terms, "markers": _check_markers, "card": _check_cards,
          "iban": _check_ibans, "email": _check_emails, "phone": _check_phones, "disclosure": _check_disclosure,
          "disclosure_intact": _check_disclosure_intact}


def screen(text: str, *, networks: Iterable[str] = (), link: str = "", disclosure: str = "",
           rules: Iterable[Rule] | None = None, media: bool = False) -> list[Finding]:
    """Run every enabled rule on ``text``.

    Args:
        text: the text that will go out (copy, hashtags and disclosure), without the tracked link.
        networks: the networks it goes to; their length rules apply (none: no length rule).
        link: the link appended at publish time, counted in lengths.
        disclosure: the talking point's locked disclosure line.
        rules: the configured rules (``services.screening_rules()``); the defaults when None.
        media: the post carries images (on LinkedIn the link then joins the commentary instead of a link card).
    """
    ctx = _Context(text, frozenset(networks), link, disclosure, media)
    findings: list[Finding] = []
    for rule in default_rules() if rules is None else rules:
        if rule.enabled:
            for start, end, message, network in CHECKS[rule.kind](ctx, rule.params):
                findings.append(Finding(rule.key, rule.label, rule.action, message, start, end, text[start:end],
                                        network))
    return findings


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.action == BLOCK]
