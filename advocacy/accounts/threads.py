"""What Threads needs from the app that other networks do not: a place to keep each share's media container, and a
public URL for a share's image (Threads fetches images by URL; it takes no upload).

Containers: ``ThreadsConnector`` keeps the container it made for a share under the share's idempotency key, so a
retry after a lost answer publishes (or recognises as published) the same container instead of making a second
post. They live in Redis for 26 hours (Threads expires an unpublished container after 24); if Redis lost them, the
delivery engine's look-up of the person's recent posts for the tracked link (``find_post``) still guards the retry.

Images: the URL Threads fetches is ``PUBLIC_URL/accounts/threads/image/<token>``, the token the share's id signed
with the app's secret key and good for 24 hours; it serves the image the talking point's approval covers, and
nothing for a cancelled share or a talking point without an approved image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from advocacy.extensions import db, redis_client
from connectors.base import Media

if TYPE_CHECKING:
    from advocacy.content.models import TalkingPointImage

CONTAINER_SECONDS = 26 * 3600
IMAGE_URL_SECONDS = 24 * 3600
PREFIX = "advocacy:threads:container:"


class RedisContainers:
    """``connectors.threads.ContainerStore`` on the app's Redis."""

    def get(self, key: str) -> str | None:
        value: Any = redis_client().get(PREFIX + key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    def put(self, key: str, container_id: str) -> None:
        redis_client().set(PREFIX + key, container_id, ex=CONTAINER_SECONDS)


CONTAINERS = RedisContainers()


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="advocacy.threads-image")


def image_url(media: Media, key: str) -> str:
    """The public URL Threads fetches a share's image from.

    Args:
        media: the image (its bytes are served from the database, not from here).
        key: the share's idempotency key, ``advocacy-share-<id>-<code>``.
    """
    try:
        share_id = int(key.split("-")[2])
    except (IndexError, ValueError):
        raise ValueError(f"not a share's idempotency key: {key!r}") from None
    return f"{current_app.config['PUBLIC_URL']}/accounts/threads/image/{_signer().dumps(share_id)}"


def image_for(token: str) -> TalkingPointImage | None:
    """The approved image of the share a signed token names; None for a bad or expired token, a cancelled share, or
    a talking point without an approved image.

    Args:
        token: the last part of the URL ``image_url`` made.
    """
    from advocacy.content.images import shared_image
    from advocacy.delivery.models import Share, ShareStatus

    try:
        share_id = int(_signer().loads(token, max_age=IMAGE_URL_SECONDS))
    except (BadSignature, TypeError, ValueError):
        return None
    share = db.session.get(Share, share_id)
    if share is None or share.status == ShareStatus.CANCELLED:
        return None
    return shared_image(share.talking_point_id)
