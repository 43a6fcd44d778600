"""The SCIM endpoint passes the scim2-tester conformance checks, run over real HTTP against the app served by a
werkzeug server (scim2-client's httpx2 engine, as an identity provider would call it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server
from werkzeug.serving import make_server

from advocacy.people import scim


@pytest.fixture()
def served(app: Any) -> Iterator[str]:
    """The app on a free loopback port, each request in its own app context as in production."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


def test_the_conformance_tester_passes(app: Any, served: str) -> None:
    _, secret = scim.create_token(None, "Conformance")
    http = httpx2.Client(base_url=f"{served}/scim/v2", headers={"Authorization": f"Bearer {secret}"}, timeout=10)
    results = check_server(SyncSCIMClient(http), raise_exceptions=False)
    ran = [r for r in results if r.status != Status.SKIPPED]
    failed = [f"{r.resource_type} {r.title}: {r.reason}" for r in ran if r.status != Status.SUCCESS]
    assert failed == [], "\n".join(failed)
    assert len(ran) > 40  # discovery, create, read, query, replace, patch add/replace/remove and delete of both
    titles = {r.title for r in ran}
    assert {"object_creation", "object_query", "object_replacement", "object_deletion"} <= titles


def test_a_revoked_token_gets_401(app: Any, served: str) -> None:
    token, secret = scim.create_token(None, "Okta")
    answer = httpx2.get(f"{served}/scim/v2/Users", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/scim+json")
    scim.revoke_token(None, token.id)
    answer = httpx2.get(f"{served}/scim/v2/Users", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 401
    assert answer.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert answer.json()["status"] == "401"


def test_admins_create_and_revoke_scim_tokens_on_their_page(app: Any, served: str, browser: Any,
                                                             make_user: Any) -> None:
    import re

    make_user("admin@acme.test", "admin")
    make_user("comms@acme.test", "comms")
    browser.login("comms@acme.test")
    assert browser.get("/admin/scim").status_code == 403
    browser.login("admin@acme.test")
    assert "SCIM provisioning" in browser.get("/admin").get_data(as_text=True)
    assert browser.post("/admin/scim", {"name": ""}).status_code == 422
    page = browser.post("/admin/scim", {"name": "Microsoft Entra"}).get_data(as_text=True)
    secret = re.search(r'<code id="new-token">([^<]+)</code>', page).group(1)  # type: ignore[union-attr]
    assert "/scim/v2</code>" in page
    headers = {"Authorization": f"Bearer {secret}"}
    assert "never" in browser.get("/admin/scim").get_data(as_text=True)
    assert httpx2.get(f"{served}/scim/v2/ServiceProviderConfig", headers=headers).status_code == 200
    assert "never" not in browser.get("/admin/scim").get_data(as_text=True)  # last used: just now
    token_id = re.search(r'/admin/scim/(\d+)/revoke', page).group(1)  # type: ignore[union-attr]
    assert browser.post(f"/admin/scim/{token_id}/revoke").status_code == 302
    assert httpx2.get(f"{served}/scim/v2/ServiceProviderConfig", headers=headers).status_code == 401
    assert "revoked" in browser.get("/admin/scim").get_data(as_text=True)


def test_the_command_line_creates_and_revokes_scim_tokens(app: Any, served: str) -> None:
    runner = app.test_cli_runner()
    created = runner.invoke(args=["scim", "create-token", "Okta"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip()
    headers = {"Authorization": f"Bearer {secret}"}
    assert httpx2.get(f"{served}/scim/v2/Users", headers=headers).status_code == 200
    listed = runner.invoke(args=["scim", "tokens"]).output
    token_id = listed.split("\t")[0]
    assert "Okta" in listed and secret not in listed
    assert runner.invoke(args=["scim", "revoke-token", token_id]).exit_code == 0
    assert httpx2.get(f"{served}/scim/v2/Users", headers=headers).status_code == 401
