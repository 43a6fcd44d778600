"""What the Teams sandbox accepts as a Workflows webhook body, checked as strictly as the flow and Teams' Adaptive
Card renderer would (PLATFORMS-2026 §7): ``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": {"type": "AdaptiveCard", "version": "1.4",
"body": [...], "actions": [...]}}]}``.

Refused: another message type, no attachment or more than one (the "Post card" step reads ``attachments[0]`` and
the template posts one card), another content type, a card that is not an ``AdaptiveCard`` or names a version Teams
does not render (1.0 to 1.5), body elements of unknown types, inputs and ``Action.Submit`` / ``Action.Execute``
(they need a bot to receive them: without one they do nothing), URLs that are not absolute http(s).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5")
ELEMENTS = frozenset({"TextBlock", "Image", "Container", "ColumnSet", "FactSet", "ImageSet", "ActionSet",
                      "RichTextBlock", "Media", "Table"})
NEEDS_BOT = frozenset({"Action.Submit", "Action.Execute"})
ACTIONS = frozenset({"Action.OpenUrl", "Action.ShowCard", "Action.ToggleVisibility"})


class CardError(Exception):
    """A body the flow or Teams would not post; the message names where (``attachments[0].content.body[2]``)."""


def _absolute(url: Any, where: str) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise CardError(f"{where}: must be an absolute http(s) URL, got {url!r}")


def _action(action: Any, where: str, depth: int) -> None:
    if not isinstance(action, dict):
        raise CardError(f"{where}: an action is an object")
    kind = action.get("type")
    if kind in NEEDS_BOT:
        raise CardError(f"{where}: {kind} needs a bot to receive it; a Workflows webhook posts no bot "
                        "(use Action.OpenUrl)")
    if kind not in ACTIONS:
        raise CardError(f"{where}: unknown action type {kind!r}")
    if not isinstance(action.get("title", ""), str):
        raise CardError(f"{where}.title: must be a string")
    if kind == "Action.OpenUrl":
        _absolute(action.get("url"), f"{where}.url")
    elif kind == "Action.ShowCard":
        _card(action.get("card"), f"{where}.card", depth + 1, top=False)


def _actions(actions: Any, where: str, depth: int) -> None:
    if not isinstance(actions, list):
        raise CardError(f"{where}: must be a list")
    for i, action in enumerate(actions):
        _action(action, f"{where}[{i}]", depth)


def _element(element: Any, where: str, depth: int) -> None:  # noqa: C901 - one branch per element type
    if depth > 8:
        raise CardError(f"{where}: nested too deep")
    if not isinstance(element, dict):
        raise CardError(f"{where}: an element is an object")
    kind = element.get("type")
    if isinstance(kind, str) and kind.startswith("Input."):
        raise CardError(f"{where}: {kind} needs Action.Submit and a bot to be read")
    if kind not in ELEMENTS:
        raise CardError(f"{where}: unknown element type {kind!r}")
    if "selectAction" in element:
        _action(element["selectAction"], f"{where}.selectAction", depth)
    if kind == "TextBlock" and not isinstance(element.get("text"), str):
        raise CardError(f"{where}.text: a TextBlock needs its text")
    elif kind == "Image":
        _absolute(element.get("url"), f"{where}.url")
    elif kind == "Container":
        _elements(element.get("items"), f"{where}.items", depth + 1)
    elif kind == "ColumnSet":
        for i, column in enumerate(element.get("columns") or []):
            if not isinstance(column, dict) or column.get("type", "Column") != "Column":
                raise CardError(f"{where}.columns[{i}]: must be a Column")
            _elements(column.get("items", []), f"{where}.columns[{i}].items", depth + 1)
    elif kind == "FactSet":
        facts = element.get("facts")
        if not isinstance(facts, list) or not all(
                isinstance(f, dict) and isinstance(f.get("title"), str) and isinstance(f.get("value"), str)
                for f in facts):
            raise CardError(f"{where}.facts: a list of {{title, value}} strings")
    elif kind == "ImageSet":
        for i, image in enumerate(element.get("images") or []):
            _element(image, f"{where}.images[{i}]", depth + 1)
    elif kind == "ActionSet":
        _actions(element.get("actions"), f"{where}.actions", depth)


def _elements(elements: Any, where: str, depth: int) -> None:
    if not isinstance(elements, list):
        raise CardError(f"{where}: must be a list")
    for i, element in enumerate(elements):
        _element(element, f"{where}[{i}]", depth)


def _card(card: Any, where: str, depth: int, *, top: bool = True) -> None:
    if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
        raise CardError(f"{where}.type: must be \"AdaptiveCard\"")
    version = card.get("version")
    if top and version not in VERSIONS:
        raise CardError(f"{where}.version: Teams renders Adaptive Cards {', '.join(VERSIONS)}; got {version!r}")
    _elements(card.get("body", []), f"{where}.body", depth)
    _actions(card.get("actions", []), f"{where}.actions", depth)
    if top and not card.get("body") and not card.get("actions"):
        raise CardError(f"{where}: the card is empty (no body, no actions)")


def check_message(payload: Any) -> dict[str, Any]:
    """The card of a webhook body, or ``CardError`` naming what Teams would refuse."""
    if not isinstance(payload, dict):
        raise CardError("the body must be a JSON object")
    if payload.get("type") != "message":
        raise CardError(f"type: must be \"message\", got {payload.get('type')!r}")
    attachments = payload.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        raise CardError("attachments: must hold exactly one card")
    attachment = attachments[0]
    if not isinstance(attachment, dict) or attachment.get("contentType") != CARD_TYPE:
        raise CardError(f"attachments[0].contentType: must be {CARD_TYPE!r}")
    if attachment.get("contentUrl") is not None:
        raise CardError("attachments[0].contentUrl: must be null (the card is inline)")
    card: dict[str, Any] = attachment.get("content") or {}
    _card(card, "attachments[0].content", 0)
    return card
