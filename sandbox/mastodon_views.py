"""The Mastodon sandbox's entities as the API renders them: accounts, statuses (HTML content), media attachments."""

from __future__ import annotations

import html
from typing import Any

from flask import request

from sandbox.common import (
    e,
)
from sandbox.mastodon_core import (
    URL_IN_TEXT,
    Attachment,
    Status,
    User,
)
from sandbox.mastodon_state import (
    MastodonState,
)


# ---------------------------------------------------------------------------------------------------- entities
def base_url() -> str:
    return request.host_url.rstrip("/")


def content_html(text: str) -> str:
    """Mastodon's rendering of plain text: paragraphs, line breaks, and links it detected."""
    out, pos = [], 0
    for match in URL_IN_TEXT.finditer(text):
        url = match.group(0).rstrip(".,;:!?)'\"")
        out += [html.escape(text[pos : match.start()]), f'<a href="{e(url)}" target="_blank" rel="nofollow noopener">']
        out += [html.escape(url), "</a>"]
        pos = match.start() + len(url)
    rendered = "".join(out) + html.escape(text[pos:])
    paragraphs = [p.replace("\n", "<br />") for p in rendered.split("\n\n") if p]
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def account_view(state: MastodonState, user: User, *, credential: bool = False) -> dict[str, Any]:
    base = base_url()
    with state.lock:
        posts = [s for s in state.statuses.values() if s.author_id == user.id and not s.deleted]
    last = max((s.created_at for s in posts), default=None)
    view: dict[str, Any] = {
        "id": user.id,
        "username": user.username,
        "acct": user.username,
        "display_name": user.display_name,
        "locked": False,
        "bot": False,
        "discoverable": True,
        "indexable": False,
        "group": False,
        "created_at": user.created_at,
        "note": f"<p>{e(user.display_name)}, emulated by the advocacy Mastodon sandbox.</p>",
        "url": f"{base}/@{user.username}",
        "uri": f"{base}/users/{user.username}",
        "avatar": f"{base}/avatars/original/missing.png",
        "avatar_static": f"{base}/avatars/original/missing.png",
        "header": f"{base}/headers/original/missing.png",
        "header_static": f"{base}/headers/original/missing.png",
        "followers_count": user.followers,
        "following_count": user.following,
        "statuses_count": len(posts),
        "last_status_at": last[:10] if last else None,
        "hide_collections": False,
        "noindex": False,
        "emojis": [],
        "roles": [],
        "fields": [],
    }
    if credential:
        view["source"] = {
            "privacy": "public",
            "sensitive": False,
            "indexable": False,
            "language": None,
            "note": f"{user.display_name}, emulated by the advocacy Mastodon sandbox.",
            "fields": [],
            "follow_requests_count": 0,
        }
        view["role"] = {"id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": False}
    return view


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or GIF from its header; None for other types (their meta is left out)."""
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:3] == b"GIF" and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    return None


def attachment_view(attachment: Attachment) -> dict[str, Any]:
    """A MediaAttachment as Mastodon renders it: ``url`` null while the original is still being processed."""
    base = base_url()
    name = f"{attachment.id}.{attachment.content_type.rsplit('/', 1)[-1]}"
    meta: dict[str, Any] = {}
    size = image_size(attachment.data)
    if size and all(size):
        details = {"width": size[0], "height": size[1], "aspect": size[0] / size[1]}
        meta |= {"original": details, "small": details}
    if attachment.focus is not None:
        meta["focus"] = {"x": attachment.focus[0], "y": attachment.focus[1]}
    return {
        "id": attachment.id,
        "type": "image",
        "url": f"{base}/system/media_attachments/files/{attachment.id}/original/{name}" if attachment.processed
        else None,
        "preview_url": f"{base}/system/media_attachments/files/{attachment.id}/small/{name}",
        "remote_url": None,
        "meta": meta or None,
        "description": attachment.description,
        "blurhash": None,
    }


def status_view(state: MastodonState, status: Status, *, with_source: bool = False) -> dict[str, Any]:
    base = base_url()
    author = state.user_by_id(status.author_id)
    assert author is not None
    with state.lock:
        app = state.apps.get(status.client_id)
    view: dict[str, Any] = {
        "id": status.id,
        "created_at": status.created_at,
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": status.sensitive,
        "spoiler_text": status.spoiler_text,
        "visibility": status.visibility,
        "language": status.language,
        "uri": f"{base}/users/{author.username}/statuses/{status.id}",
        "url": f"{base}/@{author.username}/{status.id}",
        "replies_count": status.metrics.get("replies_count") or 0,
        "reblogs_count": status.metrics.get("reblogs_count") or 0,
        "favourites_count": status.metrics.get("favourites_count") or 0,
        "quotes_count": status.metrics.get("quotes_count"),
        "edited_at": None,
        "favourited": False,
        "reblogged": False,
        "muted": False,
        "bookmarked": False,
        "pinned": False,
        "content": content_html(status.text),
        "reblog": None,
        "application": {"name": app.name, "website": app.website} if app else None,
        "account": account_view(state, author),
        "media_attachments": [attachment_view(state.attachments[i]) for i in status.media_ids],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "card": None,
        "poll": None,
    }
    if with_source:
        view["text"] = status.text
    return view
