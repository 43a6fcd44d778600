"""atproto OAuth for Bluesky: discovery, PAR, PKCE S256 and DPoP-bound tokens with server nonces.

The flow (bluesky-social/atproto-website specs/oauth): the person's handle resolves to a DID
(``com.atproto.identity.resolveHandle`` on the configured resolver), the DID document (PLC directory, or
``/.well-known/did.json`` for ``did:web``) names their PDS and must claim the handle back; the PDS's
``/.well-known/oauth-protected-resource`` names the authorization server, whose
``/.well-known/oauth-authorization-server`` metadata gives the endpoints (its ``issuer`` must be its own origin).
The authorization request is pushed (PAR) with a PKCE S256 challenge, ``state`` and ``login_hint``; every request to
the authorization server and to the PDS carries a DPoP proof signed by a key made for this one session (ES256),
with the server's latest nonce: a ``use_dpop_nonce`` answer (400 from the authorization server, 401 with
``WWW-Authenticate: DPoP error="use_dpop_nonce"`` from the PDS) is retried once with the nonce it sent. The token
answer's ``sub`` must be the DID resolved at the start, its ``scope`` must hold ``atproto``, and the callback's
``iss`` must be the issuer discovered. Refresh tokens are single-use: the caller serialises refreshes per account.

The JOSE parts (keys, signed proofs, thumbprints) are joserfc's, PKCE authlib's; nothing cryptographic is written
here. What a connected account keeps is a ``Credential``: the tokens, the session's DPoP private key (as a JWK) and
where the tokens are spent, serialised to one string the app stores encrypted.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import ECKey

from connectors.base import (
    DEFAULT_TIMEOUT,
    DEFAULT_USER_AGENT,
    AuthRevoked,
    ConfigurationError,
    Rejected,
    Token,
    Transient,
    http_session,
    utc_from_epoch,
)
from connectors.netguard import Guard, protect

log = logging.getLogger(__name__)

PREFIX = "atproto-oauth:"  # how a stored credential of an OAuth-connected account starts (app-password JWTs never do)
# the narrowest permissions that post with images (and delete on recall): posts in the repo, image blobs
GRANULAR_SCOPE = "atproto repo:app.bsky.feed.post blob:image/*"
FALLBACK_SCOPE = "atproto transition:generic"  # a server without the granular permissions
DECLARED_SCOPE = "atproto repo:app.bsky.feed.post blob:image/* transition:generic"  # what the client may ask for
CALLBACK_PATH = "/accounts/bluesky/callback"
METADATA_PATH = "/accounts/bluesky/client-metadata.json"


class OAuthRefused(Rejected):
    """The authorization flow was refused or does not check out (``iss``, ``state``, ``sub``, scope, metadata)."""


# ---------------------------------------------------------------------------------------------- the client
@dataclass(frozen=True)
class Client:
    """Who this app is to the authorization server.

    ``client_id`` is either the https URL of the metadata document the app serves (``metadata``) or, for local
    development, a loopback client id: exactly ``http://localhost`` with the redirect URI and scope in its query,
    the redirect on ``http://127.0.0.1`` (a public native client; no document is fetched). With a ``signing_key``
    (a private ES256 JWK) an https client is confidential (``private_key_jwt``): its sessions may last beyond the
    seven days, and its refresh tokens the 24 hours, Bluesky gives a public client.
    """

    client_id: str
    redirect_uri: str
    scope: str = DECLARED_SCOPE
    signing_key: Mapping[str, Any] | None = field(default=None, repr=False, compare=False, hash=False)

    @classmethod
    def for_public_url(cls, public_url: str, scope: str = DECLARED_SCOPE,
                       signing_key: Mapping[str, Any] | None = None) -> Client:
        """The client for an app served at ``public_url``: a metadata document on https, else a loopback client.

        Args:
            public_url: the app's public address (``ADVOCACY_PUBLIC_URL``).
            scope: what the app may ask for (it asks for the granular permissions where the server has them).
            signing_key: the app's private ES256 JWK: a confidential client (https only).
        """
        parts = urlsplit(public_url.rstrip("/"))
        if parts.scheme == "https":
            base = f"https://{parts.netloc}{parts.path}"
            return cls(base + METADATA_PATH, base + CALLBACK_PATH, scope, signing_key)
        port = f":{parts.port}" if parts.port else ""
        redirect_uri = f"http://127.0.0.1{port}{parts.path}{CALLBACK_PATH}"
        return cls("http://localhost?" + urlencode({"redirect_uri": redirect_uri, "scope": scope}), redirect_uri,
                   scope)

    @property
    def loopback(self) -> bool:
        return self.client_id.startswith("http://localhost")

    @property
    def confidential(self) -> bool:
        return self.signing_key is not None and not self.loopback

    def metadata(self, client_name: str = "Advocacy", client_uri: str | None = None) -> dict[str, Any]:
        """The client metadata document served at ``client_id``: a public web client, or with a signing key a
        confidential one (``private_key_jwt``, the public key inline in ``jwks``)."""
        document: dict[str, Any] = {
            "client_id": self.client_id,
            "client_name": client_name,
            "application_type": "web",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "redirect_uris": [self.redirect_uri],
            "scope": self.scope,
            "token_endpoint_auth_method": "none",
            "dpop_bound_access_tokens": True,
        }
        if self.confidential:
            assert self.signing_key is not None
            public = ECKey.import_key(dict(self.signing_key)).as_dict(private=False)
            document |= {"token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "ES256",
                         "jwks": {"keys": [public | {"kid": key_id(self.signing_key), "alg": "ES256",
                                                     "use": "sig"}]}}
        if client_uri:
            document["client_uri"] = client_uri
        return document


def load_signing_key(value: str) -> dict[str, Any]:
    """The app's client signing key from a setting: a private EC P-256 key as a JWK (JSON) or PEM.

    Args:
        value: the setting's text.
    """
    text = value.strip()
    try:
        key = ECKey.import_key(json.loads(text) if text.startswith("{") else text)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"the Bluesky client key is not a private EC P-256 key (JWK or PEM): {exc}") from None
    if not key.is_private or key.as_dict().get("crv") != "P-256":
        raise ConfigurationError("the Bluesky client key must be a private EC P-256 key (ES256)")
    return dict(key.as_dict(private=True))


def key_id(key: Mapping[str, Any]) -> str:
    """The ``kid`` of the client key: its own, else its JWK thumbprint."""
    return str(key.get("kid") or ECKey.import_key(dict(key)).thumbprint())


def client_assertion(key: Mapping[str, Any], client_id: str, issuer: str) -> dict[str, str]:
    """The ``private_key_jwt`` client authentication for one request to ``issuer`` (RFC 7523)."""
    now = int(time.time())
    token = jwt.encode({"alg": "ES256", "kid": key_id(key)},
                       {"iss": client_id, "sub": client_id, "aud": issuer, "jti": secrets.token_urlsafe(16),
                        "iat": now, "exp": now + 60}, ECKey.import_key(dict(key)))
    return {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": token}


# ------------------------------------------------------------------------------------------- what is kept
@dataclass(frozen=True)
class Pending:
    """An authorization started and not finished yet: kept by the app (encrypted) until the callback."""

    state: str
    verifier: str
    did: str
    handle: str
    pds: str
    issuer: str
    token_endpoint: str
    revocation_endpoint: str | None
    dpop_key: dict[str, Any]
    client_id: str
    redirect_uri: str
    url: str = ""  # where to send the person (the authorization endpoint with the pushed request's URI)
    confidential: bool = False  # authenticated with the app's client key (private_key_jwt)

    def dumps(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def loads(cls, raw: str) -> Pending:
        return cls(**json.loads(raw))


@dataclass(frozen=True)
class Credential:
    """One OAuth session: its token (access or refresh), DPoP key and where it is spent."""

    token: str
    did: str
    pds: str
    issuer: str
    token_endpoint: str
    revocation_endpoint: str | None
    dpop_key: dict[str, Any] = field(repr=False)
    client_id: str
    confidential: bool = False  # refreshes and revocation authenticate with the app's client key

    def dumps(self) -> str:
        return PREFIX + json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str) -> Credential:
        try:
            return cls(**json.loads(raw[len(PREFIX):]))
        except (ValueError, TypeError):
            raise AuthRevoked("the stored Bluesky OAuth session is unreadable: the person must reconnect") from None


def is_credential(value: str | None) -> bool:
    """Whether a stored token is an OAuth credential (else an app-password session JWT)."""
    return bool(value) and str(value).startswith(PREFIX)


# ------------------------------------------------------------------------------------------------- DPoP
class Dpop:
    """Signs DPoP proofs and sends requests with them, keeping each server's latest nonce (shared by all sessions)."""

    _nonces: dict[str, str] = {}
    _lock = threading.Lock()

    def __init__(self, http: requests.Session, key: Mapping[str, Any]) -> None:
        self.http = http
        self.key = ECKey.import_key(dict(key))

    def proof(self, method: str, url: str, *, nonce: str | None, access_token: str | None = None) -> str:
        """A DPoP proof for one request (RFC 9449): a fresh ``jti``, ``htm``/``htu``, ``iat``, the server's nonce,
        and ``ath`` (the access token's SHA-256) for a resource request."""
        parts = urlsplit(url)
        claims: dict[str, Any] = {"jti": secrets.token_urlsafe(16), "htm": method.upper(),
                                  "htu": f"{parts.scheme}://{parts.netloc}{parts.path}", "iat": int(time.time())}
        if nonce:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["ath"] = _b64(hashlib.sha256(access_token.encode()).digest())
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.key.as_dict(private=False)}
        return jwt.encode(header, claims, self.key)

    def request(self, method: str, url: str, *, access_token: str | None = None, **kw: Any) -> requests.Response:
        """Send with a proof; a ``use_dpop_nonce`` answer is retried once with the nonce it carried."""
        origin = _origin(url)
        response = self._send(method, url, origin, access_token, kw)
        if _wants_nonce(response):
            log.info("bluesky.oauth dpop nonce renewed origin=%s", origin)
            response = self._send(method, url, origin, access_token, kw)
        return response

    def _send(self, method: str, url: str, origin: str, access_token: str | None,
              kw: dict[str, Any]) -> requests.Response:
        with self._lock:
            nonce = self._nonces.get(origin)
        headers = dict(kw.pop("headers", None) or {})
        headers["DPoP"] = self.proof(method, url, nonce=nonce, access_token=access_token)
        if access_token is not None:
            headers["Authorization"] = f"DPoP {access_token}"
        try:
            response = self.http.request(method, url, headers=headers, **kw)
        except requests.RequestException as exc:
            raise Transient(f"Bluesky unreachable: {type(exc).__name__}") from None
        finally:
            kw["headers"] = headers  # kept for the retry (its proof is replaced)
        if response.headers.get("DPoP-Nonce"):
            with self._lock:
                self._nonces[origin] = response.headers["DPoP-Nonce"]
        return response


def new_dpop_key() -> dict[str, Any]:
    """A new ES256 key for one session, as a private JWK (the app stores it encrypted)."""
    return dict(ECKey.generate_key("P-256", private=True).as_dict(private=True))


def _wants_nonce(response: requests.Response) -> bool:
    if response.status_code == 401 and 'error="use_dpop_nonce"' in response.headers.get("WWW-Authenticate", ""):
        return True
    if response.status_code in (400, 401):
        body = _json(response) or {}
        return body.get("error") == "use_dpop_nonce"
    return False


# ------------------------------------------------------------------------------------------------ the flow
class AtprotoOAuth:
    """Connects Bluesky accounts by OAuth; holds no per-person state.

    Args:
        resolver_url: where handles resolve (``com.atproto.identity.resolveHandle``): ``https://bsky.social``.
        plc_url: the PLC directory for ``did:plc`` documents: ``https://plc.directory``.
        timeout: seconds for connect and read.
        user_agent: sent on every request.
        guard: what may be reached (the PDS and servers come from the person's DID document).
        client_key: the app's private ES256 JWK, for sessions of a confidential client (refresh, revoke).
    """

    def __init__(self, *, resolver_url: str = "https://bsky.social", plc_url: str = "https://plc.directory",
                 timeout: float = DEFAULT_TIMEOUT, user_agent: str = DEFAULT_USER_AGENT,
                 guard: Guard | None = None, client_key: Mapping[str, Any] | None = None) -> None:
        self.client_key = client_key
        self.resolver_url = resolver_url.rstrip("/")
        self.plc_url = plc_url.rstrip("/")
        self.timeout = timeout
        self.user_agent = user_agent
        self.guard = guard

    def _http(self) -> requests.Session:
        return protect(http_session(timeout=self.timeout, user_agent=self.user_agent), self.guard,
                       timeout=self.timeout)

    # ---------------------------------------------------------------------------------------- discovery
    def resolve(self, handle: str) -> tuple[str, str, str]:
        """(DID, handle, PDS URL) of a handle: resolved, and the DID document claiming the handle back.

        Args:
            handle: ``alice.bsky.social`` (a leading ``@`` is fine).
        """
        handle = handle.strip().lstrip("@").lower()
        with self._http() as http:
            answer = self._get_json(http, f"{self.resolver_url}/xrpc/com.atproto.identity.resolveHandle",
                                    params={"handle": handle}, what=f"the handle {handle}")
            did = answer.get("did")
            if not isinstance(did, str) or not did.startswith("did:"):
                raise Rejected(f"{handle} is not a Bluesky handle")
            if did.startswith("did:plc:"):
                doc_url = f"{self.plc_url}/{did}"
            elif did.startswith("did:web:"):
                doc_url = f"https://{did[len('did:web:'):]}/.well-known/did.json"
            else:
                raise Rejected(f"{did} is not a DID method Bluesky uses")
            doc = self._get_json(http, doc_url, what=f"the DID document of {did}")
        if doc.get("id") != did or f"at://{handle}" not in (doc.get("alsoKnownAs") or []):
            raise Rejected(f"the DID document of {did} does not claim the handle {handle}")
        pds = next((s.get("serviceEndpoint") for s in doc.get("service") or []
                    if isinstance(s, dict) and str(s.get("id", "")).endswith("#atproto_pds")), None)
        if not isinstance(pds, str) or urlsplit(pds).scheme not in ("http", "https"):
            raise Rejected(f"the DID document of {did} names no PDS")
        return did, handle, pds.rstrip("/")

    def authorization_server(self, pds: str) -> dict[str, Any]:
        """The authorization server metadata of a PDS (protected resource → issuer → its metadata, checked)."""
        with self._http() as http:
            resource = self._get_json(http, f"{pds}/.well-known/oauth-protected-resource",
                                      what="the PDS's protected-resource metadata")
            servers = resource.get("authorization_servers")
            if not isinstance(servers, list) or not servers or not isinstance(servers[0], str):
                raise Rejected("the PDS names no authorization server")
            issuer = servers[0].rstrip("/")
            meta = self._get_json(http, f"{issuer}/.well-known/oauth-authorization-server",
                                  what="the authorization server metadata")
        if str(meta.get("issuer", "")).rstrip("/") != issuer:
            raise Rejected("the authorization server's metadata names another issuer")
        for needed in ("authorization_endpoint", "token_endpoint", "pushed_authorization_request_endpoint"):
            if not isinstance(meta.get(needed), str):
                raise Rejected(f"the authorization server's metadata has no {needed}")
        if "S256" not in (meta.get("code_challenge_methods_supported") or []):
            raise Rejected("the authorization server does not support PKCE S256")
        if "ES256" not in (meta.get("dpop_signing_alg_values_supported") or []):
            raise Rejected("the authorization server does not support ES256 DPoP proofs")
        meta["issuer"] = issuer
        return meta

    # -------------------------------------------------------------------------------------- authorization
    def start(self, handle: str, client: Client) -> Pending:
        """Discover the person's servers and push the authorization request (PAR, PKCE S256, DPoP).

        Returns the pending authorization: ``url`` is where to send the person; keep the rest for the callback.

        Args:
            handle: the person's handle.
            client: this app as a client.
        """
        did, handle, pds = self.resolve(handle)
        meta = self.authorization_server(pds)
        supported = set(meta.get("scopes_supported") or [])
        scope = GRANULAR_SCOPE
        if not set(GRANULAR_SCOPE.split()) <= supported and "transition:generic" in supported:
            scope = FALLBACK_SCOPE  # the granular permissions are not offered there
        verifier = secrets.token_urlsafe(48)
        state = secrets.token_urlsafe(24)
        key = new_dpop_key()
        form = {"client_id": client.client_id, "response_type": "code", "redirect_uri": client.redirect_uri,
                "scope": scope, "state": state, "code_challenge": create_s256_code_challenge(verifier),
                "code_challenge_method": "S256", "login_hint": handle}
        if client.confidential:
            assert client.signing_key is not None
            form |= client_assertion(client.signing_key, client.client_id, meta["issuer"])
        with self._http() as http:
            response = Dpop(http, key).request("POST", meta["pushed_authorization_request_endpoint"], data=form)
        answer = self._oauth_answer(response, "the pushed authorization request")
        request_uri = answer.get("request_uri")
        if not isinstance(request_uri, str):
            raise Transient("the authorization server answered PAR without a request_uri")
        url = meta["authorization_endpoint"] + "?" + urlencode({"client_id": client.client_id,
                                                                  "request_uri": request_uri})
        log.info("bluesky.oauth started did=%s issuer=%s scope=%r", did, meta["issuer"], scope)
        return Pending(state=state, verifier=verifier, did=did, handle=handle, pds=pds, issuer=meta["issuer"],
                       token_endpoint=meta["token_endpoint"], revocation_endpoint=meta.get("revocation_endpoint"),
                       dpop_key=key, client_id=client.client_id, redirect_uri=client.redirect_uri, url=url,
                       confidential=client.confidential)

    def finish(self, pending: Pending, *, state: str, iss: str, code: str) -> tuple[Token, Token]:
        """Check the callback (``state``, ``iss``) and trade the code; check ``sub`` and the scope.

        Returns the (access, refresh) pair as ``Token`` values whose strings are ``Credential`` s.

        Raises:
            OAuthRefused: a mismatched state, issuer or account, or a token without the ``atproto`` scope.
        """
        if not secrets.compare_digest(state or "", pending.state):
            raise OAuthRefused("the sign-in answer does not belong to this connection (state mismatch)")
        if (iss or "").rstrip("/") != pending.issuer:
            raise OAuthRefused(f"the sign-in answer came from {iss or 'an unnamed server'}, not {pending.issuer} "
                               f"(issuer mismatch)")
        if not code:
            raise OAuthRefused("Bluesky sent no authorization code back")
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": pending.redirect_uri,
                "code_verifier": pending.verifier, "client_id": pending.client_id}
        form |= self._authentication(pending.confidential, pending.client_id, pending.issuer)
        with self._http() as http:
            response = Dpop(http, pending.dpop_key).request("POST", pending.token_endpoint, data=form)
        answer = self._oauth_answer(response, "the token request")
        base = Credential("", pending.did, pending.pds, pending.issuer, pending.token_endpoint,
                          pending.revocation_endpoint, pending.dpop_key, pending.client_id, pending.confidential)
        return self._tokens(answer, base)

    def refresh(self, refresh: Credential) -> Token:
        """Trade the single-use refresh token for a new pair (the caller holds the account's refresh lock)."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh.token, "client_id": refresh.client_id}
        form |= self._authentication(refresh.confidential, refresh.client_id, refresh.issuer)
        with self._http() as http:
            response = Dpop(http, refresh.dpop_key).request("POST", refresh.token_endpoint, data=form)
        if response.status_code == 400 and (_json(response) or {}).get("error") == "invalid_grant":
            raise AuthRevoked(f"Bluesky refused the refresh token ({_description(response)}): the person must "
                              f"reconnect", status=400, raw=response.text)
        access, refreshed = self._tokens(self._oauth_answer(response, "the token refresh"), refresh)
        return Token(access.access_token, refreshed.access_token, access.expires_at, access.scope)

    def revoke(self, credential: Credential) -> None:
        """Revoke the session's token at the authorization server (RFC 7009); revoking a dead token succeeds."""
        if not credential.revocation_endpoint:
            return
        form = {"token": credential.token, "client_id": credential.client_id}
        form |= self._authentication(credential.confidential, credential.client_id, credential.issuer)
        with self._http() as http:
            response = Dpop(http, credential.dpop_key).request("POST", credential.revocation_endpoint, data=form)
        if not 200 <= response.status_code < 300:
            self._oauth_answer(response, "the revocation")
        log.info("bluesky.oauth revoked did=%s", credential.did)

    # ------------------------------------------------------------------------------------------- helpers
    def _authentication(self, confidential: bool, client_id: str, issuer: str) -> dict[str, str]:
        if not confidential:
            return {}
        if self.client_key is None:
            raise AuthRevoked("this Bluesky session belongs to a confidential client and the app has no client key "
                              "now (ADVOCACY_BLUESKY_OAUTH_CLIENT_KEY): the person must reconnect")
        return client_assertion(self.client_key, client_id, issuer)

    def _tokens(self, answer: Mapping[str, Any], base: Credential) -> tuple[Token, Token]:
        access, refresh = answer.get("access_token"), answer.get("refresh_token")
        if not isinstance(access, str) or not access:
            raise Transient("the authorization server answered without an access token")
        if str(answer.get("token_type", "")).lower() != "dpop":
            raise OAuthRefused("the authorization server issued a token not bound to our DPoP key")
        if answer.get("sub") != base.did:
            raise OAuthRefused(f"the token is for {answer.get('sub') or 'no account'}, not {base.did} "
                               f"(account mismatch)")
        scope = str(answer.get("scope") or "")
        if "atproto" not in scope.split():
            raise OAuthRefused("the token lacks the atproto scope")
        expires_in = answer.get("expires_in")
        expires_at = (utc_from_epoch(time.time() + expires_in) if isinstance(expires_in, int | float) else None)
        expires = expires_at or (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
        access_credential = replace(base, token=access).dumps()
        refresh_credential = replace(base, token=refresh).dumps() if isinstance(refresh, str) and refresh else None
        return (Token(access_credential, refresh_credential, expires, scope),
                Token(refresh_credential or "", None, None, scope))

    def _get_json(self, http: requests.Session, url: str, *, what: str,
                  params: Mapping[str, str] | None = None) -> dict[str, Any]:
        try:
            response = http.get(url, params=params, headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise Transient(f"{what} could not be read: {type(exc).__name__}") from None
        body = _json(response)
        if response.status_code >= 500:
            raise Transient(f"{what} could not be read (HTTP {response.status_code})", status=response.status_code)
        if response.status_code != 200 or body is None:
            raise Rejected(f"{what} could not be found", status=response.status_code, raw=response.text[:2000])
        return body

    def _oauth_answer(self, response: requests.Response, what: str) -> dict[str, Any]:
        body = _json(response)
        if 200 <= response.status_code < 300 and body is not None:
            return body
        if response.status_code >= 500 or body is None:
            raise Transient(f"{what} failed (HTTP {response.status_code})", status=response.status_code,
                            raw=response.text[:2000])
        raise OAuthRefused(f"Bluesky refused {what}: {_description(response)}", status=response.status_code,
                           raw=response.text[:2000])


def _description(response: requests.Response) -> str:
    body = _json(response) or {}
    return str(body.get("error_description") or body.get("error") or f"HTTP {response.status_code}")


def _json(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def check_public_url(public_url: str) -> None:
    """Refuse a public URL no client id can be made of (neither https nor plain http)."""
    if urlsplit(public_url).scheme not in ("http", "https"):
        raise ConfigurationError(f"ADVOCACY_PUBLIC_URL must be an http(s) URL, not {public_url!r}")
