"""Talking points' images: what a file is (from its first bytes, never from what the upload says) and what each
network takes, so comms see before approving which networks would refuse the image.

The bytes live in the database (``TalkingPointImage``), so every web and worker host serves and posts the same
image without a shared disk.
"""

from __future__ import annotations

from functools import cache

from connectors.base import IMAGE_TYPES
from connectors.media import image_info

MAX_ALT = 1000
LABELS = {"x": "X", "linkedin": "LinkedIn", "mastodon": "Mastodon", "bluesky": "Bluesky"}
# until a network's connector states its own limit: the server's default (Mastodon), or none this app reaches
FALLBACK_MAX_BYTES = {"mastodon": 16 * 1024 * 1024}


def sniff(data: bytes) -> str | None:
    """The content type of a PNG, JPEG, GIF or WebP image, from its first bytes; None for anything else."""
    info = image_info(data)
    return info.content_type if info is not None and info.content_type in IMAGE_TYPES else None


@cache
def network_rules() -> dict[str, tuple[int | None, tuple[str, ...]]]:
    """Per network: (largest image in bytes or None, image types taken), as its connector checks them before
    uploading (``IMAGE_MAX_BYTES``; ``ONE_SHOT_TYPES`` where it takes fewer types than the four)."""
    from connectors import bluesky, linkedin, mastodon, x

    rules: dict[str, tuple[int | None, tuple[str, ...]]] = {}
    for name, module in (("x", x), ("linkedin", linkedin), ("mastodon", mastodon), ("bluesky", bluesky)):
        limit = getattr(module, "IMAGE_MAX_BYTES", FALLBACK_MAX_BYTES.get(name))
        rules[name] = (limit, tuple(getattr(module, "ONE_SHOT_TYPES", IMAGE_TYPES)))
    return rules


def refusal(network: str, size: int, content_type: str) -> str | None:
    """Why ``network`` would refuse an image of this size and type, or None when it takes it."""
    limit, types = network_rules().get(network, (None, IMAGE_TYPES))
    label = LABELS.get(network, network)
    if content_type not in types:
        names = ", ".join(t.split("/")[1].upper() for t in types)
        return f"{label} takes {names} images, not {content_type.split('/')[1].upper()}"
    if limit is not None and size > limit:
        return f"{label} takes images of at most {limit:,} bytes; this one is {size:,}"
    return None
