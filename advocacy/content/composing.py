"""What goes out, and screening it: the composed text of a share (copy, missing hashtags, the locked disclosure line
last), previews per network while writing and before sharing, the screening rules as configured, and the checks
that refuse a blocked copy.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from flask import current_app
from sqlalchemy import select

from advocacy.audit.services import record
from advocacy.content import screening
from advocacy.content.checks import MAX_TEXT, _hashtags, _text
from advocacy.content.models import ScreeningRule, TalkingPoint, Variant
from advocacy.errors import DomainError, NotAllowed
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.people.models import Role, User


def screening_rules() -> list[screening.Rule]:
    """The catalogue with the admins' settings applied."""
    stored = {r.key: r for r in db.session.scalars(select(ScreeningRule))}
    rules = []
    for spec in screening.CATALOGUE:
        row = stored.get(spec.key)
        rules.append(screening.merge(spec, row.enabled, row.action, row.params) if row
                     else screening.merge(spec, True, spec.action, "{}"))
    return rules


def update_rule(admin: User, key: str, *, enabled: bool, action: str, params: Mapping[str, Any]) -> screening.Rule:
    """An admin changes one screening rule.

    Args:
        admin: an admin.
        key: the rule's key.
        enabled: whether it runs.
        action: block or warn.
        params: the rule's parameters (limit, terms, markers, region, text).
    """
    if not admin.has_role(Role.ADMIN):
        raise NotAllowed("only admins change screening rules")
    values = screening.clean_settings(key, action, params)
    row = db.session.get(ScreeningRule, key) or ScreeningRule(key=key)
    current = json.loads(row.params or "{}") if row.params else {}
    row.enabled, row.action, row.params = enabled, action, json.dumps(current | values, ensure_ascii=False)
    row.updated_at, row.updated_by_id = utcnow(), admin.id
    db.session.add(row)
    record(admin, "screening_rule_changed", "screening_rule", None, key=key, enabled=enabled, rule_action=action,
           params=values)
    db.session.commit()
    return next(r for r in screening_rules() if r.key == key)


def tracked_link_placeholder() -> str:
    """A link as long as the tracked link each share gets, for counting lengths."""
    return f"{current_app.config['PUBLIC_URL']}/r/{'x' * 8}"


def screen_talking_point(tp: TalkingPoint) -> list[tuple[int, Variant, list[screening.Finding]]]:
    """Findings for each variant: generic copy is measured against each network without its own variant."""
    rules = screening_rules()
    own = {v.network for v in tp.variants}
    result = []
    for i, variant in enumerate(tp.variants):
        networks = [variant.network] if variant.network != "generic" else [
            n for n in screening.LENGTH_NETWORKS if n not in own]
        text = _compose(tp, variant.text)
        result.append((i, variant, screening.screen(text, networks=networks, link=tracked_link_placeholder(),
                                                    disclosure=tp.disclosure, rules=rules,
                                                    media=tp.image is not None)))
    return result


def _refusal(findings: Sequence[screening.Finding]) -> str:
    return "screening blocked it: " + "; ".join(f.describe() for f in findings)


def _screen_or_refuse(tp: TalkingPoint) -> None:
    for i, variant, findings in screen_talking_point(tp):
        blocked = screening.blocking(findings)
        if blocked:
            raise DomainError(f"{variant.network} copy: {_refusal(blocked)}", f"variants.{i}.text")


def variants_for(tp: TalkingPoint, network: str) -> list[str]:
    """The copy variants comms wrote for ``network`` (its own, else the generic ones), in order, without repeats."""
    bodies = [v.text for v in tp.variants if v.network == network] or \
        [v.text for v in tp.variants if v.network == "generic"] or [tp.copy_for(network)]
    return list(dict.fromkeys(bodies))


def variant_index(tp_id: int, user_id: int, count: int) -> int:
    """Which of ``count`` variants a person gets: stable for that person, spread evenly across the audience.

    People's ids are consecutive, so ``(user id + talking point id) mod count`` hands each variant to every
    count-th person (an audience of 300 and 3 variants: 100 each); adding the talking point's id moves each person
    to another variant from one talking point to the next.
    """
    return (user_id + tp_id) % count if count > 1 else 0


def copy_for_person(tp: TalkingPoint, network: str, user_id: int | None) -> str:
    """The copy a person sees and shares on ``network``: the variant assigned to them (``variant_index``); the
    feed, the share API, the share dialog and auto-share's fan-out all go through here."""
    bodies = variants_for(tp, network)
    if user_id is None:
        return bodies[0]
    return bodies[variant_index(tp.id, user_id, len(bodies))]


def check_employee_copy(tp: TalkingPoint, network: str, text: str, user_id: int | None = None) -> str:
    """An employee's own wording for a share, screened; returns the composed text or raises ``DomainError``.

    Args:
        tp: the talking point shared.
        network: where it goes.
        text: the employee's edit of the copy.
        user_id: who shares (their assigned variant is the copy "as written").
    """
    text = _text(text, "text", MAX_TEXT, required=True)
    if not tp.employees_may_edit and text != copy_for_person(tp, network, user_id).strip():
        raise NotAllowed("this talking point must be shared as written: its copy may not be edited")
    composed = _compose(tp, text)
    findings = screening.screen(composed, networks=[network], link=tracked_link_placeholder(),
                                disclosure=tp.disclosure, rules=screening_rules(),
                                media=tp.approved_image is not None)  # shares carry the approved image
    blocked = screening.blocking(findings)
    if blocked:
        raise DomainError(_refusal(blocked), "text")
    return composed


def preview(tp: TalkingPoint, network: str, text: str | None = None, user_id: int | None = None,
            rules: list[screening.Rule] | None = None) -> dict[str, Any]:
    """What a share would say on ``network`` (for ``user_id``: their variant) and what screening finds in it
    (nothing is refused here). ``rules``: ``screening_rules()`` read once by a page that previews many."""
    copy = copy_for_person(tp, network, user_id)
    composed = _compose(tp, text if text is not None else copy)
    media = tp.approved_image is not None  # what a share carries
    findings, blocked, length = _screened(composed, network, tracked_link_placeholder(), tp.disclosure, media,
                                          screening_rules() if rules is None else rules)
    return {"network": network, "text": composed, "copy": copy, "length": length,
            "findings": [dict(f) for f in findings], "blocked": blocked}


# Screening a preview is a pure function of the text, the network, the link, the disclosure line, the image flag and
# the rules as configured; the feed previews every card on every network, mostly the same copy for everyone, so the
# answers are kept (least recently used first out), keyed by all of those.
_SCREENED: OrderedDict[tuple[Any, ...], tuple[list[dict[str, Any]], bool, int]] = OrderedDict()
_SCREENED_MAX = 4096
_SCREENED_LOCK = threading.Lock()
_rules_key: tuple[Any, Any] = (None, None)  # (the last rules list seen, its key): a page passes one list many times


def _rules_fingerprint(rules: list[screening.Rule]) -> Any:
    global _rules_key
    seen, key = _rules_key
    if seen is not rules:
        key = tuple((r.key, r.enabled, r.action, json.dumps(dict(r.params), sort_keys=True, default=str))
                    for r in rules)
        _rules_key = (rules, key)
    return key


def _screened(composed: str, network: str, link: str, disclosure: str, media: bool,
              rules: list[screening.Rule]) -> tuple[list[dict[str, Any]], bool, int]:
    key = (composed, network, link, disclosure, media, _rules_fingerprint(rules))
    with _SCREENED_LOCK:
        hit = _SCREENED.get(key)
        if hit is not None:
            _SCREENED.move_to_end(key)
            return hit
    findings = screening.screen(composed, networks=[network] if network in screening.LENGTH_NETWORKS else [],
                                link=link, disclosure=disclosure, rules=rules, media=media)
    length = (screening.sent_length(composed, network, link, media) if network in screening.LENGTH_NETWORKS
              else len(f"{composed} {link}"))
    answer = ([f.as_dict() for f in findings], bool(screening.blocking(findings)), length)
    with _SCREENED_LOCK:
        _SCREENED[key] = answer
        if len(_SCREENED) > _SCREENED_MAX:
            _SCREENED.popitem(last=False)
    return answer


def _compose(tp: TalkingPoint, body: str) -> str:
    """Copy, the hashtags it lacks, then the locked disclosure line, always last and always whole.

    The line counts as present only when the copy ends with exactly its words, each a whole token; anything else
    (the line inside a longer word, "(not #iworkforacme)", the line mid-text) gets the line appended, so no wording
    can remove it. Screening flags such mangled copies on top (``screening._check_disclosure_intact``).
    """
    body = body.strip()
    line = (tp.disclosure or "").split()
    end = re.search(r"(?:^|\s)" + r"\s+".join(re.escape(w) for w in line) + r"$", body) if line else None
    core = body[:end.start()].rstrip() if end else body  # the copy without the line it ends with
    missing = [h for h in tp.hashtags.split() if h and h.lower() not in core.lower()]
    if end and not missing:
        return body  # ends with the line already, as the person laid it out
    parts = [core]
    if missing:
        parts.append(" ".join(missing))
    if line:  # last, after the hashtags it lacked
        parts.append(" ".join(line))
    return " ".join(p for p in parts if p)


def compose(tp: TalkingPoint, network: str, text: str | None = None, user_id: int | None = None) -> str:
    """The text that goes out: copy (``user_id``'s variant), hashtags not already in it, then the locked
    disclosure line.

    ``text`` is an employee's own wording: it is checked (may the copy be edited? does screening block it?) and a
    ``DomainError`` naming the field ``text`` refuses the share before anything is stored.
    """
    if text is not None:
        return check_employee_copy(tp, network, text, user_id)
    return _compose(tp, copy_for_person(tp, network, user_id))


def length_limits() -> dict[str, int]:
    """Each network's length limit as the enabled screening rules set it (a network without one is absent)."""
    return {str(r.params["network"]): int(r.params["limit"]) for r in screening_rules()
            if r.kind == "length" and r.enabled}


def draft_previews(copy: Mapping[str, str], hashtags: str = "", disclosure: str = "") -> list[dict[str, Any]]:
    """What each network would receive from a talking point still being written, with its length and findings.

    Nothing is stored and nothing is refused: this feeds the studio's previews and counters as comms staff type.

    Args:
        copy: the copy by network (``generic`` is used on every network without its own).
        hashtags: the talking point's hashtags (added when the copy does not carry them).
        disclosure: the locked disclosure line (added to every share and counted in its length).
    """
    problem = None
    try:
        tags = _hashtags(hashtags)
    except DomainError as exc:  # half-typed hashtags: preview without them and say why, do not refuse
        tags, problem = "", exc.message
    draft = TalkingPoint(hashtags=tags, disclosure=(disclosure or "").strip()[:200])
    limits, rules, link = length_limits(), screening_rules(), tracked_link_placeholder()
    out = []
    for network in screening.LENGTH_NETWORKS:
        body = (copy.get(network) or "").strip() or (copy.get("generic") or "").strip()
        if not body:
            continue
        composed = _compose(draft, body[:MAX_TEXT])
        findings = [f.as_dict() for f in screening.screen(composed, networks=[network], link=link,
                                                           disclosure=draft.disclosure, rules=rules)]
        if problem:
            findings.insert(0, {"rule": "hashtags", "label": "Hashtags", "action": screening.BLOCK,
                                "message": problem, "start": 0, "end": 0, "excerpt": "", "network": None})
        out.append({"network": network, "text": composed, "length": screening.sent_length(composed, network, link),
                    "limit": limits.get(network), "findings": findings,
                    "blocked": any(f["action"] == screening.BLOCK for f in findings)})
    return out
