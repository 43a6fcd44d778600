"""Response headers every page gets: a strict Content-Security-Policy and the usual hardening headers."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, Response, render_template, request

# Scripts only from our own origin (no inline script, no eval); inline style attributes are allowed because
# progress bars and charts set widths in markup, which cannot run code.
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
])


def init_app(app: Flask) -> None:
    app.before_request(check_input)

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response


# ------------------------------------------------------------------------------------------------ hostile input
MAX_JSON_DEPTH = 32
_STRUCTURE = re.compile(r'[\[\]{}"\\]')


def json_depth(text: str) -> int:
    """How deeply a JSON text nests, found without parsing it (so a hostile body cannot exhaust the stack)."""
    depth = deepest = 0
    in_string = False
    escaped_at = -1  # position of the character a backslash escapes
    for match in _STRUCTURE.finditer(text):
        char, at = match.group(), match.start()
        if in_string:
            if at == escaped_at:
                continue
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def unsafe_text(value: str) -> str | None:
    """Why a piece of text cannot be stored (a NUL byte, an unpaired surrogate), or None."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate (not valid Unicode text)"
    return None


def _walk(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        problem = unsafe_text(value)
        return (path or "body", problem) if problem else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _walk(key, path or "body") or _walk(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _walk(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _refuse(field: str, problem: str) -> Response:
    if request.path.startswith("/api/"):
        body = {"code": 422, "status": "Unprocessable Entity", "message": f"{field} {problem}",
                "errors": {"json": {field: [problem]}}}
        return Response(json.dumps(body), 422, mimetype="application/json")
    html = render_template("error.html", code=422, name="Unprocessable Entity", description=f"{field} {problem}.")
    return Response(html, 422, mimetype="text/html")


def check_input() -> Response | None:
    """Refuse, naming the field, what no database can store or no parser should walk: NUL characters, unpaired
    surrogates, JSON nested absurdly deep. Everything else is left to the views' own validation."""
    for source in (request.args, request.form):
        for key, values in source.lists():
            for value in [key, *values]:
                problem = unsafe_text(value)
                if problem:
                    return _refuse(key if value is not key else "field name", problem)
    if request.mimetype == "application/json" and request.content_length != 0:
        raw = request.get_data(cache=True, as_text=True)
        if json_depth(raw) > MAX_JSON_DEPTH:
            return _refuse("body", f"is nested deeper than {MAX_JSON_DEPTH} levels")
        try:
            parsed = json.loads(raw) if raw.strip() else None
        except ValueError:
            return None  # the view's parser answers malformed JSON itself
        found = _walk(parsed, "")
        if found:
            return _refuse(*found)
    return None
