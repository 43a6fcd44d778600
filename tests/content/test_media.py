"""A talking point's image: checked by its content, stored in the database, an edit like any other (back to review,
shares keep the approved image until a second person approves), served only to people who may see it."""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import zlib
from typing import Any

import pytest
from sqlalchemy import select

from advocacy.content import images
from advocacy.content.models import Revision, TalkingPoint, TalkingPointImage
from advocacy.extensions import db

TP = {"title": "Launch", "link": "https://acme.example/launch", "text": "We launched!", "disclosure": "#iworkforacme"}


def png(width: int = 4, height: int = 3, shade: int = 0) -> bytes:
    """A real PNG (what the demo draws too: zlib and struct)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes((shade, 100, 200)) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG, OTHER_PNG = png(), png(shade=90)
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00" \
      b"\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"


@pytest.fixture()
def staff(app: Any, make_user: Any, browser_factory: Any) -> tuple[Any, Any]:
    make_user("author@acme.test", "comms")
    make_user("reviewer@acme.test", "comms")
    return browser_factory("author@acme.test"), browser_factory("reviewer@acme.test")


def put_image(browser: Any, tp_id: int, data: bytes | None, alt: str | None = "Our new logo",
              name: str = "logo.png", content_type: str = "image/png") -> Any:
    form: dict[str, Any] = {}
    if data is not None:
        form["image"] = (io.BytesIO(data), name, content_type)
    if alt is not None:
        form["image_alt"] = alt
    return browser.client.put(f"/api/talking-points/{tp_id}/image", data=form, content_type="multipart/form-data",
                              headers={"X-CSRFToken": browser.token})


def web_image(browser: Any, tp_id: int, data: bytes | None, alt: str = "Our new logo", name: str = "logo.png") -> Any:
    form: dict[str, Any] = {"image_alt": alt}
    form["image"] = (io.BytesIO(data or b""), name if data is not None else "")
    return browser.post(f"/studio/{tp_id}/image", form, content_type="multipart/form-data")


def tp_of(tp_id: int) -> TalkingPoint:
    db.session.expire_all()
    tp = db.session.get(TalkingPoint, tp_id)
    assert tp is not None
    return tp


def new_talking_point(author: Any, reviewer: Any | None = None, **fields: Any) -> int:
    tp_id = author.api("POST", "/api/talking-points", TP | fields).get_json()["id"]
    if reviewer is not None:
        assert author.api("POST", f"/api/talking-points/{tp_id}/submit").status_code == 200
        assert reviewer.api("POST", f"/api/talking-points/{tp_id}/approve").status_code == 200
    return int(tp_id)


def stored_images() -> list[TalkingPointImage]:
    db.session.expire_all()
    return list(db.session.scalars(select(TalkingPointImage).order_by(TalkingPointImage.id)))


# ------------------------------------------------------------------------------------------------ upload over the API
def test_an_image_uploaded_over_the_api_is_stored_in_the_database_and_described_in_the_json(staff):
    author, _ = staff
    tp_id = new_talking_point(author)
    answer = put_image(author, tp_id, PNG, name="../../etc/logo.png", content_type="application/octet-stream")
    assert answer.status_code == 200, answer.get_json()
    image = answer.get_json()["image"]
    assert image == {"content_type": "image/png", "size": len(PNG), "sha256": hashlib.sha256(PNG).hexdigest(),
                     "filename": "logo.png", "alt": "Our new logo", "approved": False,
                     "url": f"/api/talking-points/{tp_id}/image?v={hashlib.sha256(PNG).hexdigest()[:16]}"}
    [row] = stored_images()
    assert row.data == PNG and row.talking_point_id == tp_id and row.current
    body = author.api("GET", f"/api/talking-points/{tp_id}").get_data(as_text=True)
    assert json.loads(body)["image"]["alt"] == "Our new logo" and PNG.hex() not in body  # metadata, never bytes
    assert author.client.get(image["url"]).data == PNG


@pytest.mark.parametrize(("data", "alt", "field", "words"), [
    (b"<html><script>alert(1)</script></html>", "A logo", "image", "is not a PNG, JPEG, GIF or WebP image"),
    (b"%PDF-1.7\n" + PNG, "A logo", "image", "is not a PNG, JPEG, GIF or WebP image"),  # a PNG inside: still a PDF
    (b"", "A logo", "image", "is empty"),
    (PNG + b"\x00" * 3000, "A logo", "image", "the limit is 2,000 bytes"),
    (PNG, "", "image_alt", "must not be empty"),
    (PNG, "   ", "image_alt", "must not be empty"),
    (PNG, "a" * 1001, "image_alt", "at most 1000 characters"),
])
def test_a_bad_upload_over_the_api_names_the_field_and_loses_nothing(app, staff, data, alt, field, words):
    author, _ = staff
    app.config["MEDIA_MAX_BYTES"] = 2000  # ADVOCACY_MEDIA_MAX_BYTES, read at each upload
    tp_id = new_talking_point(author)
    assert put_image(author, tp_id, OTHER_PNG, alt="The old logo").status_code == 200
    version = tp_of(tp_id).version
    answer = put_image(author, tp_id, data, alt=alt)
    assert answer.status_code == 422
    errors = answer.get_json()["errors"]["json"]
    assert list(errors) == [field] and words in errors[field][0], errors
    tp = tp_of(tp_id)
    assert tp.version == version and tp.image is not None and tp.image.data == OTHER_PNG
    assert tp.image.alt_text == "The old logo" and len(stored_images()) == 1


def test_an_upload_without_a_file_names_the_field(staff):
    author, _ = staff
    tp_id = new_talking_point(author)
    answer = put_image(author, tp_id, None)
    assert answer.status_code == 422 and "image" in answer.get_json()["errors"]["files"]
    assert stored_images() == [] and tp_of(tp_id).version == 1


def test_employees_and_analysts_cannot_change_images(staff, make_user, browser_factory):
    author, _ = staff
    tp_id = new_talking_point(author)
    for role in ("employee", "analyst"):
        make_user(f"{role}@acme.test", role)
        other = browser_factory(f"{role}@acme.test")
        assert put_image(other, tp_id, PNG).status_code == 403
        assert other.api("DELETE", f"/api/talking-points/{tp_id}/image").status_code == 403
        assert web_image(other, tp_id, PNG).status_code == 403
    assert stored_images() == []


# ------------------------------------------------------------------------------------------------- the web editor
def test_the_editor_uploads_replaces_redescribes_and_removes_the_image(staff):
    author, _ = staff
    tp_id = new_talking_point(author)
    page = author.get(f"/studio/{tp_id}/edit").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="image"' in page and 'name="image_alt"' in page
    assert web_image(author, tp_id, PNG, "A rocket on a launch pad").status_code == 302
    assert tp_of(tp_id).image.alt_text == "A rocket on a launch pad"  # type: ignore[union-attr]
    detail = author.get(f"/studio/{tp_id}").get_data(as_text=True)
    assert re.search(r'<img src="/api/talking-points/\d+/image\?v=[0-9a-f]{16}" alt="A rocket on a launch pad"',
                     detail)
    assert web_image(author, tp_id, None, "A rocket, lit for launch").status_code == 302  # no file: new alt text
    image = tp_of(tp_id).image
    assert image is not None and image.alt_text == "A rocket, lit for launch" and image.data == PNG
    assert web_image(author, tp_id, OTHER_PNG, "A second rocket").status_code == 302
    assert tp_of(tp_id).image.data == OTHER_PNG  # type: ignore[union-attr]
    assert len(stored_images()) == 1  # a draft keeps only what is written now
    assert author.post(f"/studio/{tp_id}/image/remove").status_code == 302
    assert tp_of(tp_id).image is None and stored_images() == []
    assert tp_of(tp_id).version == 5
    snapshots = [json.loads(r.snapshot)["image"] for r in db.session.scalars(
        select(Revision).where(Revision.talking_point_id == tp_id).order_by(Revision.version))]
    assert [s and s["alt"] for s in snapshots] == [None, "A rocket on a launch pad", "A rocket, lit for launch",
                                                   "A second rocket", None]


@pytest.mark.parametrize(("data", "alt", "field", "words"), [
    (b"GIF00 not really", "A logo", "image", "Image is not a PNG, JPEG, GIF or WebP image"),
    (PNG, "", "image_alt", "Alt text must not be empty"),
])
def test_a_bad_upload_on_the_web_shows_the_field_at_fault_and_keeps_the_image(staff, data, alt, field, words):
    author, _ = staff
    tp_id = new_talking_point(author)
    assert web_image(author, tp_id, OTHER_PNG, "The old logo").status_code == 302
    answer = web_image(author, tp_id, data, alt, name="logo.gif")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and words in page
    assert f'aria-describedby="{field}-error"' in page
    tp = tp_of(tp_id)
    assert tp.version == 2 and tp.image is not None and tp.image.data == OTHER_PNG
    assert tp.image.alt_text == "The old logo"


def test_the_web_form_without_a_file_on_a_talking_point_without_an_image_asks_for_one(staff):
    author, _ = staff
    tp_id = new_talking_point(author)
    answer = web_image(author, tp_id, None, "Words for nothing")
    assert answer.status_code == 422 and "Image choose a PNG, JPEG, GIF or WebP file" in answer.get_data(as_text=True)
    assert stored_images() == []


def test_a_body_over_the_request_limit_is_named_on_the_image_form(app, staff):
    author, _ = staff
    tp_id = new_talking_point(author)
    app.config["MAX_CONTENT_LENGTH"] = 4000  # refused while the body is read, before the view runs
    answer = web_image(author, tp_id, PNG + b"\x00" * 5000)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 413 and "Image is larger than the limit of" in page and 'id="image-error"' in page
    assert stored_images() == [] and tp_of(tp_id).version == 1


def test_the_web_form_refuses_a_post_without_the_csrf_token(staff):
    author, _ = staff
    tp_id = new_talking_point(author)
    answer = author.client.post(f"/studio/{tp_id}/image", data={"image": (io.BytesIO(PNG), "a.png"),
                                                                "image_alt": "x"}, content_type="multipart/form-data")
    assert answer.status_code == 400 and stored_images() == []


# --------------------------------------------------------------------------------------------------- approval rules
def test_changing_the_image_of_an_approved_talking_point_sends_it_back_to_review(staff):
    author, reviewer = staff
    tp_id = new_talking_point(author)
    assert put_image(author, tp_id, PNG, alt="The first image").status_code == 200
    author.api("POST", f"/api/talking-points/{tp_id}/submit")
    reviewer.api("POST", f"/api/talking-points/{tp_id}/approve")
    first = images.shared_image(tp_id)
    assert first is not None and first.data == PNG and first.alt_text == "The first image"

    # a new image: back to review, and shares keep carrying the approved one meanwhile
    answer = put_image(author, tp_id, OTHER_PNG, alt="The second image")
    assert answer.get_json()["status"] == "in_review" and answer.get_json()["version"] == 3
    assert answer.get_json()["image"]["approved"] is False
    assert images.shared_image(tp_id).data == PNG  # type: ignore[union-attr]
    page = reviewer.get(f"/studio/{tp_id}").get_data(as_text=True)
    assert 'id="image-pending"' in page and "The first image" in page
    assert author.api("POST", f"/api/talking-points/{tp_id}/approve").status_code == 403  # four eyes, as for copy
    assert reviewer.api("POST", f"/api/talking-points/{tp_id}/approve").get_json()["image"]["approved"] is True
    assert images.shared_image(tp_id).data == OTHER_PNG  # type: ignore[union-attr]
    assert [i.data for i in stored_images()] == [OTHER_PNG]  # the image no one points at any more is gone

    # new alt text alone is a change too
    answer = author.api("PATCH", f"/api/talking-points/{tp_id}/image", {"image_alt": "The second image, described"})
    assert answer.status_code == 200 and answer.get_json()["status"] == "in_review"
    assert images.shared_image(tp_id).alt_text == "The second image"  # type: ignore[union-attr]
    reviewer.api("POST", f"/api/talking-points/{tp_id}/approve")
    assert images.shared_image(tp_id).alt_text == "The second image, described"  # type: ignore[union-attr]

    # and so is removing it: shares carry it until the removal is approved
    answer = author.api("DELETE", f"/api/talking-points/{tp_id}/image")
    assert answer.get_json()["status"] == "in_review" and answer.get_json()["image"] is None
    assert images.shared_image(tp_id) is not None
    reviewer.api("POST", f"/api/talking-points/{tp_id}/approve")
    assert images.shared_image(tp_id) is None and stored_images() == []
    assert tp_of(tp_id).version == 5


def test_the_same_file_with_the_same_words_is_no_change(staff):
    author, reviewer = staff
    tp_id = new_talking_point(author)
    put_image(author, tp_id, PNG, alt="Logo")
    author.api("POST", f"/api/talking-points/{tp_id}/submit")
    reviewer.api("POST", f"/api/talking-points/{tp_id}/approve")
    answer = put_image(author, tp_id, PNG, alt="Logo")
    assert answer.get_json()["status"] == "approved" and answer.get_json()["version"] == 2


def test_an_approved_image_change_on_the_web_says_it_is_back_in_review(staff):
    author, reviewer = staff
    tp_id = new_talking_point(author, reviewer)
    answer = web_image(author, tp_id, PNG, "A logo")
    assert answer.status_code == 302
    flashed = author.get(answer.headers["Location"]).get_data(as_text=True)
    assert "back in review" in flashed and tp_of(tp_id).status == "in_review"


def test_a_withdrawn_talking_point_keeps_its_image(staff):
    author, reviewer = staff
    tp_id = new_talking_point(author, reviewer)
    put_image(author, tp_id, PNG)
    author.api("POST", f"/api/talking-points/{tp_id}/withdraw", {})
    assert put_image(author, tp_id, OTHER_PNG).status_code == 409
    assert author.api("DELETE", f"/api/talking-points/{tp_id}/image").status_code == 409
    assert tp_of(tp_id).image.data == PNG  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------- serving and who sees it
def test_the_image_is_served_with_its_type_an_etag_and_private_caching(staff):
    author, _ = staff
    tp_id = new_talking_point(author)
    put_image(author, tp_id, GIF, name="dot.gif", content_type="image/png")  # the declared type is not trusted
    answer = author.client.get(f"/api/talking-points/{tp_id}/image")
    assert answer.status_code == 200 and answer.data == GIF and answer.mimetype == "image/gif"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["ETag"] == f'"{hashlib.sha256(GIF).hexdigest()}"'
    assert answer.headers["Cache-Control"].startswith("private")
    again = author.client.get(f"/api/talking-points/{tp_id}/image", headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_who_may_see_the_image(staff, make_user, browser_factory, client):
    from advocacy.people.models import Team

    author, reviewer = staff
    sales, support = Team(name="Sales"), Team(name="Support")
    db.session.add_all([sales, support])
    db.session.commit()
    make_user("sam@acme.test", "employee", team=sales)
    make_user("una@acme.test", "employee", team=support)
    make_user("andy@acme.test", "analyst", team=support)
    sam, una, andy = (browser_factory(e) for e in ("sam@acme.test", "una@acme.test", "andy@acme.test"))
    tp_id = new_talking_point(author, target_everyone=False, team_ids=[sales.id])
    put_image(author, tp_id, PNG)
    url = f"/api/talking-points/{tp_id}/image"

    assert sam.get(url).status_code == 404  # a draft: not in anyone's feed yet
    assert reviewer.get(url).status_code == 200  # comms see every talking point
    author.api("POST", f"/api/talking-points/{tp_id}/submit")
    reviewer.api("POST", f"/api/talking-points/{tp_id}/approve")
    assert sam.get(url).data == PNG  # aimed at Sales
    assert una.get(url).status_code == 404 and andy.get(url).status_code == 404  # not aimed at them
    assert client.get(url).status_code == 401  # signed out
    assert una.get(f"/api/talking-points/{tp_id}").status_code == 404

    put_image(author, tp_id, OTHER_PNG, alt="Not approved yet")  # back in review: out of Sam's feed
    assert sam.get(url).status_code == 404
    assert author.get(url).data == OTHER_PNG  # the author sees what they are writing


def test_someone_who_shared_it_still_sees_the_approved_image_while_a_change_waits(staff, make_user, browser_factory,
                                                                                 policy):
    from advocacy.delivery.models import Share

    author, reviewer = staff
    tp_id = new_talking_point(author, reviewer)
    put_image(author, tp_id, PNG, alt="Approved image")
    reviewer.api("POST", f"/api/talking-points/{tp_id}/approve")
    sam = make_user("sam@acme.test", "employee")
    db.session.add(Share(talking_point_id=tp_id, user_id=sam.id, network="x", text="t", code="abcdefgh",
                         status="scheduled"))
    db.session.commit()
    put_image(author, tp_id, OTHER_PNG, alt="Waiting for review")
    answer = browser_factory("sam@acme.test").get(f"/api/talking-points/{tp_id}/image")
    assert answer.status_code == 200 and answer.data == PNG


# ------------------------------------------------------------------------------- what comms and employees are shown
def test_the_talking_point_page_warns_about_networks_that_would_refuse_the_image(staff):
    from connectors import bluesky

    author, _ = staff
    tp_id = new_talking_point(author)
    put_image(author, tp_id, PNG)
    page = author.get(f"/studio/{tp_id}").get_data(as_text=True)
    assert 'id="image-screening"' in page and "Every network takes an image of this size." in page

    big = png() + b"\x00" * (bluesky.IMAGE_MAX_BYTES + 1)  # trailing bytes after IEND: still a PNG by its header
    put_image(author, tp_id, big)
    page = author.get(f"/studio/{tp_id}").get_data(as_text=True)
    warnings = re.findall(r'data-rule="image" data-network="(\w+)"', page)
    assert warnings == ["bluesky"], warnings
    assert f"Bluesky takes images of at most {bluesky.IMAGE_MAX_BYTES:,} bytes" in page

    put_image(author, tp_id, GIF)
    page = author.get(f"/studio/{tp_id}").get_data(as_text=True)
    assert re.findall(r'data-rule="image" data-network="(\w+)"', page) == ["threads"]  # X takes GIFs in segments;
    assert "Threads takes" in page  # Threads fetches JPEG and PNG only

    webp = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
    assert put_image(author, tp_id, webp, name="a.webp").get_json()["image"]["content_type"] == "image/webp"
    page = author.get(f"/studio/{tp_id}").get_data(as_text=True)
    assert re.findall(r'data-rule="image" data-network="(\w+)"', page) == ["linkedin", "threads"]  # no WebP there

    huge = png(1, 1).replace(struct.pack(">II", 1, 1), struct.pack(">II", 7000, 7000), 1)  # the header says 49 Mpx
    put_image(author, tp_id, huge)
    page = author.get(f"/studio/{tp_id}").get_data(as_text=True)
    assert re.findall(r'data-rule="image" data-network="(\w+)"', page) == ["linkedin"]
    assert "this one has 49,000,000" in page


def test_the_feed_shows_the_image_above_the_copy_and_says_share_dialogs_cannot_carry_it(staff, make_user,
                                                                                          browser_factory, policy):
    from advocacy.people.services import acknowledge_policy, opt_in

    author, reviewer = staff
    tp_id = new_talking_point(author)
    put_image(author, tp_id, PNG, alt="A rocket on a launch pad")
    author.api("POST", f"/api/talking-points/{tp_id}/submit")
    reviewer.api("POST", f"/api/talking-points/{tp_id}/approve")
    emma = make_user("emma@acme.test", "employee")
    acknowledge_policy(emma, policy.version)
    opt_in(emma)
    db.session.commit()
    page = browser_factory("emma@acme.test").get("/feed").get_data(as_text=True)
    card = page[page.index(f'data-talking-point="{tp_id}"'):]
    image_at = card.index('alt="A rocket on a launch pad"')
    assert image_at < card.index('class="preview"')  # above the copy
    assert "It cannot carry the image" in card and card.index("Open X share dialog") < card.index(
        "It cannot carry the image")


def test_the_demo_talking_point_carries_a_real_png_with_alt_text(app):
    from advocacy.cli import DEMO_ALT, seed
    from connectors.media import image_info

    seed()
    [tp] = [t for t in db.session.scalars(select(TalkingPoint)) if t.status == "approved"]
    image = images.shared_image(tp.id)
    assert image is not None and image.alt_text == DEMO_ALT and image.content_type == "image/png"
    info = image_info(image.data)
    assert info is not None and (info.width, info.height) == (240, 126)
    chunks, at = [], 8
    while at < len(image.data):  # every chunk's CRC holds, and the pixels inflate to the size the header says
        (length,) = struct.unpack(">I", image.data[at:at + 4])
        kind, body = image.data[at + 4:at + 8], image.data[at + 8:at + 8 + length]
        assert struct.unpack(">I", image.data[at + 8 + length:at + 12 + length])[0] == zlib.crc32(kind + body)
        chunks.append((kind, body))
        at += 12 + length
    assert [k for k, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    assert len(zlib.decompress(chunks[1][1])) == 126 * (1 + 240 * 3)


def test_each_networks_limits_come_from_its_connector():
    from advocacy.content.media import refusal
    from connectors import bluesky, linkedin, x

    assert refusal("x", x.IMAGE_MAX_BYTES + 1, "image/png") is not None
    assert refusal("x", x.IMAGE_MAX_BYTES + 1, "image/gif") is None  # GIFs go in segments, with their own limit
    assert refusal("x", x.GIF_MAX_BYTES + 1, "image/gif") is not None
    assert refusal("bluesky", bluesky.IMAGE_MAX_BYTES, "image/webp") is None
    assert refusal("linkedin", 10, "image/webp") == "LinkedIn takes JPEG, PNG, GIF images, not WEBP"
    assert refusal("linkedin", 10, "image/png", linkedin.IMAGE_MAX_PIXELS + 1) is not None
