"""Block Kit checks, as strict as Slack's: the block and element shapes this app may send, their limits, unknown
keys refused. A failure is the list of messages Slack puts in ``response_metadata.messages`` with ``invalid_blocks``.
"""

from __future__ import annotations

from typing import Any

BLOCK_KEYS = {
    "section": {"type", "block_id", "text", "fields", "accessory"},
    "actions": {"type", "block_id", "elements"},
    "context": {"type", "block_id", "elements"},
    "divider": {"type", "block_id"},
    "header": {"type", "block_id", "text"},
    "image": {"type", "block_id", "image_url", "alt_text", "title"},
    "input": {"type", "block_id", "label", "element", "hint", "optional", "dispatch_action"},
}
MESSAGE_BLOCKS = frozenset(BLOCK_KEYS) - {"input"}
MODAL_BLOCKS = frozenset(BLOCK_KEYS)
BUTTON_KEYS = {"type", "text", "action_id", "url", "value", "style", "confirm", "accessibility_label"}
INPUT_KEYS = {"type", "action_id", "initial_value", "multiline", "min_length", "max_length", "placeholder",
              "focus_on_load", "dispatch_action_config"}
VIEW_KEYS = {"type", "title", "blocks", "close", "submit", "private_metadata", "callback_id", "clear_on_close",
             "notify_on_close", "external_id", "submit_disabled"}


class Invalid(Exception):
    pass


def _fail(path: str, problem: str) -> None:
    raise Invalid(f"[ERROR] {problem} [json-pointer:{path}]")


def _keys(obj: Any, allowed: set[str], path: str) -> None:
    if not isinstance(obj, dict):
        _fail(path, "must be an object")
    for key in obj:
        if key not in allowed:
            _fail(f"{path}/{key}", "unsupported property")


def text_object(obj: Any, path: str, *, max_length: int, plain_only: bool = False) -> None:
    _keys(obj, {"type", "text", "emoji", "verbatim"}, path)
    kind = obj.get("type")
    if kind not in ("plain_text", "mrkdwn") or (plain_only and kind != "plain_text"):
        _fail(f"{path}/type", "must be plain_text" if plain_only else "must be plain_text or mrkdwn")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        _fail(f"{path}/text", "must be a non-empty string")
    if len(text) > max_length:
        _fail(f"{path}/text", f"must be less than {max_length + 1} characters")
    if "emoji" in obj and kind != "plain_text":
        _fail(f"{path}/emoji", "is only allowed in plain_text")
    if "verbatim" in obj and kind != "mrkdwn":
        _fail(f"{path}/verbatim", "is only allowed in mrkdwn")


def _limited_string(obj: dict[str, Any], key: str, path: str, max_length: int, *, required: bool = False) -> None:
    value = obj.get(key)
    if value is None:
        if required:
            _fail(f"{path}/{key}", "is required")
        return
    if not isinstance(value, str) or not value or len(value) > max_length:
        _fail(f"{path}/{key}", f"must be a string of 1 to {max_length} characters")


def button(obj: Any, path: str, action_ids: set[str]) -> None:
    _keys(obj, BUTTON_KEYS, path)
    text_object(obj.get("text"), f"{path}/text", max_length=75, plain_only=True)
    _limited_string(obj, "action_id", path, 255)
    _limited_string(obj, "value", path, 2000)
    _limited_string(obj, "url", path, 3000)
    if obj.get("style") is not None and obj["style"] not in ("primary", "danger"):
        _fail(f"{path}/style", "must be primary or danger")
    action_id = obj.get("action_id")
    if action_id is not None:
        if action_id in action_ids:
            _fail(f"{path}/action_id", "must be unique")
        action_ids.add(action_id)


def _element(obj: Any, path: str, action_ids: set[str], *, in_input: bool = False) -> None:
    if not isinstance(obj, dict):
        _fail(path, "must be an object")
    kind = obj.get("type")
    if kind == "button" and not in_input:
        button(obj, path, action_ids)
    elif kind == "plain_text_input" and in_input:
        _keys(obj, INPUT_KEYS, path)
        _limited_string(obj, "action_id", path, 255)
        _limited_string(obj, "initial_value", path, 3000)
    else:
        _fail(f"{path}/type", f"unsupported element type {kind!r}")


def _section(block: dict[str, Any], path: str, action_ids: set[str]) -> None:
    if "text" not in block and "fields" not in block:
        _fail(path, "must have text or fields")
    if "text" in block:
        text_object(block["text"], f"{path}/text", max_length=3000)
    for i, item in enumerate(block.get("fields") or []):
        text_object(item, f"{path}/fields/{i}", max_length=2000)
    if len(block.get("fields") or []) > 10:
        _fail(f"{path}/fields", "must have at most 10 items")
    if "accessory" in block:
        _element(block["accessory"], f"{path}/accessory", action_ids)


def _block(block: Any, path: str, allowed: frozenset[str], block_ids: set[str], action_ids: set[str]) -> None:
    if not isinstance(block, dict):
        _fail(path, "must be an object")
    kind = block.get("type")
    if kind not in allowed:
        _fail(f"{path}/type", f"unsupported block type {kind!r}")
    _keys(block, BLOCK_KEYS[kind], path)
    _limited_string(block, "block_id", path, 255)
    if block.get("block_id") is not None:
        if block["block_id"] in block_ids:
            _fail(f"{path}/block_id", "must be unique")
        block_ids.add(block["block_id"])
    if kind == "section":
        _section(block, path, action_ids)
    elif kind == "header":
        text_object(block.get("text"), f"{path}/text", max_length=150, plain_only=True)
    elif kind in ("actions", "context"):
        elements = block.get("elements")
        most = 25 if kind == "actions" else 10
        if not isinstance(elements, list) or not 1 <= len(elements) <= most:
            _fail(f"{path}/elements", f"must have 1 to {most} items")
        for i, element in enumerate(elements):
            if kind == "actions":
                _element(element, f"{path}/elements/{i}", action_ids)
            else:
                text_object(element, f"{path}/elements/{i}", max_length=3000)
    elif kind == "image":
        _limited_string(block, "image_url", path, 3000, required=True)
        _limited_string(block, "alt_text", path, 2000, required=True)
    elif kind == "input":
        text_object(block.get("label"), f"{path}/label", max_length=2000, plain_only=True)
        _element(block.get("element"), f"{path}/element", action_ids, in_input=True)


def check_blocks(blocks: Any, *, max_blocks: int = 50, modal: bool = False) -> None:
    """Raise ``Invalid`` with Slack's message for the first problem in ``blocks``."""
    if not isinstance(blocks, list):
        _fail("", "must be an array")
    if len(blocks) > max_blocks:
        _fail("", f"must have at most {max_blocks} items")
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for i, block in enumerate(blocks):
        _block(block, f"/{i}", MODAL_BLOCKS if modal else MESSAGE_BLOCKS, block_ids, action_ids)


def check_view(view: Any) -> None:
    """A modal view: title (24), submit and close (24), callback_id, private_metadata (3000), its blocks."""
    _keys(view, VIEW_KEYS, "/view")
    if view.get("type") != "modal":
        _fail("/view/type", "must be modal")
    text_object(view.get("title"), "/view/title", max_length=24, plain_only=True)
    for key in ("submit", "close"):
        if key in view:
            text_object(view[key], f"/view/{key}", max_length=24, plain_only=True)
    _limited_string(view, "callback_id", "/view", 255)
    _limited_string(view, "private_metadata", "/view", 3000)
    blocks = view.get("blocks")
    check_blocks(blocks, max_blocks=100, modal=True)
    if any(b.get("type") == "input" for b in blocks) and "submit" not in view:
        _fail("/view/submit", "is required when the view has input blocks")
