"""Share intents: links that open a network's own share dialog, for networks or accounts without a posting API.

Pure functions, no token, no HTTP. The person writes and posts in the network's dialog; the app only knows the
dialog was opened (a share "opened", never "posted"). Each base URL is a parameter so it can be a setting.

- X: ``https://twitter.com/intent/tweet?text=…&url=…`` (text and link prefilled).
- LinkedIn: ``https://www.linkedin.com/sharing/share-offsite/?url=…`` (the link only; LinkedIn reads its preview).
- Facebook: ``https://www.facebook.com/sharer/sharer.php?u=…`` (the link only; personal profiles have no posting API).
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

X_INTENT_URL = "https://twitter.com/intent/tweet"
LINKEDIN_SHARE_URL = "https://www.linkedin.com/sharing/share-offsite/"
FACEBOOK_SHARER_URL = "https://www.facebook.com/sharer/sharer.php"
NETWORKS = ("x", "linkedin", "facebook")


def _query(base: str, params: dict[str, str]) -> str:
    """``base`` with ``params`` appended, every character outside the unreserved set percent-encoded as UTF-8."""
    sep = "&" if urlsplit(base).query else "?"
    return base + sep + urlencode(params, quote_via=quote, safe="")


def _check_link(link: str) -> None:
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"a share intent needs an absolute http(s) link, not {link!r}")


def x_intent(text: str, link: str, base_url: str = X_INTENT_URL) -> str:
    """The X post dialog with ``text`` and ``link`` prefilled.

    Args:
        text: the suggested post text (X appends the link after it).
        link: the tracked link to share.
        base_url: the intent endpoint.
    """
    _check_link(link)
    params = {"text": text, "url": link} if text else {"url": link}
    return _query(base_url, params)


def linkedin_intent(link: str, base_url: str = LINKEDIN_SHARE_URL) -> str:
    """LinkedIn's share-offsite dialog for ``link`` (LinkedIn accepts no prefilled text).

    Args:
        link: the tracked link to share.
        base_url: the share-offsite endpoint.
    """
    _check_link(link)
    return _query(base_url, {"url": link})


def facebook_intent(link: str, base_url: str = FACEBOOK_SHARER_URL) -> str:
    """Facebook's sharer dialog for ``link`` (Facebook ignores prefilled text).

    Args:
        link: the tracked link to share.
        base_url: the sharer endpoint.
    """
    _check_link(link)
    return _query(base_url, {"u": link})


def intent_url(network: str, text: str, link: str, base_urls: dict[str, str] | None = None) -> str:
    """The share-dialog URL of ``network`` for ``text`` and ``link``.

    Args:
        network: one of ``NETWORKS``.
        text: the suggested text (used where the network accepts it).
        link: the tracked link to share.
        base_urls: network -> dialog base URL, for those not at their real address.
    """
    bases = base_urls or {}
    if network == "x":
        return x_intent(text, link, bases.get("x", X_INTENT_URL))
    if network == "linkedin":
        return linkedin_intent(link, bases.get("linkedin", LINKEDIN_SHARE_URL))
    if network == "facebook":
        return facebook_intent(link, bases.get("facebook", FACEBOOK_SHARER_URL))
    raise ValueError(f"no share dialog for network {network!r}; known: {', '.join(NETWORKS)}")
