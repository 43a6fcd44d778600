"""No server-side request forgery: a URL a person chooses never makes this server reach inside its network.

The Mastodon server field is the probe: a person types an address, the app registers itself there. Every form of a
loopback, private, link-local, multicast, reserved or unspecified address is refused after resolution, a public-looking
name that resolves inside is refused, a redirect inside is refused, and every failure reads the same to the person
(the reason goes to the log). The sandboxes stay reachable through the explicit ``OUTBOUND_ALLOW`` allow-list.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from advocacy.accounts.models import ConnectedAccount, MastodonApp
from advocacy.config import ConfigError, load
from advocacy.extensions import db
from advocacy.outbound import UNREACHABLE
from connectors.mastodon import MastodonConnector
from tests.test_loop import opt_in

NEUTRAL = f"Server: {UNREACHABLE}"


def registered_apps(server: str) -> int:
    return len(requests.get(f"{server}/_sandbox/apps", timeout=5).json()["apps"])


def form_error(page: str) -> str:
    found = re.search(r'<p class="field-error" id="instance-error">(.*?)</p>', page, re.S)
    return found.group(1).strip() if found else ""


@pytest.fixture()
def emma(browser_factory: Any, make_user: Any, policy: Any) -> Any:
    make_user("emma@acme.test")
    browser = browser_factory("emma@acme.test")
    opt_in(browser)
    return browser


@pytest.fixture()
def no_allow_list(settings: dict[str, Any]) -> None:
    settings["OUTBOUND_ALLOW"] = ""  # production's default: the public internet only


def refused(emma: Any, typed: str) -> str:
    answer = emma.post("/accounts/connect/mastodon", {"instance": typed})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422, (typed, answer.status_code, page[-800:])
    assert f'value="{typed}"' in page  # what was typed is kept
    return form_error(page)


def nothing_stored() -> None:
    assert db.session.scalars(select(MastodonApp)).all() == []
    assert db.session.scalars(select(ConnectedAccount)).all() == []


def test_every_form_of_an_inside_address_is_refused_with_one_message(
        no_allow_list: None, app: Any, sandbox: dict[str, str], emma: Any, caplog: Any) -> None:
    server = sandbox["mastodon"]
    port = urlsplit(server).port
    before = registered_apps(server)
    forms = [server, f"http://localhost:{port}", f"http://0x7f000001:{port}", f"http://2130706433:{port}",
             f"http://0177.0.0.1:{port}", f"http://127.1:{port}", f"http://[::ffff:127.0.0.1]:{port}",
             f"http://[::1]:{port}", f"http://0.0.0.0:{port}", "http://169.254.169.254", "http://10.0.0.1",
             "https://192.168.1.1", "http://172.16.0.1", "http://100.64.0.1", "http://224.0.0.1",
             "http://240.0.0.1", "http://[fe80::1]", "http://[fc00::1]", "http://[2002:7f00:1::]"]
    for typed in forms:
        assert refused(emma, typed) == NEUTRAL, typed
    nothing_stored()
    assert registered_apps(server) == before  # the sandbox on 127.0.0.1 was never reached
    reasons = [r.getMessage() for r in caplog.records if "netguard.refused" in r.getMessage()]
    assert any("loopback" in r for r in reasons) and any("link-local" in r for r in reasons)  # the log says why


def test_a_public_looking_name_that_resolves_inside_is_refused(
        no_allow_list: None, app: Any, sandbox: dict[str, str], emma: Any, monkeypatch: Any) -> None:
    server = sandbox["mastodon"]
    port = urlsplit(server).port
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kw: Any) -> Any:
        return real("127.0.0.1" if host == "mastodon.example" else host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    before = registered_apps(server)
    assert refused(emma, f"http://mastodon.example:{port}") == NEUTRAL
    nothing_stored()
    assert registered_apps(server) == before


@pytest.fixture()
def redirector(sandbox: dict[str, str]) -> Iterator[str]:
    """A server on loopback that sends every request on to the Mastodon sandbox (307 keeps the POST)."""

    @Request.application
    def answer(request: Request) -> Response:
        return Response(status=307, headers={"Location": sandbox["mastodon"] + request.full_path.rstrip("?")})

    server = make_server("127.0.0.1", 0, answer, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://redirector.example:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture()
def only_redirector(settings: dict[str, Any], monkeypatch: Any) -> None:
    """The redirector's name resolves to loopback and is the one allowed host (as an operator would allow one);
    the sandbox's address itself is not allowed."""
    settings["OUTBOUND_ALLOW"] = "redirector.example"
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **kw: real(
        "127.0.0.1" if host == "redirector.example" else host, *a, **kw))


def test_a_redirect_inside_is_refused(only_redirector: None, redirector: str, app: Any, sandbox: dict[str, str],
                                      emma: Any) -> None:
    before = registered_apps(sandbox["mastodon"])
    assert refused(emma, redirector) == NEUTRAL
    nothing_stored()
    assert registered_apps(sandbox["mastodon"]) == before
    # the same registration without the guard follows the redirect into the sandbox: the guard is what stopped it
    unguarded = MastodonConnector(instance_url=redirector)
    assert unguarded.register_app("http://advocacy.test/accounts/callback/mastodon").client_id
    assert registered_apps(sandbox["mastodon"]) == before + 1


def test_connection_refused_tls_error_and_not_mastodon_read_the_same(
        app: Any, sandbox: dict[str, str], emma: Any) -> None:
    port = urlsplit(sandbox["mastodon"]).port
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    errors = {refused(emma, typed) for typed in (
        f"http://127.0.0.1:{closed}",  # connection refused
        f"https://127.0.0.1:{port}",  # a TLS handshake with a plain-http server
        sandbox["x"],  # a server that answers, but not as Mastodon
    )}
    assert errors == {NEUTRAL}  # no port-scan oracle: one message for all three
    nothing_stored()


def test_the_allow_listed_sandbox_connects(app: Any, sandbox: dict[str, str], emma: Any) -> None:
    start = emma.post("/accounts/connect/mastodon", {"instance": sandbox["mastodon"]})
    assert start.status_code == 302 and start.headers["Location"].startswith(sandbox["mastodon"] + "/oauth/authorize?")
    assert db.session.scalars(select(MastodonApp)).one().instance_url == sandbox["mastodon"]


def test_the_allow_list_setting_is_parsed_strictly() -> None:
    assert load(None, {"ADVOCACY_OUTBOUND_ALLOW": " 127.0.0.1, 10.1.0.0/16 ,sandbox.internal"})["OUTBOUND_ALLOW"] \
        == "127.0.0.1,10.1.0.0/16,sandbox.internal"
    assert load(None, {})["OUTBOUND_ALLOW"] == ""  # off by default
    with pytest.raises(ConfigError, match="ADVOCACY_OUTBOUND_ALLOW"):
        load(None, {"ADVOCACY_OUTBOUND_ALLOW": "http://10.0.0.1/"})
