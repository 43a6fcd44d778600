"""The outbound guard on its own (``connectors.netguard``): classification, allow-list, the pinned connection."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connectors.base import http_session
from connectors.netguard import Guard, Refused, blocked_reason, protect


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.255.255.254", "10.1.2.3", "172.31.0.1", "192.168.0.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.251", "239.255.255.250", "240.0.0.1", "255.255.255.255", "198.18.0.1", "::1", "::",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "fec0::1",
    "2002:7f00:1::1", "64:ff9b::7f00:1", "2001:db8::1",
])
def test_inside_and_special_addresses_are_blocked(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.215.14"])
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


def test_a_name_with_one_inside_address_among_public_ones_is_refused(monkeypatch: Any) -> None:
    answers = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, 443)) for ip in ("93.184.215.14", "10.0.0.7")]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **kw: answers)
    with pytest.raises(Refused, match="10.0.0.7, which is private"):
        Guard().address("mixed.example", 443)


def test_the_allow_list_takes_names_addresses_and_networks(monkeypatch: Any) -> None:
    guard = Guard.from_entries("127.0.0.1, 10.1.0.0/16, Sandbox.Internal")
    assert guard.address("127.0.0.1", 80) == "127.0.0.1"
    assert guard.allows(ipaddress.ip_address("10.1.200.3")) and not guard.allows(ipaddress.ip_address("10.2.0.1"))
    with pytest.raises(Refused):
        guard.address("127.0.0.2", 80)  # the address allowed, not its neighbours
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **kw: [(socket.AF_INET, socket.SOCK_STREAM, 6, "",
                                                                  ("10.9.0.1", 80))])
    assert guard.address("sandbox.internal", 80) == "10.9.0.1"  # an allowed name, whatever it resolves to
    with pytest.raises(ValueError, match="https://x"):
        Guard.from_entries("127.0.0.1, https://x")


@pytest.fixture()
def echo() -> Iterator[int]:
    """A loopback server answering with the Host header it was sent."""

    @Request.application
    def answer(request: Request) -> Response:
        return Response(request.headers.get("Host", ""))

    server = make_server("127.0.0.1", 0, answer, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(5)


def test_the_connection_goes_to_the_checked_address_without_resolving_again(echo: int, monkeypatch: Any) -> None:
    """DNS rebinding: the name answers an allowed address at the check and an inside one after. Only the first
    answer is ever used, and the server still sees the name in the Host header."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def rebinding(host: Any, *args: Any, **kw: Any) -> Any:
        if host == "rebind.example":
            asked.append(host)
            return real("127.0.0.1" if len(asked) == 1 else "10.255.255.1", *args, **kw)
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    session = protect(http_session(timeout=2), Guard.from_entries("127.0.0.1"), timeout=2)
    answer = session.get(f"http://rebind.example:{echo}/")
    assert answer.status_code == 200 and answer.text == f"rebind.example:{echo}"
    assert asked == ["rebind.example"]  # resolved once, by the guard; the socket was opened to 127.0.0.1
    with pytest.raises(Refused, match="10.255.255.1, which is private"):  # the next request checks again
        session.get(f"http://rebind.example:{echo}/")


def test_environment_proxies_are_not_used(echo: int, monkeypatch: Any) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://10.0.0.1:3128")
    session = protect(requests.Session(), Guard.from_entries("127.0.0.1"), timeout=2)
    assert session.get(f"http://127.0.0.1:{echo}/").text == f"127.0.0.1:{echo}"


@pytest.fixture()
def tls_site(tmp_path: Any) -> Iterator[tuple[int, str]]:
    """An https server on loopback with a certificate for ``tls.example`` only; yields its port and the CA file."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tls.example")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("tls.example")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))

    @Request.application
    def answer(request: Request) -> Response:
        return Response(request.headers.get("Host", ""))

    server = make_server("127.0.0.1", 0, answer, threaded=True, ssl_context=(str(cert_file), str(key_file)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, str(cert_file)
    server.shutdown()
    thread.join(5)


def test_tls_checks_the_name_while_connecting_to_the_checked_address(tls_site: tuple[int, str],
                                                                     monkeypatch: Any) -> None:
    port, ca = tls_site
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **kw: real(
        "127.0.0.1" if host in ("tls.example", "other.example") else host, *a, **kw))
    session = protect(http_session(timeout=2), Guard.from_entries("127.0.0.1"), timeout=2)
    session.verify = ca
    answer = session.get(f"https://tls.example:{port}/")  # SNI and the certificate check use the name
    assert answer.status_code == 200 and answer.text == f"tls.example:{port}"
    with pytest.raises(requests.exceptions.SSLError):  # same address, a name the certificate does not carry
        session.get(f"https://other.example:{port}/")
