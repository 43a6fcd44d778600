"""Compatibility only: the content services now live in focused modules; import from those.

``checks`` (field checks, who may write), ``versions`` (revisions, review cycles, four eyes), ``workflow``
(create, edit, suggest, submit, approve, reject, comment, withdraw), ``images``, ``composing`` (the text that goes
out, previews, screening), ``library`` (what people may share, search, the review queue) and ``recall``. This
module re-exports them for code not moved over yet.
"""

from __future__ import annotations

from advocacy.content.checks import (  # noqa: F401
    EDITORS,
    FIELDS,
    HASHTAG_RE,
    MAX_ID,
    MAX_TEXT,
    _apply,
    _bool,
    _editor,
    _hashtags,
    _ids,
    _text,
    _topics,
    _variants,
    _when,
    check_link,
    clean,
)
from advocacy.content.composing import (  # noqa: F401
    _compose,
    _refusal,
    _screen_or_refuse,
    check_employee_copy,
    compose,
    draft_previews,
    length_limits,
    preview,
    screen_talking_point,
    screening_rules,
    tracked_link_placeholder,
    update_rule,
)
from advocacy.content.images import (  # noqa: F401
    _approve_image,
    _drop_unused,
    _editable,
    _swap,
    check_alt,
    check_image,
    image_findings,
    remove_image,
    set_image,
    set_image_alt,
    shared_image,
    viewable_image,
)
from advocacy.content.library import (  # noqa: F401
    _like,
    approved_for,
    audience,
    audience_size,
    is_available,
    library,
    may_see,
    people,
    review_queue,
    teams,
)
from advocacy.content.recall import (  # noqa: F401
    delete_post,
    is_deleted,
    live_posts,
)
from advocacy.content.versions import (  # noqa: F401
    CHANGE_NAMES,
    _changed,
    _four_eyes,
    _next_cycle,
    _next_version,
    _revise,
    changed_fields,
    four_eyes_refusal,
    image_meta,
    review_changes,
    snapshot,
)
from advocacy.content.workflow import (  # noqa: F401
    approve,
    comment,
    create_talking_point,
    reject,
    submit,
    suggest,
    update_talking_point,
    withdraw,
)
