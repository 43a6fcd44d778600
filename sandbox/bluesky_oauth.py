"""The Bluesky sandbox as an atproto OAuth authorization server and DPoP-checking PDS (specs/oauth, RFC 9449).

Served beside the PDS (``sandbox.bluesky``): ``/.well-known/oauth-protected-resource`` and
``/.well-known/oauth-authorization-server`` (this origin is PDS and issuer), DID documents as the PLC directory
serves them (``/<did>``), ``POST /oauth/par`` (pushed authorization requests are required; PKCE S256 only;
``state`` required), the consent page ``/oauth/authorize`` (the person signs in as any account there, like
on bsky.social: ``login_hint`` only prefills it), ``POST /oauth/token`` (authorization_code and refresh_token
grants; refresh tokens are single-use), ``POST /oauth/revoke`` (RFC 7009). Client metadata is fetched from an https
``client_id`` and checked; a loopback client (``http://localhost?redirect_uri=…&scope=…``) is read from its id, its
redirect on ``http://127.0.0.1`` or ``[::1]`` (port ignored).

Every request from PAR on carries a DPoP proof (ES256, ``typ`` ``dpop+jwt``): signature, ``htm``/``htu``, ``iat``
within a minute, a ``jti`` never seen, and the server nonce. A missing or stale nonce is answered as the reference
servers answer: 400 ``{"error": "use_dpop_nonce"}`` from the authorization server, 401 with ``WWW-Authenticate:
DPoP error="use_dpop_nonce"`` from the PDS, both with the new ``DPoP-Nonce``. The nonce rotates every
``dpop_nonce_lifetime`` seconds (the previous one stays good until the next rotation) or at once from the control
API (``POST /_sandbox/oauth/rotate-nonce``, the old nonces then refused). Tokens are bound to the PAR's key (its JWK
thumbprint): a proof by another key, or the token sent as ``Bearer``, is refused. The PDS checks the token's scope:
``repo:app.bsky.feed.post`` (or ``transition:generic``) to write posts, ``blob:…`` matching the upload's type to
upload. ``GET /_sandbox/oauth`` lists the grants (rotations counted) for tests; ``POST /_sandbox/oauth/expire``
expires the access tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from flask import Flask, Response, g, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jws import extract_compact

from sandbox.bluesky_pages import page
from sandbox.bluesky_records import XrpcError
from sandbox.common import json_response

if TYPE_CHECKING:
    from sandbox.bluesky import BlueskyState, Session

SCOPES_GRANULAR = ["atproto", "transition:generic", "transition:chat.bsky", "repo:app.bsky.feed.post",
                   "blob:*/*", "blob:image/*"]
PROOF_WINDOW = 60  # seconds a proof's iat may be off


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@dataclass
class Request:
    client_id: str
    redirect_uri: str
    scope: str
    state: str
    challenge: str
    jkt: str
    login_hint: str
    expires_at: float
    used: bool = False
    jwks: list[dict[str, Any]] | None = None  # a confidential client's keys (private_key_jwt); None: public


@dataclass
class Grant:
    did: str
    client_id: str
    scope: str
    jkt: str
    refresh_token: str
    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry
    alive: bool = True
    rotations: int = 0
    refused_refreshes: int = 0
    used_refresh: set[str] = field(default_factory=set)
    jwks: list[dict[str, Any]] | None = None


@dataclass
class Code:
    grant_request: Request
    did: str
    expires_at: float
    used: bool = False


class OAuthState:
    """What the authorization server remembers; guarded by its own lock."""

    def __init__(self, pds: BlueskyState) -> None:
        self.pds = pds
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.requests: dict[str, Request] = {}
            self.codes: dict[str, Code] = {}
            self.grants: list[Grant] = []
            self.seen_jti: dict[str, float] = {}
            self.nonces = [secrets.token_urlsafe(16), secrets.token_urlsafe(16)]
            self.nonce_at = time.time()
            self.nonce_refusals = 0

    # ------------------------------------------------------------------------------------------------ nonces
    def nonce(self) -> str:
        with self.lock:
            if time.time() - self.nonce_at > self.pds.config.dpop_nonce_lifetime:
                self.nonces = [secrets.token_urlsafe(16), self.nonces[0]]
                self.nonce_at = time.time()
            return self.nonces[0]

    def rotate_nonce(self) -> str:
        """Rotate at once, forgetting the previous nonce too (a proof with either is refused)."""
        with self.lock:
            self.nonces = [secrets.token_urlsafe(16), secrets.token_urlsafe(16)]
            self.nonce_at = time.time()
            return self.nonces[0]

    # ------------------------------------------------------------------------------------------------ proofs
    def check_proof(self, proof: str | None, method: str, url: str, *, resource: bool,
                    access_token: str | None = None) -> str:
        """The JWK thumbprint of a valid DPoP proof for this request; raises OAuthError otherwise."""
        if not proof:
            raise OAuthError("invalid_dpop_proof", "DPoP proof required", 401 if resource else 400)
        try:
            header = extract_compact(proof.encode()).protected
            if header.get("typ") != "dpop+jwt" or header.get("alg") != "ES256":
                raise OAuthError("invalid_dpop_proof", "Invalid DPoP proof header (typ or alg)")
            jwk = header.get("jwk")
            if not isinstance(jwk, dict) or "d" in jwk:
                raise OAuthError("invalid_dpop_proof", "DPoP proof has no public jwk")
            key = ECKey.import_key(jwk)
            claims = jwt.decode(proof, key, algorithms=["ES256"]).claims
        except OAuthError:
            raise
        except (JoseError, ValueError, TypeError):
            raise OAuthError("invalid_dpop_proof", "Invalid DPoP proof signature") from None
        now = time.time()
        parts = urlsplit(url)
        if claims.get("htm") != method or claims.get("htu") != f"{parts.scheme}://{parts.netloc}{parts.path}":
            raise OAuthError("invalid_dpop_proof", "DPoP htm/htu mismatch")
        iat = claims.get("iat")
        if not isinstance(iat, int | float) or abs(now - iat) > PROOF_WINDOW:
            raise OAuthError("invalid_dpop_proof", "DPoP proof iat out of window")
        jti = claims.get("jti")
        if access_token is not None:
            ath = base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(b"=").decode()
            if claims.get("ath") != ath:
                raise OAuthError("invalid_dpop_proof", "DPoP ath mismatch")
        with self.lock:
            current = self.nonce()
            if claims.get("nonce") not in self.nonces:
                self.nonce_refusals += 1
                raise OAuthError("use_dpop_nonce", ("Resource" if resource else "Authorization") +
                                 " server requires nonce in DPoP proof")
            if not isinstance(jti, str) or not jti or jti in self.seen_jti:
                raise OAuthError("invalid_dpop_proof", "DPoP proof jti replayed")
            self.seen_jti = {k: v for k, v in self.seen_jti.items() if v > now - 2 * PROOF_WINDOW}
            self.seen_jti[jti] = now
            del current
        return str(key.thumbprint())

    # ------------------------------------------------------------------------------------------------ clients
    def client(self, client_id: str) -> dict[str, Any]:
        """The client's metadata: read from a loopback id, else fetched from its https URL and checked."""
        parts = urlsplit(client_id)
        if parts.scheme == "http" and parts.hostname == "localhost":
            return _loopback_client(client_id)
        if parts.scheme != "https" and not self.pds.config.allow_http_client_ids:
            raise OAuthError("invalid_client", "client_id must be an https URL or http://localhost")
        try:
            answer = requests.get(client_id, timeout=5, allow_redirects=False)
            doc = answer.json()
        except (requests.RequestException, ValueError):
            raise OAuthError("invalid_client_metadata", "Unable to fetch client metadata") from None
        if answer.status_code != 200 or not isinstance(doc, dict):
            raise OAuthError("invalid_client_metadata", f"Client metadata answered {answer.status_code}")
        if doc.get("client_id") != client_id:
            raise OAuthError("invalid_client_metadata", "client_id does not match the metadata URL")
        if doc.get("dpop_bound_access_tokens") is not True:
            raise OAuthError("invalid_client_metadata", "dpop_bound_access_tokens must be true")
        if "atproto" not in str(doc.get("scope", "")).split():
            raise OAuthError("invalid_client_metadata", "scope must include atproto")
        if "authorization_code" not in (doc.get("grant_types") or []) or "code" not in (doc.get("response_types")
                                                                                        or []):
            raise OAuthError("invalid_client_metadata", "grant_types/response_types must allow the code flow")
        listed = doc.get("redirect_uris")
        origin = f"{parts.scheme}://{parts.netloc}"
        if not isinstance(listed, list) or not listed or any(
                not str(u).startswith(origin + "/") for u in listed):
            raise OAuthError("invalid_client_metadata", "redirect_uris must be on the client_id's origin")
        method = doc.get("token_endpoint_auth_method", "none")
        if method == "private_key_jwt":
            keys = (doc.get("jwks") or {}).get("keys") if isinstance(doc.get("jwks"), dict) else None
            if not isinstance(keys, list) or not keys or doc.get("token_endpoint_auth_signing_alg") != "ES256":
                raise OAuthError("invalid_client_metadata", "private_key_jwt needs jwks and ES256")
            return doc | {"loopback": False, "keys": keys}
        if method != "none":
            raise OAuthError("invalid_client_metadata", f"Unsupported token_endpoint_auth_method {method}")
        return doc | {"loopback": False, "keys": None}

    def authenticate(self, keys: list[dict[str, Any]] | None, form: Any, client_id: str, issuer: str) -> None:
        """A confidential client's ``private_key_jwt`` assertion (RFC 7523), checked; a public client needs none."""
        if keys is None:
            return
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            raise OAuthError("invalid_client", "client authentication required (private_key_jwt)", 401)
        assertion = form.get("client_assertion", "")
        try:
            kid = extract_compact(assertion.encode()).protected.get("kid")
            jwk = next(k for k in keys if k.get("kid") == kid)
            claims = jwt.decode(assertion, ECKey.import_key(jwk), algorithms=["ES256"]).claims
        except (StopIteration, JoseError, ValueError, TypeError):
            raise OAuthError("invalid_client", "Invalid client assertion", 401) from None
        now = time.time()
        if claims.get("iss") != client_id or claims.get("sub") != client_id or claims.get("aud") != issuer:
            raise OAuthError("invalid_client", "Client assertion iss/sub/aud mismatch", 401)
        if not isinstance(claims.get("exp"), int | float) or claims["exp"] < now:
            raise OAuthError("invalid_client", "Client assertion expired", 401)
        with self.lock:
            jti = f"client:{claims.get('jti')}"
            if not claims.get("jti") or jti in self.seen_jti:
                raise OAuthError("invalid_client", "Client assertion replayed", 401)
            self.seen_jti[jti] = now


def _loopback_client(client_id: str) -> dict[str, Any]:
    """A loopback client's metadata, read from its id (``http://localhost?redirect_uri=…&scope=…``)."""
    parts = urlsplit(client_id)
    if parts.port or parts.path not in ("", "/") or parts.fragment:
        raise OAuthError("invalid_client", "Loopback client_id must be http://localhost without port or path")
    query = parse_qs(parts.query)
    redirects: list[str] = query.get("redirect_uri") or ["http://127.0.0.1/", "http://[::1]/"]
    for uri in redirects:
        if urlsplit(uri).scheme != "http" or urlsplit(uri).hostname not in ("127.0.0.1", "::1"):
            raise OAuthError("invalid_client", "Loopback redirect_uri must be on 127.0.0.1 or [::1]")
    return {"client_id": client_id, "redirect_uris": redirects, "scope": (query.get("scope") or ["atproto"])[0],
            "loopback": True}


def _redirect_allowed(metadata: dict[str, Any], redirect_uri: str) -> bool:
    if not metadata.get("loopback"):
        return redirect_uri in metadata["redirect_uris"]
    wanted = urlsplit(redirect_uri)
    for uri in metadata["redirect_uris"]:  # loopback: the port is ignored
        allowed = urlsplit(uri)
        if (allowed.scheme, allowed.hostname, allowed.path or "/") == (wanted.scheme, wanted.hostname,
                                                                        wanted.path or "/"):
            return True
    return False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _origin() -> str:
    return request.host_url.rstrip("/")


def _oauth_error(exc: OAuthError, oauth: OAuthState) -> Response:
    return json_response({"error": exc.error, "error_description": exc.description}, exc.status,
                         {"DPoP-Nonce": oauth.nonce(), "Cache-Control": "no-store"})


# ------------------------------------------------------------------------------------------------ the PDS side
def verify_resource(oauth: OAuthState, session_class: type[Session]) -> Session:
    """The session of a DPoP-bound access token on a PDS request (proof, binding, scope), or the PDS's 401."""
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    token = token.strip()
    try:
        jkt = oauth.check_proof(request.headers.get("DPoP"), request.method, request.base_url, resource=True,
                                access_token=token)
    except OAuthError as exc:
        header = f'DPoP error="{exc.error}", error_description="{exc.description}"'
        raise XrpcError(401, exc.error, exc.description, {"WWW-Authenticate": header,
                                                          "DPoP-Nonce": oauth.nonce()}) from None
    with oauth.lock:
        grant = next((gr for gr in oauth.grants if token in gr.access_tokens), None)
        if grant is None or not grant.alive:
            raise XrpcError(401, "InvalidToken", "Token could not be verified",
                            {"WWW-Authenticate": 'DPoP error="invalid_token"'})
        if grant.jkt != jkt:
            raise XrpcError(401, "InvalidToken", "DPoP key mismatch",
                            {"WWW-Authenticate": 'DPoP error="invalid_token"'})
        expires_at = grant.access_tokens[token]
        if expires_at <= time.time():
            raise XrpcError(401, "ExpiredToken", "Token has expired",
                            {"WWW-Authenticate": 'DPoP error="invalid_token", error_description="Token expired"'})
        _check_scope(grant.scope.split())
    g.dpop_nonce = oauth.nonce()
    return session_class(grant.did, "access", expires_at, "")


def _check_scope(scopes: list[str]) -> None:
    """The permission a PDS write needs: posts for the repo, the upload's type for blobs."""
    if "transition:generic" in scopes:
        return
    path = request.path
    if path in ("/xrpc/com.atproto.repo.createRecord", "/xrpc/com.atproto.repo.deleteRecord"):
        body = request.get_json(silent=True) or {}
        collection = body.get("collection") if isinstance(body, dict) else None
        if f"repo:{collection}" not in scopes and "repo:*" not in scopes:
            raise XrpcError(403, "ScopeMissingError", f"Missing required scope \"repo:{collection}\"")
    if path == "/xrpc/com.atproto.repo.uploadBlob":
        mime = (request.content_type or "").split(";")[0].strip()
        kind = mime.split("/")[0]
        if not {"blob:*/*", f"blob:{kind}/*", f"blob:{mime}"} & set(scopes):
            raise XrpcError(403, "ScopeMissingError", f"Missing required scope \"blob:{mime}\"")


# ------------------------------------------------------------------------------------------------------ routes
def install_oauth(app: Flask, pds: BlueskyState) -> OAuthState:
    oauth = OAuthState(pds)
    app.extensions["bluesky_oauth"] = oauth

    @app.after_request
    def nonce_header(response: Response) -> Response:
        if request.path.startswith("/oauth/") or getattr(g, "dpop_nonce", None):
            response.headers.setdefault("DPoP-Nonce", oauth.nonce())
        return response

    _install_discovery(app, pds)
    _install_par(app, pds, oauth)
    _install_consent(app, pds, oauth)
    _install_tokens(app, oauth)
    _install_control(app, oauth)
    return oauth


def _install_discovery(app: Flask, pds: BlueskyState) -> None:
    @app.get("/.well-known/oauth-protected-resource")
    def protected_resource() -> Response:
        return json_response({"resource": _origin(), "authorization_servers": [_origin()],
                              "scopes_supported": [], "bearer_methods_supported": ["header"]})

    @app.get("/.well-known/oauth-authorization-server")
    def authorization_server() -> Response:
        o = _origin()
        scopes = SCOPES_GRANULAR if pds.config.granular_scopes else SCOPES_GRANULAR[:3]
        return json_response({
            "issuer": o, "authorization_endpoint": f"{o}/oauth/authorize", "token_endpoint": f"{o}/oauth/token",
            "pushed_authorization_request_endpoint": f"{o}/oauth/par", "revocation_endpoint": f"{o}/oauth/revoke",
            "require_pushed_authorization_requests": True, "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"], "dpop_signing_alg_values_supported": ["ES256"],
            "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256"], "scopes_supported": scopes,
            "authorization_response_iss_parameter_supported": True, "client_id_metadata_document_supported": True,
            "require_request_uri_registration": True,
        })

    @app.get("/<string:did>")
    def did_document(did: str) -> Response:
        """The PLC directory's answer for a DID this PDS hosts (its handle and this PDS)."""
        user = pds.find_user(did) if did.startswith("did:plc:") else None
        if user is None:
            return json_response({"message": f"DID not registered: {did}"}, 404)
        return json_response({
            "@context": ["https://www.w3.org/ns/did/v1"], "id": user.did, "alsoKnownAs": [f"at://{user.handle}"],
            "verificationMethod": [],
            "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": _origin()}],
        })


def _check_par(oauth: OAuthState, pds: BlueskyState) -> tuple[str, str, list[str], list[dict[str, Any]] | None]:
    """A pushed authorization request's DPoP key thumbprint, redirect URI and scope, all checked."""
    form = request.form
    if request.mimetype != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "PAR takes an application/x-www-form-urlencoded body")
    jkt = oauth.check_proof(request.headers.get("DPoP"), "POST", request.base_url, resource=False)
    metadata = oauth.client(form.get("client_id", ""))
    oauth.authenticate(metadata.get("keys"), form, form.get("client_id", ""), _origin())
    redirect_uri = form.get("redirect_uri", "")
    if not _redirect_allowed(metadata, redirect_uri):
        raise OAuthError("invalid_request", "Invalid redirect_uri")
    if form.get("response_type") != "code":
        raise OAuthError("unsupported_response_type", "response_type must be code")
    if form.get("code_challenge_method") != "S256" or not form.get("code_challenge"):
        raise OAuthError("invalid_request", "PKCE with S256 is required")
    if not form.get("state"):
        raise OAuthError("invalid_request", "state is required")
    scope = form.get("scope", "").split()
    allowed = str(metadata.get("scope", "")).split()
    if "atproto" not in scope or not set(scope) <= set(allowed):
        raise OAuthError("invalid_scope", "scope must include atproto and stay within the client's scope")
    supported = SCOPES_GRANULAR if pds.config.granular_scopes else SCOPES_GRANULAR[:3]
    if not set(scope) <= set(supported):
        raise OAuthError("invalid_scope", f"Unsupported scope {sorted(set(scope) - set(supported))}")
    return jkt, redirect_uri, scope, metadata.get("keys")


def _install_par(app: Flask, pds: BlueskyState, oauth: OAuthState) -> None:
    @app.post("/oauth/par")
    def par() -> Response:
        try:
            jkt, redirect_uri, scope, keys = _check_par(oauth, pds)
        except OAuthError as exc:
            return _oauth_error(exc, oauth)
        form = request.form
        request_uri = "urn:ietf:params:oauth:request_uri:req-" + secrets.token_hex(16)
        with oauth.lock:
            oauth.requests[request_uri] = Request(form["client_id"], redirect_uri, " ".join(scope), form["state"],
                                                  form["code_challenge"], jkt, form.get("login_hint", ""),
                                                  time.time() + 300, jwks=keys)
        return json_response({"request_uri": request_uri, "expires_in": 300}, 201)


def _pending(oauth: OAuthState, client_id: str, request_uri: str) -> Request:
    with oauth.lock:
        found = oauth.requests.get(request_uri)
    if found is None or found.used or found.expires_at < time.time() or found.client_id != client_id:
        raise OAuthError("invalid_request", "Unknown or expired request_uri")
    return found


def _install_consent(app: Flask, pds: BlueskyState, oauth: OAuthState) -> None:
    @app.get("/oauth/authorize")
    def authorize() -> Response:
        if request.args.get("redirect_uri") or request.args.get("scope"):
            return page("Error", "<h1>Pushed authorization request required</h1>", 400)
        try:
            found = _pending(oauth, request.args.get("client_id", ""), request.args.get("request_uri", ""))
        except OAuthError as exc:
            return page("Error", f"<h1>{html.escape(exc.description)}</h1>", 400)
        e = html.escape
        body = (f"<h1>Sign in to Bluesky</h1><p>{e(found.client_id)} asks to: {e(found.scope)}</p>"
                f'<form method="post" action="/oauth/authorize">'
                f'<input type="hidden" name="client_id" value="{e(found.client_id)}">'
                f'<input type="hidden" name="request_uri" value="{e(request.args["request_uri"])}">'
                f'<label>Handle <input name="handle" value="{e(found.login_hint)}"></label>'
                f'<button name="decision" value="allow">Allow</button>'
                f'<button name="decision" value="deny">Deny</button></form>')
        return page("Authorize", body)

    @app.post("/oauth/authorize")
    def consent() -> Response:
        try:
            found = _pending(oauth, request.form.get("client_id", ""), request.form.get("request_uri", ""))
        except OAuthError as exc:
            return page("Error", f"<h1>{html.escape(exc.description)}</h1>", 400)
        with oauth.lock:
            found.used = True
        answer = {"state": found.state, "iss": _origin()}
        if request.form.get("decision") != "allow":
            answer |= {"error": "access_denied", "error_description": "Access denied"}
            return _redirect(f"{found.redirect_uri}?{urlencode(answer)}")
        handle = request.form.get("handle", "").strip().lstrip("@")
        user = pds.find_user(handle)
        if user is None and pds.config.auto_create_accounts and "." in handle:
            user = pds.user(handle)
        if user is None:
            return page("Error", "<h1>Unknown account</h1>", 400)
        code = "cod-" + secrets.token_hex(24)
        with oauth.lock:
            oauth.codes[code] = Code(found, user.did, time.time() + 300)
        return _redirect(f"{found.redirect_uri}?{urlencode(answer | {'code': code})}")


def _redirect(location: str) -> Response:
    return Response(status=302, headers={"Location": location})


def _install_control(app: Flask, oauth: OAuthState) -> None:
    @app.post("/_sandbox/oauth/expire")
    def expire() -> Response:
        """Every OAuth access token (of ``{"handle": …}``, else of everyone) expires now; refresh tokens stay good."""
        body = request.get_json(silent=True) or {}
        user = oauth.pds.find_user(str(body["handle"])) if isinstance(body, dict) and body.get("handle") else None
        with oauth.lock:
            count = 0
            for grant in oauth.grants:
                if user is None or grant.did == user.did:
                    for token in grant.access_tokens:
                        grant.access_tokens[token] = min(grant.access_tokens[token], time.time() - 1)
                        count += 1
        return json_response({"expired": count})


def _install_tokens(app: Flask, oauth: OAuthState) -> None:
    @app.post("/oauth/token")
    def token() -> Response:
        try:
            form = request.form
            jkt = oauth.check_proof(request.headers.get("DPoP"), "POST", request.base_url, resource=False)
            if form.get("grant_type") == "authorization_code":
                return json_response(_code_grant(oauth, form, jkt), 200, {"Cache-Control": "no-store"})
            if form.get("grant_type") == "refresh_token":
                return json_response(_refresh_grant(oauth, form, jkt), 200, {"Cache-Control": "no-store"})
            raise OAuthError("unsupported_grant_type", "Unsupported grant_type")
        except OAuthError as exc:
            return _oauth_error(exc, oauth)

    @app.post("/oauth/revoke")
    def revoke() -> Response:
        token = request.form.get("token", "")
        with oauth.lock:
            grant = next((gr for gr in oauth.grants if gr.refresh_token == token or token in gr.access_tokens), None)
        try:
            if grant is not None:
                oauth.authenticate(grant.jwks, request.form, grant.client_id, _origin())
        except OAuthError as exc:
            return _oauth_error(exc, oauth)
        with oauth.lock:
            if grant is not None and grant.refresh_token == token:
                grant.alive = False
            if grant is not None:
                grant.access_tokens.pop(token, None)
        return Response(status=200)

    @app.post("/_sandbox/oauth/rotate-nonce")
    def rotate_nonce() -> Response:
        return json_response({"nonce": oauth.rotate_nonce()})

    @app.get("/_sandbox/oauth")
    def grants() -> Response:
        with oauth.lock:
            return json_response({"grants": [
                {"did": gr.did, "client_id": gr.client_id, "scope": gr.scope, "jkt": gr.jkt, "alive": gr.alive,
                 "rotations": gr.rotations, "refused_refreshes": gr.refused_refreshes,
                 "confidential": gr.jwks is not None} for gr in oauth.grants],
                "nonce_refusals": oauth.nonce_refusals})


def _issue(oauth: OAuthState, grant: Grant) -> dict[str, Any]:
    access = "at-" + secrets.token_urlsafe(32)
    lifetime = oauth.pds.config.oauth_access_lifetime
    grant.access_tokens[access] = time.time() + lifetime
    return {"access_token": access, "token_type": "DPoP", "expires_in": lifetime, "refresh_token": grant.refresh_token,
            "scope": grant.scope, "sub": grant.did}


def _code_grant(oauth: OAuthState, form: Any, jkt: str) -> dict[str, Any]:
    with oauth.lock:
        code = oauth.codes.get(form.get("code", ""))
        if code is None or code.used or code.expires_at < time.time():
            raise OAuthError("invalid_grant", "Invalid code")
        code.used = True
        req = code.grant_request
        if form.get("client_id") != req.client_id or form.get("redirect_uri") != req.redirect_uri:
            raise OAuthError("invalid_grant", "client_id or redirect_uri mismatch")
        oauth.authenticate(req.jwks, form, req.client_id, _origin())
        verifier = form.get("code_verifier", "")
        if not hmac.compare_digest(_b64(hashlib.sha256(verifier.encode()).digest()), req.challenge):
            raise OAuthError("invalid_grant", "Invalid code_verifier")
        if jkt != req.jkt:
            raise OAuthError("invalid_dpop_key_binding", "DPoP key mismatch")
        grant = Grant(code.did, req.client_id, req.scope, jkt, "ref-" + secrets.token_urlsafe(32), jwks=req.jwks)
        oauth.grants.append(grant)
        return _issue(oauth, grant)


def _refresh_grant(oauth: OAuthState, form: Any, jkt: str) -> dict[str, Any]:
    with oauth.lock:
        token = form.get("refresh_token", "")
        grant = next((gr for gr in oauth.grants if gr.refresh_token == token), None)
        if grant is None or not grant.alive:
            for old in oauth.grants:  # a rotated-out refresh token: refused (and counted)
                if token in old.used_refresh:
                    old.refused_refreshes += 1
            raise OAuthError("invalid_grant", "Invalid refresh token")
        if grant.client_id != form.get("client_id"):
            raise OAuthError("invalid_grant", "client_id mismatch")
        oauth.authenticate(grant.jwks, form, grant.client_id, _origin())
        if grant.jkt != jkt:
            raise OAuthError("invalid_dpop_key_binding", "DPoP key mismatch")
        grant.used_refresh.add(grant.refresh_token)
        grant.refresh_token = "ref-" + secrets.token_urlsafe(32)
        grant.rotations += 1
        return _issue(oauth, grant)
