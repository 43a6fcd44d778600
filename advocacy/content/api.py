"""Talking points, suggestions, screening rules and recall over JSON."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, post_dump, pre_load, validate

from advocacy.auth import roles_required
from advocacy.content import composing, images, library, link_previews, recall, screening, workflow
from advocacy.content.models import NETWORKS, Status, TalkingPoint
from advocacy.errors import NotAllowed
from advocacy.extensions import db
from advocacy.people.models import Role

blp = Blueprint("api_talking_points", __name__, url_prefix="/api/talking-points", description="Talking points")
rules_blp = Blueprint("api_screening", __name__, url_prefix="/api/screening",
                      description="The screening engine and its rules")
EDITORS = (Role.COMMS, Role.ADMIN)


class VariantSchema(Schema):
    network = fields.String(validate=validate.OneOf(NETWORKS), load_default="generic")
    text = fields.String(required=True)


class TalkingPointFields(Schema):
    title = fields.String(validate=validate.Length(min=1, max=200))
    link = fields.Url(schemes={"http", "https"}, validate=validate.Length(max=2048))
    text = fields.String(metadata={"description": "shorthand for one generic variant"})
    variants = fields.List(fields.Nested(VariantSchema), validate=validate.Length(min=1, max=50))
    hashtags = fields.String(validate=validate.Length(max=500))
    disclosure = fields.String(validate=validate.Length(max=200),
                               metadata={"description": "locked line appended to every share, counted in lengths"})
    topics = fields.String(validate=validate.Length(max=500))
    available_from = fields.AwareDateTime(allow_none=True)
    available_until = fields.AwareDateTime(allow_none=True)
    employees_may_edit = fields.Boolean()
    target_everyone = fields.Boolean()
    team_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1)))
    user_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1)))
    link_title = fields.String(allow_none=True, validate=validate.Length(max=300), metadata={
        "description": "the link's own title (LinkedIn's article title); empty or null: its page's own title"})


class TalkingPointIn(TalkingPointFields):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    link = fields.Url(required=True, schemes={"http", "https"}, validate=validate.Length(max=2048))


class SuggestionIn(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    link = fields.Url(required=True, schemes={"http", "https"}, validate=validate.Length(max=2048))
    text = fields.String(required=True)
    hashtags = fields.String(load_default="", validate=validate.Length(max=500))
    topics = fields.String(load_default="", validate=validate.Length(max=500))


class CommentOut(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    kind = fields.String()
    body = fields.String()
    created_at = fields.DateTime()


class ImageOut(Schema):
    content_type = fields.String(metadata={"description": "judged from the file's content: PNG, JPEG, GIF or WebP"})
    size = fields.Integer(metadata={"description": "bytes"})
    sha256 = fields.String()
    filename = fields.String(metadata={"description": "as uploaded, for display only"})
    alt = fields.String(attribute="alt_text", metadata={"description": "alt text, read out by screen readers"})
    approved = fields.Boolean(metadata={"description": "shares carry this image (its last approval covered it)"})
    url = fields.Function(lambda image: url_for("api_talking_points.image", tp_id=image.talking_point_id,
                                                v=image.sha256[:16]))


def _image_of(tp: TalkingPoint) -> Any:
    """The image the caller sees: comms and the author the one as written, others the approved one."""
    if current_user.has_role(*EDITORS) or tp.author_id == current_user.id:
        return tp.image
    return tp.approved_image


INTERNAL_FIELDS = ("comments", "team_ids", "user_ids")  # what only comms and admins read of a talking point


class TalkingPointOut(Schema):
    """A talking point; for anyone but comms and admins without :data:`INTERNAL_FIELDS`."""

    id = fields.Integer()
    title = fields.String()
    link = fields.String()
    hashtags = fields.String()
    disclosure = fields.String()
    topics = fields.String()
    status = fields.Function(lambda tp: tp.state())
    version = fields.Integer()
    suggested = fields.Boolean()
    author_id = fields.Integer()
    approved_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    approved_at = fields.DateTime(allow_none=True)
    withdrawn_at = fields.DateTime(allow_none=True)
    available_from = fields.DateTime(allow_none=True)
    available_until = fields.DateTime(allow_none=True)
    employees_may_edit = fields.Boolean()
    target_everyone = fields.Boolean()
    team_ids = fields.List(fields.Integer())
    user_ids = fields.List(fields.Integer())
    variants = fields.List(fields.Nested(VariantSchema))
    comments = fields.List(fields.Nested(CommentOut))
    image = fields.Method("_image", allow_none=True, metadata={
        "description": "its image (content_type, size, sha256, filename, alt, approved, url), never the bytes; "
                       "null when it has none"})

    link_preview = fields.Method("_link_preview", allow_none=True, metadata={
        "description": "the link's preview card (title, description, image_url, site_name, link_title, fetched_at, "
                       "error, pending), fetched once when the link is saved; null before any fetch"})

    @post_dump
    def _for_audience(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """Review comments and the targeting lists are for comms: nobody else reads them, whatever the route."""
        if not current_user.has_role(*EDITORS):
            for name in INTERNAL_FIELDS:
                data.pop(name, None)
        return data

    def _image(self, tp: TalkingPoint) -> Any:
        image = _image_of(tp)
        return ImageOut().dump(image) if image is not None else None

    def _link_preview(self, tp: TalkingPoint) -> Any:
        preview = link_previews.link_preview(tp.id)
        return LinkPreviewOut().dump(preview) if preview is not None else None


class LinkPreviewOut(Schema):
    url = fields.String()
    title = fields.String(allow_none=True, metadata={"description": "the page's own title"})
    link_title = fields.String(attribute="shown_title", allow_none=True,
                               metadata={"description": "the title used: comms' own if set, else the page's"})
    edited_title = fields.String(allow_none=True, metadata={"description": "comms' own title, if set"})
    description = fields.String(allow_none=True)
    image_url = fields.String(allow_none=True)
    site_name = fields.String(allow_none=True)
    fetched_at = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True, metadata={"description": "why the last fetch found no card"})
    pending = fields.Boolean(metadata={"description": "a fetch is waiting or under way"})


class ImageFileIn(Schema):
    """The multipart/form-data body of an upload: the file and its alt text, documented as one OpenAPI 3 body."""

    image = Upload(required=True, metadata={"description": "PNG, JPEG, GIF or WebP (judged by content), at most "
                                                           "ADVOCACY_MEDIA_MAX_BYTES"})
    image_alt = fields.String(load_default="", metadata={"description": "alt text, required: 1 to 1000 characters"})

    @pre_load
    def _with_form_fields(self, data: Any, **_: Any) -> dict[str, Any]:
        """The ``files`` location holds the file parts only: the text parts of the same body join them here."""
        return {**{k: v for k, v in request.form.items() if k in self.fields}, **{k: data[k] for k in data}}


class ImageAltIn(Schema):
    image_alt = fields.String(load_default="", metadata={"description": "alt text, required: 1 to 1000 characters"})


class LibraryQuery(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=200))
    status = fields.String(load_default="", validate=validate.OneOf(["", *Status.ALL, Status.EXPIRED]))
    topic = fields.String(load_default="", validate=validate.Length(max=100),
                          metadata={"description": "only talking points tagged with this topic"})
    author = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1),
                            metadata={"description": "only talking points written by this person (id)"})


class ReasonIn(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class CommentIn(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class RevisionOut(Schema):
    version = fields.Integer()
    user_id = fields.Integer()
    created_at = fields.DateTime()
    cycle = fields.Integer(metadata={"description": "the review cycle it was saved in (each approval starts the next)"})
    changed = fields.List(fields.String(), attribute="fields",
                          metadata={"description": "what it changed: created, text, link, image, targeting, …"})
    snapshot = fields.Function(lambda r: __import__("json").loads(r.snapshot))


class FindingOut(Schema):
    rule = fields.String()
    label = fields.String()
    action = fields.String()
    message = fields.String()
    start = fields.Integer()
    end = fields.Integer()
    excerpt = fields.String()
    network = fields.String(allow_none=True)


class PreviewIn(Schema):
    network = fields.String(required=True, validate=validate.OneOf(NETWORKS))
    text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=10_000))


class PreviewOut(Schema):
    network = fields.String()
    text = fields.String()
    length = fields.Integer()
    blocked = fields.Boolean()
    findings = fields.List(fields.Nested(FindingOut))


class LivePostOut(Schema):
    id = fields.Integer(metadata={"description": "the share id"})
    user_id = fields.Integer()
    network = fields.String()
    text = fields.String()
    post_id = fields.String()
    post_url = fields.String()
    published_at = fields.DateTime()


class WithdrawOut(Schema):
    talking_point = fields.Nested(TalkingPointOut)
    cancelled = fields.Integer()
    live_posts = fields.List(fields.Nested(LivePostOut))


def _get(tp_id: int) -> TalkingPoint:
    tp = db.session.get(TalkingPoint, tp_id)
    if tp is None:
        abort(404, message=f"no talking point {tp_id}")
    return tp


def _visible(tp: TalkingPoint) -> TalkingPoint:
    """Comms see every talking point; an employee sees those aimed at them and their own suggestions."""
    if current_user.has_role(*EDITORS) or tp.author_id == current_user.id or tp in library.approved_for(current_user):
        return tp
    abort(404, message=f"no talking point {tp.id}")
    raise AssertionError  # abort raises


@blp.route("")
class TalkingPoints(MethodView):
    @roles_required(*EDITORS)
    @blp.arguments(LibraryQuery, location="query")
    @blp.response(200, TalkingPointOut(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """The library of talking points, newest first; ``q`` searches titles, copy, hashtags, topics and links;
        ``status``, ``topic`` and ``author`` narrow it as the studio's filter bar does."""
        return library.library(query["q"], query["status"], topic=query["topic"], author=query["author"])

    @roles_required(*EDITORS)
    @blp.arguments(TalkingPointIn)
    @blp.response(201, TalkingPointOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Write a new draft talking point."""
        title = data.pop("link_title", None)
        tp = workflow.create_talking_point(current_user, **data)
        if title:
            workflow.set_link_title(tp, current_user, title)
        return tp


@blp.route("/<int:tp_id>")
class TalkingPointItem(MethodView):
    @roles_required()
    @blp.response(200, TalkingPointOut)
    def get(self, tp_id: int) -> Any:
        """One talking point (employees: only those aimed at them, and their own suggestions)."""
        return _visible(_get(tp_id))

    @roles_required(*EDITORS)
    @blp.arguments(TalkingPointFields)
    @blp.response(200, TalkingPointOut)
    def patch(self, data: dict[str, Any], tp_id: int) -> Any:
        """Edit a talking point: a new version; an approved one goes back to review. ``link_title`` sets the link's
        own title (null or empty: its page's title again)."""
        given, title = "link_title" in data, data.pop("link_title", None)
        tp = workflow.update_talking_point(_get(tp_id), current_user, **data)
        if given:
            workflow.set_link_title(tp, current_user, title)
        return tp


@blp.route("/<int:tp_id>/link-preview", methods=["POST"])
@roles_required(*EDITORS)
@blp.response(202, LinkPreviewOut)
def refetch_link_preview(tp_id: int) -> Any:
    """Fetch the link's page again for its preview card, in the background (answers the card, now pending)."""
    return link_previews.refetch(_get(tp_id).id)


@blp.route("/<int:tp_id>/submit", methods=["POST"])
@roles_required(*EDITORS)
@blp.response(200, TalkingPointOut)
def submit(tp_id: int) -> Any:
    """Send a draft to review (screening must find nothing that blocks it)."""
    tp = _get(tp_id)
    workflow.submit(tp, current_user)
    return tp


@blp.route("/<int:tp_id>/approve", methods=["POST"])
@roles_required(*EDITORS)
@blp.response(200, TalkingPointOut)
def approve(tp_id: int) -> Any:
    """Approve a talking point in review (four eyes: not your own)."""
    tp = _get(tp_id)
    workflow.approve(tp, current_user)
    return tp


@blp.route("/<int:tp_id>/reject", methods=["POST"])
@roles_required(*EDITORS)
@blp.arguments(ReasonIn)
@blp.response(200, TalkingPointOut)
def reject(data: dict[str, Any], tp_id: int) -> Any:
    """Send a talking point in review back to draft with a reason (four eyes: not your own)."""
    tp = _get(tp_id)
    workflow.reject(tp, current_user, data["reason"])
    return tp


@blp.route("/<int:tp_id>/comments", methods=["POST"])
@roles_required()
@blp.arguments(CommentIn)
@blp.response(201, CommentOut)
def add_comment(data: dict[str, Any], tp_id: int) -> Any:
    """Comment on a talking point (comms staff, or the author of a suggestion)."""
    return workflow.comment(_get(tp_id), current_user, data["body"])


@blp.route("/<int:tp_id>/revisions")
@roles_required(*EDITORS)
@blp.response(200, RevisionOut(many=True))
def revisions(tp_id: int) -> Any:
    """Every saved version of a talking point, oldest first."""
    return _get(tp_id).revisions


@blp.route("/<int:tp_id>/withdraw", methods=["POST"])
@roles_required(*EDITORS)
@blp.arguments(ReasonIn)
@blp.response(200, WithdrawOut)
def withdraw(data: dict[str, Any], tp_id: int) -> Any:
    """Withdraw: cancel every queued share at once and list the posts still live."""
    tp = _get(tp_id)
    cancelled = workflow.withdraw(tp, current_user, data["reason"])
    return {"talking_point": tp, "cancelled": cancelled, "live_posts": recall.live_posts(tp)}


IMAGE_TYPES = {"image/png": {}, "image/jpeg": {}, "image/gif": {}, "image/webp": {}}


@blp.route("/<int:tp_id>/image", endpoint="image")
class ImageItem(MethodView):
    @roles_required()
    @blp.doc(responses={"200": {"description": "the image's bytes, with its stored content type", "content":
                                IMAGE_TYPES},
                        "304": {"description": "not modified (If-None-Match held the ETag)"},
                        "404": {"description": "no such talking point, no image, or not one you may see"}})
    def get(self, tp_id: int) -> Any:
        """The image of a talking point (anyone who may see the talking point). ETag: the bytes' sha256."""
        tp = _get(tp_id)
        image = images.viewable_image(tp, current_user)
        if image is None:
            abort(404, message=f"talking point {tp_id} has no image you may see")
        headers = {"ETag": f'"{image.sha256}"', "Cache-Control": "private, no-cache",
                   "X-Content-Type-Options": "nosniff"}
        if image.sha256 in request.if_none_match:
            return Response(status=304, headers=headers)  # the bytes are not even loaded
        return Response(image.data, mimetype=image.content_type, headers=headers)

    @roles_required(*EDITORS)
    @blp.arguments(ImageFileIn, location="files")
    @blp.response(200, TalkingPointOut)
    def put(self, data: dict[str, Any], tp_id: int) -> Any:
        """Attach or replace the image (multipart: ``image``, ``image_alt``). A content edit: a new version, and an
        approved talking point goes back to review. A refused upload changes nothing."""
        upload = data["image"]
        return images.set_image(_get(tp_id), current_user, upload.read(), data["image_alt"], upload.filename or "")

    @roles_required(*EDITORS)
    @blp.arguments(ImageAltIn)
    @blp.response(200, TalkingPointOut)
    def patch(self, data: dict[str, Any], tp_id: int) -> Any:
        """Change the image's alt text (JSON ``{"image_alt": ...}``): a content edit, like a new image."""
        return images.set_image_alt(_get(tp_id), current_user, data["image_alt"])

    @roles_required(*EDITORS)
    @blp.response(200, TalkingPointOut)
    def delete(self, tp_id: int) -> Any:
        """Remove the image: a content edit, like a new image."""
        return images.remove_image(_get(tp_id), current_user)


@blp.route("/<int:tp_id>/live-posts")
@roles_required(*EDITORS)
@blp.response(200, LivePostOut(many=True))
def live_posts(tp_id: int) -> Any:
    """Posts of this talking point still up on their networks."""
    return recall.live_posts(_get(tp_id))


@blp.route("/<int:tp_id>/live-posts/<int:share_id>/delete", methods=["POST"])
@roles_required()
@blp.response(204)
def delete_post(tp_id: int, share_id: int) -> Any:
    """Delete one post from its network (the employee who posted it, or comms staff)."""
    from advocacy.delivery.models import Share

    share = db.session.get(Share, share_id)
    if share is None or share.talking_point_id != tp_id:
        abort(404, message=f"no post {share_id} of talking point {tp_id}")
    if share.user_id != current_user.id and not current_user.has_role(*EDITORS):
        raise NotAllowed("only the person who posted it, or comms staff, can delete a post")
    recall.delete_post(share, current_user)
    return ""


@blp.route("/<int:tp_id>/preview", methods=["POST"])
@roles_required()
@blp.arguments(PreviewIn)
@blp.response(200, PreviewOut)
def preview(data: dict[str, Any], tp_id: int) -> Any:
    """What a share would say on a network, with an employee's own wording, and what screening finds in it."""
    return composing.preview(_visible(_get(tp_id)), data["network"], data["text"])


@blp.route("/suggestions", methods=["POST"])
@roles_required()
@blp.arguments(SuggestionIn)
@blp.response(201, TalkingPointOut)
def suggest(data: dict[str, Any]) -> Any:
    """An employee proposes a talking point; it enters review like any other."""
    return workflow.suggest(current_user, **data)


class RuleOut(Schema):
    key = fields.String()
    label = fields.String()
    kind = fields.String()
    enabled = fields.Boolean()
    action = fields.String()
    params = fields.Dict()


class RuleIn(Schema):
    enabled = fields.Boolean(load_default=True)
    action = fields.String(required=True, validate=validate.OneOf([screening.BLOCK, screening.WARN]))
    params = fields.Dict(load_default=dict)


class ScreenIn(Schema):
    text = fields.String(required=True, validate=validate.Length(max=10_000))
    networks = fields.List(fields.String(validate=validate.OneOf(screening.LENGTH_NETWORKS)), load_default=list)
    disclosure = fields.String(load_default="", validate=validate.Length(max=200))


@rules_blp.route("/rules")
@roles_required(*EDITORS)
@rules_blp.response(200, RuleOut(many=True))
def list_rules() -> Any:
    """The screening rules as configured now."""
    return composing.screening_rules()


@rules_blp.route("/rules/<key>", methods=["PUT"])
@roles_required(Role.ADMIN)
@rules_blp.arguments(RuleIn)
@rules_blp.response(200, RuleOut)
def put_rule(data: dict[str, Any], key: str) -> Any:
    """Change one rule: on or off, block or warn, and its parameters (admins)."""
    return composing.update_rule(current_user, key, **data)


@rules_blp.route("/check", methods=["POST"])
@roles_required()
@rules_blp.arguments(ScreenIn)
@rules_blp.response(200, FindingOut(many=True))
def check(data: dict[str, Any]) -> Any:
    """Screen any text against the configured rules."""
    return screening.screen(data["text"], networks=data["networks"], disclosure=data["disclosure"],
                            rules=composing.screening_rules())


class DraftIn(Schema):
    copy = fields.Dict(keys=fields.String(validate=validate.OneOf(NETWORKS)),
                       values=fields.String(validate=validate.Length(max=10_000)), required=True,
                       metadata={"description": "the copy by network; generic is used where a network has none"})
    hashtags = fields.String(load_default="", validate=validate.Length(max=500))
    disclosure = fields.String(load_default="", validate=validate.Length(max=200))


class DraftPreviewOut(PreviewOut):
    limit = fields.Integer(allow_none=True)


class AudienceIn(Schema):
    target_everyone = fields.Boolean(load_default=False)
    team_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1)),
                           load_default=list, validate=validate.Length(max=10_000))
    user_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1)),
                           load_default=list, validate=validate.Length(max=10_000))


class AudienceOut(Schema):
    people = fields.Integer()


@rules_blp.route("/preview", methods=["POST"])
@roles_required(*EDITORS)
@rules_blp.arguments(DraftIn)
@rules_blp.response(200, DraftPreviewOut(many=True))
def draft_preview(data: dict[str, Any]) -> Any:
    """What each network would receive from copy still being written: text, length, limit and findings."""
    return composing.draft_previews(data["copy"], data["hashtags"], data["disclosure"])


@blp.route("/audience", methods=["POST"])
@roles_required(*EDITORS)
@blp.arguments(AudienceIn)
@blp.response(200, AudienceOut)
def audience_size(data: dict[str, Any]) -> Any:
    """How many people a targeting choice (organisation, teams, people) reaches."""
    return {"people": library.audience_size(data["target_everyone"], data["team_ids"], data["user_ids"])}
