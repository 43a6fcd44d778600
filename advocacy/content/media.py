"""Talking points' images: what a file is (from its first bytes, never from what the upload says) and what each
network takes, so comms see before approving which networks would refuse the image.

The bytes live in the database (``TalkingPointImage``), so every web and worker host serves and posts the same
image without a shared disk.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from connectors.base import IMAGE_TYPES
from connectors.media import image_info

MAX_ALT = 1000
LABELS = {"x": "X", "linkedin": "LinkedIn", "mastodon": "Mastodon", "bluesky": "Bluesky", "threads": "Threads"}
# until a network's connector states its own limit: the server's default (Mastodon), or none this app reaches
FALLBACK_MAX_BYTES = {"mastodon": 16 * 1024 * 1024}


def sniff(data: bytes) -> str | None:
    """The content type of a PNG, JPEG, GIF or WebP image, from its first bytes; None for anything else."""
    info = image_info(data)
    return info.content_type if info is not None and info.content_type in IMAGE_TYPES else None


class NetworkImages(NamedTuple):
    """What one network takes, as its connector checks it before uploading; None: no limit this app reaches."""

    max_bytes: int | None
    types: tuple[str, ...]
    max_pixels: int | None = None
    gif_max_bytes: int | None = None  # where GIFs have their own limit (X: uploaded in segments)


@cache
def network_rules() -> dict[str, NetworkImages]:
    """Per network, read from its connector: ``IMAGE_MAX_BYTES``, ``IMAGE_FORMATS`` (where it takes fewer types than
    the four), ``IMAGE_MAX_PIXELS`` and ``GIF_MAX_BYTES`` when it states them."""
    from connectors import bluesky, linkedin, mastodon, threads, x

    rules = {}
    for name, module in (("x", x), ("linkedin", linkedin), ("mastodon", mastodon), ("bluesky", bluesky),
                         ("threads", threads)):
        rules[name] = NetworkImages(getattr(module, "IMAGE_MAX_BYTES", FALLBACK_MAX_BYTES.get(name)),
                                    tuple(getattr(module, "IMAGE_FORMATS", None) or IMAGE_TYPES),
                                    getattr(module, "IMAGE_MAX_PIXELS", None), getattr(module, "GIF_MAX_BYTES", None))
    return rules


def pixels(data: bytes) -> int | None:
    """Width × height from the image's header, when it says."""
    info = image_info(data)
    return info.pixels if info is not None else None


def refusal(network: str, size: int, content_type: str, pixel_count: int | None = None) -> str | None:
    """Why ``network`` would refuse an image of this size and type (and pixel count, when known), or None."""
    rules = network_rules().get(network, NetworkImages(None, IMAGE_TYPES))
    label = LABELS.get(network, network)
    if content_type not in rules.types:
        names = ", ".join(t.split("/")[1].upper() for t in rules.types)
        return f"{label} takes {names} images, not {content_type.split('/')[1].upper()}"
    limit = rules.gif_max_bytes if content_type == "image/gif" and rules.gif_max_bytes else rules.max_bytes
    if limit is not None and size > limit:
        return f"{label} takes images of at most {limit:,} bytes; this one is {size:,}"
    if rules.max_pixels is not None and pixel_count is not None and pixel_count > rules.max_pixels:
        return f"{label} takes images of at most {rules.max_pixels:,} pixels; this one has {pixel_count:,}"
    return None
