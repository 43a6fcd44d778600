"""What the emulated Bluesky PDS shows: the AppView's views of posts and profiles (as ``getPosts`` and
``getProfile`` answer them), and the public pages: the latest posts, and a page per post that renders its facets by
their UTF-8 byte offsets (links, hashtags and mentions, as apps do) and its images with their alt text."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request

from sandbox.bluesky_records import embedded_images, facet_spans
from sandbox.common import e
from sandbox.schemas.bluesky import IMAGES_EMBED, POST_COLLECTION

if TYPE_CHECKING:
    from sandbox.bluesky import BlueskyState, Post, User


def blob_url(did: str, cid: str) -> str:
    """Where the sandbox serves a blob (``com.atproto.sync.getBlob``), as an absolute URL of this request's host."""
    return f"{request.host_url}xrpc/com.atproto.sync.getBlob?did={did}&cid={cid}"


# ---------------------------------------------------------------------------------------------------- views
def profile_basic(user: User) -> dict[str, Any]:
    return {"did": user.did, "handle": user.handle, "displayName": user.display_name, "labels": [],
            "createdAt": user.created_at}  # fmt: skip


def post_view(state: BlueskyState, post: Post) -> dict[str, Any]:
    author = state.users[post.did]
    view: dict[str, Any] = {
        "uri": post.uri,
        "cid": post.cid,
        "author": profile_basic(author),
        "record": post.record,
        "indexedAt": post.indexed_at,
        "labels": [],
    }
    images = embedded_images(post.record)
    if images:  # the AppView's app.bsky.embed.images#view: URLs where apps fetch each image
        view["embed"] = {"$type": f"{IMAGES_EMBED}#view", "images": [
            {"thumb": blob_url(post.did, str(i["cid"])), "fullsize": blob_url(post.did, str(i["cid"])),
             "alt": i["alt"], **({"aspectRatio": i["aspect_ratio"]} if i["aspect_ratio"] else {})}
            for i in images]}  # fmt: skip
    view |= {name: value for name, value in post.metrics.items() if value is not None}
    return view


def profile_detailed(state: BlueskyState, user: User) -> dict[str, Any]:
    with state.lock:
        posts = sum(1 for p in state.posts.values() if p.did == user.did and not p.deleted)
    return profile_basic(user) | {
        "description": f"{user.display_name}, emulated by the advocacy Bluesky sandbox.",
        "followersCount": user.followers,
        "followsCount": user.following,
        "postsCount": posts,
        "indexedAt": user.created_at,
    }


# ------------------------------------------------------------------------------------------------------- pages
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Bluesky sandbox</title>
<style>
 body {{ font-family: system-ui, sans-serif; background: #f1f3f5; color: #0b0f14; margin: 0; }}
 main {{ max-width: 34rem; margin: 3rem auto; background: #fff; border-radius: .75rem; padding: 2rem; }}
 .badge {{ font-size: .75rem; background: #ffd400; border-radius: .5rem; padding: .1rem .5rem; }}
 .muted {{ color: #5b6b7c; }} a {{ color: #1083fe; }} article p {{ font-size: 1.2rem; white-space: pre-wrap; }}
</style></head>
<body><main><p><span class="badge">sandbox</span> Bluesky PDS emulator</p>{body}</main></body></html>"""


def page(title: str, body: str, status: int = 200) -> Response:
    return Response(PAGE.format(title=html.escape(title), body=body), status, mimetype="text/html")


def render_text(text: str, facets: Any) -> str:
    """The post text with its facets as links (a link to its URI, a tag to its search, a mention to the profile),
    sliced by UTF-8 byte offsets as apps do."""
    data = text.encode("utf-8")
    targets = {"link": "{}", "tag": "/search?q=%23{}", "mention": "/profile/{}"}
    spans = sorted(
        (span["byteStart"], span["byteEnd"], targets[span["kind"]].format(span["value"]))
        for span in facet_spans(text, facets)
        if isinstance(span["byteStart"], int) and isinstance(span["byteEnd"], int)
    )
    out, pos = [], 0
    for start, end, href in spans:
        if start < pos or end > len(data):
            continue
        out.append(html.escape(data[pos:start].decode("utf-8", "replace")))
        shown = html.escape(data[start:end].decode("utf-8", "replace"))
        out.append(f'<a href="{e(href)}" rel="nofollow">{shown}</a>')
        pos = end
    out.append(html.escape(data[pos:].decode("utf-8", "replace")))
    return "".join(out)


def install_pages(app: Flask, state: BlueskyState) -> None:
    @app.get("/")
    def index() -> Response:
        with state.lock:
            posts = sorted(state.posts.values(), key=lambda p: p.rkey, reverse=True)[:50]
            rows = "".join(
                f'<li><a href="/profile/{e(p.did)}/post/{e(p.rkey)}">{e(str(p.record.get("text", ""))[:80])}</a>'
                f"{' (deleted)' if p.deleted else ''}</li>"
                for p in posts
            )
        return page("Posts", f"<h1>Latest posts</h1><ul>{rows or '<li>No posts yet.</li>'}</ul>")

    @app.get("/profile/<actor>/post/<rkey>")
    def post_page(actor: str, rkey: str) -> Response:
        with state.lock:
            user = state.find_user(actor)
            post = state.posts.get(f"at://{user.did}/{POST_COLLECTION}/{rkey}") if user else None
        if post is None or user is None:
            return page("Not found", "<h1>Post not found</h1><p>The post may have been deleted.</p>", 404)
        if post.deleted:
            return page("Deleted", f"<h1>This post by @{e(user.handle)} was deleted.</h1>", 410)
        shown = {k.removesuffix("Count"): v for k, v in post.metrics.items() if v is not None}
        figures = " · ".join(f"{e(v)} {e(k)}" for k, v in shown.items())
        created = str(post.record.get("createdAt", ""))
        text = render_text(str(post.record.get("text", "")), post.record.get("facets"))
        images = "".join(
            f'<p><img src="/xrpc/com.atproto.sync.getBlob?did={e(post.did)}&amp;cid={e(i["cid"])}" '
            f'alt="{e(i["alt"] or "")}" style="max-width:100%"></p>'
            for i in embedded_images(post.record)
        )
        body = (
            f"<article><h1>@{e(user.handle)}</h1><p>{text}</p>{images}"
            f'<p class="muted"><time datetime="{e(created)}">{e(created)}</time></p>'
            f'<p class="muted">{figures}</p></article>'
        )
        return page(f"@{user.handle}", body)
