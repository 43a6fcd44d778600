"""Response headers every answer gets (a strict Content-Security-Policy and the usual hardening headers), and the
guard against hostile input (NUL characters, unpaired surrogates, absurdly deep JSON) on every body."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, Response, render_template, request
from flask.json.provider import DefaultJSONProvider

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


HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def init_app(app: Flask) -> None:
    app.json = GuardedJSONProvider(app)
    # first of all before-request functions: CSRF's check reads the form's field names too
    app.before_request_funcs.setdefault(None, []).insert(0, check_input)
    app.register_error_handler(HostileInput, lambda exc: _refuse(exc.field, exc.problem))


class SecurityHeaders:
    """WSGI middleware giving every answer the headers above, those answered before Flask runs (``/r/<code>``)
    included; a header an answer sets itself (the redirect's ``Referrer-Policy: no-referrer``) is kept."""

    def __init__(self, wrapped: Any, https: bool) -> None:
        self.wrapped = wrapped
        self.headers = (*HEADERS, HSTS) if https else HEADERS

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _ in headers}
            headers = [*headers, *((n, v) for n, v in self.headers if n.lower() not in present)]
            return start_response(status, headers, exc_info)

        return self.wrapped(environ, start)


def install(app: Flask) -> None:
    """Put the headers in front of everything else the app answers with (``create_app`` calls this last)."""
    app.wsgi_app = SecurityHeaders(app.wsgi_app, app.config["SESSION_COOKIE_SECURE"])  # type: ignore[method-assign]


# ---------------------------------------------------------------------------------------------------- CSV cells
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value as every CSV export writes it: text a spreadsheet would run as a formula (starting with ``=``, ``+``,
    ``-``, ``@``, tab or carriage return) gets a leading ``'``; numbers (a negative one included) stay numbers;
    nested values become JSON text, checked the same way."""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


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
    if request.path.startswith("/scim/"):  # identity providers read SCIM errors (advocacy.people.scim_views)
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400",
                "scimType": "invalidValue", "detail": f"{field} {problem}"}
        return Response(json.dumps(body), 400, mimetype="application/scim+json")
    if request.path.startswith("/api/"):
        body = {"code": 422, "status": "Unprocessable Entity", "message": f"{field} {problem}",
                "errors": {"json": {field: [problem]}}}
        return Response(json.dumps(body), 422, mimetype="application/json")
    html = render_template("error.html", code=422, name="Unprocessable Entity", description=f"{field} {problem}.")
    return Response(html, 422, mimetype="text/html")


class HostileInput(Exception):  # noqa: N818 - a refusal, not a bug
    """A JSON body no database can store or no parser should walk; answered with a 422 naming the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field, self.problem = field, problem


def check_json(raw: str) -> Any:
    """Parse a JSON text, refusing what :func:`unsafe_text` refuses anywhere in it and nesting deeper than
    :data:`MAX_JSON_DEPTH` (measured before parsing). Raises :class:`HostileInput`; malformed JSON raises
    ``ValueError`` as ``json.loads`` does."""
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise HostileInput("body", f"is nested deeper than {MAX_JSON_DEPTH} levels")
    parsed = json.loads(raw)
    found = _walk(parsed, "")
    if found:
        raise HostileInput(*found)
    return parsed


class GuardedJSONProvider(DefaultJSONProvider):
    """Flask's JSON with the hostile-input checks in ``loads``: whatever the Content-Type, a body a view parses
    (``request.get_json(force=True)`` included) goes through :func:`check_json`."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if isinstance(s, bytes | bytearray):
            s = s.decode("utf-8")  # invalid UTF-8: UnicodeDecodeError, a ValueError (a 400, as before)
        if kwargs:
            return super().loads(s, **kwargs)
        return check_json(s)


def check_input() -> Response | None:
    """Refuse, naming the field, what no database can store or no parser should walk: NUL characters, unpaired
    surrogates, JSON nested absurdly deep. Everything else is left to the views' own validation.

    Every JSON body is checked (``application/json`` and every ``application/*+json``: what the API's argument
    parser reads) before a view runs; :class:`GuardedJSONProvider` checks any other body a view parses as JSON."""
    if request.mimetype == "application/x-www-form-urlencoded":
        # keep the raw body (the form is then parsed from it): a signed body (Slack's callbacks) is verified on it
        request.get_data(cache=True, parse_form_data=False)
    for source in (request.args, request.form):
        for key, values in source.lists():
            if key is None:  # a multipart part whose name werkzeug could not read (a raw line break in it)
                return _refuse("field name", "is not readable (a form part's name holds a line break)")
            for value in [key, *values]:
                problem = unsafe_text(value)
                if problem:
                    return _refuse(key if value is not key else "field name", problem)
    if request.is_json and request.content_length != 0:
        raw = request.get_data(cache=True, as_text=True)
        try:
            check_json(raw) if raw.strip() else None
        except HostileInput as exc:
            return _refuse(exc.field, exc.problem)
        except ValueError:
            return None  # the view's parser answers malformed JSON itself
    return None
