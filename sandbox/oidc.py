"""A local OpenID Connect provider, standing in for a company's identity provider (Okta, Entra ID, Keycloak…).

It implements the Authorization Code flow of OpenID Connect Core 1.0 as a relying party meets it: discovery
(``/.well-known/openid-configuration``), an HTML sign-in page, ``/token`` answering with an RS256-signed ID token
(``iss``, ``sub``, ``aud``, ``exp``, ``iat``, ``nonce``, ``email``, ``email_verified``, ``name`` and the directory
claims ``groups`` and ``department``), ``/userinfo`` and ``/jwks``. PKCE (S256) is checked when the client sent a
challenge. People are made on the sign-in page or through the control API.

Control API (JSON): ``POST /_sandbox/users`` ``{"username", "email", "name", "groups": [...], "department"}``,
``POST /_sandbox/reset``, ``POST /_sandbox/config`` ``{"clients": {id: secret}}`` (empty: any client is accepted).
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import RSAKey

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font:16px system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}}
input{{width:100%;padding:.5rem;margin:.25rem 0 .75rem;box-sizing:border-box}}
button{{padding:.6rem 1.2rem}}</style></head><body>{body}</body></html>"""
AUTHORIZE_PARAMS = ("response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge",
                    "code_challenge_method")


@dataclass
class Person:
    username: str
    email: str
    name: str
    groups: list[str] = field(default_factory=list)
    department: str = ""

    @property
    def sub(self) -> str:
        return "sandbox|" + hashlib.sha256(self.username.encode()).hexdigest()[:20]

    def claims(self) -> dict[str, Any]:
        return {"sub": self.sub, "email": self.email, "email_verified": True, "name": self.name,
                "preferred_username": self.username, "groups": list(self.groups), "department": self.department}


@dataclass
class State:
    key: Any = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "sandbox-1"}))
    people: dict[str, Person] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> username
    clients: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.people.clear()
            self.codes.clear()
            self.tokens.clear()
            self.clients.clear()


def _page(title: str, body: str, status: int = 200) -> Response:
    return Response(PAGE.format(title=html.escape(title), body=body), status, mimetype="text/html")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def create_app() -> Flask:
    """The provider as a Flask app; its issuer is the URL it is served at."""
    app = Flask(__name__)
    state = State()
    app.extensions["oidc_sandbox"] = state
    _protocol_routes(app, state)
    _token_routes(app, state)
    _control_routes(app, state)
    return app


def _issuer() -> str:
    return request.host_url.rstrip("/")


def _protocol_routes(app: Flask, state: State) -> None:
    issuer = _issuer

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Any:
        base = issuer()
        return jsonify({
            "issuer": base, "authorization_endpoint": f"{base}/authorize", "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo", "jwks_uri": f"{base}/jwks",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"], "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "email", "email_verified", "name", "groups", "department"],
        })

    @app.get("/jwks")
    def jwks() -> Any:
        return jsonify({"keys": [state.key.as_dict(private=False, use="sig", alg="RS256")]})

    @app.get("/authorize")
    def authorize_page() -> Any:
        params = {k: request.args.get(k, "") for k in AUTHORIZE_PARAMS}
        problem = _check_authorize(params, state)
        if problem:
            return _page("Sign-in error", f"<h1>Sign-in error</h1><p>{_e(problem)}</p>", 400)
        hidden = "".join(f'<input type="hidden" name="{k}" value="{_e(v)}">' for k, v in params.items())
        body = (f"<h1>Sandbox identity provider</h1><p>Sign in to continue to <strong>{_e(params['client_id'])}"
                f"</strong>.</p><form method=\"post\" action=\"/authorize\">{hidden}"
                '<label for="username">Username</label><input id="username" name="username" required>'
                '<label for="groups">Groups (comma-separated)</label><input id="groups" name="groups">'
                '<label for="department">Department</label><input id="department" name="department">'
                '<button type="submit">Sign in</button></form>')
        return _page("Sign in", body)

    @app.post("/authorize")
    def authorize() -> Any:
        params = {k: request.form.get(k, "") for k in AUTHORIZE_PARAMS}
        problem = _check_authorize(params, state)
        if problem:
            return _page("Sign-in error", f"<h1>Sign-in error</h1><p>{_e(problem)}</p>", 400)
        username = request.form.get("username", "").strip()
        if not username:
            return _page("Sign-in error", "<p>username is required</p>", 400)
        with state.lock:
            person = state.people.get(username)
            if person is None:
                groups = [g.strip() for g in request.form.get("groups", "").split(",") if g.strip()]
                person = state.people[username] = Person(username, f"{username}@example.com", username.title(),
                                                         groups, request.form.get("department", "").strip())
            code = secrets.token_urlsafe(24)
            state.codes[code] = {**params, "username": username, "at": time.time()}
        return redirect(f"{params['redirect_uri']}?{urlencode({'code': code, 'state': params['state']})}")


def _token_routes(app: Flask, state: State) -> None:
    issuer = _issuer

    @app.post("/token")
    def token() -> Any:
        client_id, secret = _client_credentials()
        if state.clients and state.clients.get(client_id) != secret:
            return jsonify({"error": "invalid_client"}), 401
        if request.form.get("grant_type") != "authorization_code":
            return jsonify({"error": "unsupported_grant_type"}), 400
        with state.lock:
            grant = state.codes.pop(request.form.get("code", ""), None)
        if (grant is None or time.time() - grant["at"] > 60 or grant["client_id"] != client_id
                or grant["redirect_uri"] != request.form.get("redirect_uri")):
            return jsonify({"error": "invalid_grant"}), 400
        if grant["code_challenge"]:
            verifier = request.form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != grant["code_challenge"]:
                return jsonify({"error": "invalid_grant", "error_description": "PKCE verification failed"}), 400
        person = state.people[grant["username"]]
        now = int(time.time())
        claims = {"iss": issuer(), "aud": client_id, "iat": now, "exp": now + 300, "nonce": grant["nonce"],
                  **person.claims()}
        id_token = jwt.encode({"alg": "RS256", "kid": "sandbox-1"}, claims, state.key)
        access = secrets.token_urlsafe(24)
        with state.lock:
            state.tokens[access] = person.username
        return jsonify({"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": id_token,
                        "scope": grant["scope"]})

    @app.get("/userinfo")
    def userinfo() -> Any:
        auth = request.headers.get("Authorization", "")
        username = state.tokens.get(auth.removeprefix("Bearer ").strip())
        if not username:
            return jsonify({"error": "invalid_token"}), 401
        return jsonify(state.people[username].claims())


def _control_routes(app: Flask, state: State) -> None:
    @app.post("/_sandbox/users")
    def add_person() -> Any:
        body = request.get_json(silent=True) or {}
        username = str(body.get("username", "")).strip()
        if not username:
            return jsonify({"error": "username is required"}), 400
        person = Person(username, str(body.get("email") or f"{username}@example.com"),
                        str(body.get("name") or username.title()), [str(g) for g in body.get("groups", [])],
                        str(body.get("department", "")))
        with state.lock:
            state.people[username] = person
        return jsonify({"user": person.claims()}), 201

    @app.post("/_sandbox/reset")
    def reset() -> Any:
        state.reset()
        return jsonify({"reset": True})

    @app.post("/_sandbox/config")
    def config() -> Any:
        body = request.get_json(silent=True) or {}
        with state.lock:
            state.clients = {str(k): str(v) for k, v in (body.get("clients") or {}).items()}
        return jsonify({"config": {"clients": sorted(state.clients)}})


def _check_authorize(params: dict[str, str], state: State) -> str | None:
    if params["response_type"] != "code":
        return "response_type must be code"
    if not params["client_id"] or (state.clients and params["client_id"] not in state.clients):
        return "unknown client_id"
    if not params["redirect_uri"].startswith(("http://", "https://")):
        return "redirect_uri must be an http(s) URL"
    if "openid" not in params["scope"].split():
        return "scope must include openid"
    if params["code_challenge"] and params["code_challenge_method"] != "S256":
        return "code_challenge_method must be S256"
    return None


def _client_credentials() -> tuple[str, str]:
    auth = request.authorization
    if auth and auth.type == "basic":
        return auth.username or "", auth.password or ""
    return request.form.get("client_id", ""), request.form.get("client_secret", "")
