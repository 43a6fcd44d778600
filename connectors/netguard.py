"""Reach only the public internet on a user's behalf: the guard against server-side request forgery.

Some URLs this server fetches are chosen by a user, not by the operator: the Mastodon server a person types, the page
a talking point links to. Fetched naively, they reach what the server can reach from inside its network (the cloud
metadata service at 169.254.169.254, an admin page on 127.0.0.1, a database on 10.0.0.5), and the answers or the
errors tell the user what is there. ``Guard`` resolves a host name once, refuses it when any of its addresses is
loopback, private, link-local, multicast, reserved or unspecified (IPv4, IPv6, IPv4-mapped and 6to4/Teredo/NAT64
forms; odd spellings such as ``0x7f000001``, ``2130706433`` or ``127.1`` resolve to what they mean first), and
``GuardedAdapter`` connects to exactly the address it checked, so a DNS answer that changes between the check and the
connection (DNS rebinding) changes nothing. The adapter checks every request a session sends, each redirect included.

The operator's own hosts (the sandboxes of the demo and the tests) are reachable only when named in the allow-list:
host names (the name as written in the URL) or addresses and networks (``127.0.0.1``, ``10.1.0.0/16``).

Classification is the standard library's ``ipaddress`` plus the ranges it does not flag on older Pythons; the
resolve-and-pin follows the approach of ``requests-hardened`` (which has no allow-list of hosts or networks, so it
could not serve the sandboxes). Nothing here imports from ``advocacy``.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.util.connection import allowed_gai_family

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Ranges to refuse that ``ipaddress`` does not flag on every supported Python (cpython issue 113171), or that route
# to addresses of their own choosing (translation and relay prefixes).
EXTRA_BLOCKED: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.88.99.0/24", "198.18.0.0/15", "240.0.0.0/4",
    "64:ff9b::/96", "64:ff9b:1::/48", "2001::/32", "2001:20::/28", "2002::/16", "5f00::/16", "3fff::/20",
    "fec0::/10",
))
_FLAGS = ("is_unspecified", "is_loopback", "is_link_local", "is_multicast", "is_private", "is_reserved")


class Refused(requests.ConnectionError):
    """The host is not one this server may reach for a user. ``reason`` says why: for the log, never for the user
    (telling "private address" from "no such host" from "connection refused" maps the inside of the network)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address carries (``::ffff:127.0.0.1``, 6to4 ``2002:7f00:1::``, Teredo), else itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
    return ip


def blocked_reason(ip: IPAddress) -> str | None:
    """Why a user may not make this server reach ``ip`` (``"loopback"``, ``"private"``…), or None for a public one.

    Args:
        ip: a resolved address.
    """
    inner = _unwrap(ip)
    mapped = isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None
    for candidate in (inner,) if mapped else dict.fromkeys((ip, inner)):
        for flag in _FLAGS:
            if getattr(candidate, flag):
                return flag.removeprefix("is_").replace("_", "-")
        for network in EXTRA_BLOCKED:
            if candidate.version == network.version and candidate in network:
                return f"special-purpose ({network})"
        if not candidate.is_global:
            return "not global"
    return None


@dataclass(frozen=True)
class Guard:
    """What a user's URL may reach: public addresses, plus the operator's allow-list.

    Args:
        hosts: host names reachable whatever they resolve to (lower case, as written in URLs).
        networks: addresses and networks reachable although not public.
    """

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_entries(cls, entries: str | Iterable[str]) -> Guard:
        """A guard from an allow-list: comma-separated host names, addresses and CIDR networks (empty: none).

        Raises ``ValueError`` naming an entry that is none of these.

        Args:
            entries: ``"127.0.0.1, ::1, sandbox.internal, 10.1.0.0/16"``, or the entries one by one.
        """
        if isinstance(entries, str):
            entries = entries.split(",")
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (e.strip().lower().strip("[]") for e in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            label = entry.rstrip(".")
            if not label or any(not part or not all(c.isalnum() or c in "-_" for c in part)
                                for part in label.split(".")):
                raise ValueError(f"expected host names, addresses or networks such as 127.0.0.1 or 10.0.0.0/8, "
                                 f"got {entry!r}")
            hosts.add(label)
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, ip: IPAddress) -> bool:
        """Whether ``ip`` is in the allow-list (an IPv4-mapped IPv6 address counts as its IPv4 address)."""
        return any(candidate.version == network.version and candidate in network
                   for candidate in dict.fromkeys((ip, _unwrap(ip))) for network in self.networks)

    def address(self, host: str, port: int) -> str:
        """Resolve ``host`` once and return the address to connect to; raise ``Refused`` when it may not be reached.

        Every address the name resolves to must pass (a name that answers both a public and a private address is
        refused): an allow-listed host name passes whatever it resolves to, an allow-listed address or network
        passes itself, anything else must be public.

        Args:
            host: the URL's host name or address literal (``[::1]`` or ``::1``).
            port: the port, for the resolver.
        """
        name = host.strip().strip("[]").lower().rstrip(".")
        if not name:
            raise Refused("no host")
        try:
            found = socket.getaddrinfo(name, port, allowed_gai_family(), socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise Refused(f"{name} does not resolve ({type(exc).__name__}: {exc})") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found
                                       if info[0] in (socket.AF_INET, socket.AF_INET6)))
        if not addresses:
            raise Refused(f"{name} resolves to no internet address")
        if name not in self.hosts:
            for ip in addresses:
                reason = None if self.allows(ip) else blocked_reason(ip)
                if reason is not None:
                    raise Refused(f"{name} resolves to {ip}, which is {reason}")
        return str(addresses[0])


class GuardedAdapter(HTTPAdapter):
    """A requests transport that checks each request's host with a ``Guard`` and connects to the checked address.

    The URL's host still names the server everywhere it matters: in the ``Host`` header, in TLS (SNI) and in the
    certificate check. Proxies are never used (the check would be about the proxy, not the destination).

    Args:
        guard: what may be reached.
        timeout: seconds for connect and read when the caller gives none.
        kw: passed to ``HTTPAdapter``.
    """

    def __init__(self, guard: Guard, timeout: float | None = None, **kw: Any) -> None:
        self.guard = guard
        self.timeout = timeout
        super().__init__(**kw)

    def build_connection_pool_key_attributes(  # type: ignore[override]
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        built = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params: dict[str, Any] = dict(built[0])
        pool_kwargs: dict[str, Any] = dict(built[1])
        scheme, host, port = host_params["scheme"], host_params["host"] or "", host_params["port"]
        if scheme not in ("http", "https"):
            raise Refused(f"scheme {scheme!r} is not http(s)")
        try:
            address = self.guard.address(host, port or (443 if scheme == "https" else 80))
        except Refused as exc:
            log.warning("netguard.refused url_host=%s reason=%s", host, exc.reason)
            raise
        shown = f"[{host}]" if ":" in host else host
        request.headers = CaseInsensitiveDict(request.headers or {})  # a copy: the caller's dict may be shared
        request.headers["Host"] = f"{shown}:{port}" if port else shown
        if scheme == "https":  # SNI and the certificate check name the host, not the address connected to
            pool_kwargs["server_hostname"] = host
            pool_kwargs["assert_hostname"] = host
        host_params["host"] = address
        return host_params, pool_kwargs

    def send(self, request: requests.PreparedRequest, *args: Any, **kw: Any) -> requests.Response:
        names = ("stream", "timeout", "verify", "cert", "proxies")
        kw |= dict(zip(names, args, strict=False))
        if kw.get("timeout") is None:
            kw["timeout"] = self.timeout
        kw["proxies"] = {}
        return super().send(request, **kw)


def protect(session: requests.Session, guard: Guard | None, *, timeout: float | None = None,
            max_redirects: int | None = None) -> requests.Session:
    """Make ``session`` reach only what ``guard`` allows, on every request and redirect (None: leave it as it is).

    The environment's proxy settings are ignored from then on (``trust_env`` off): a proxy would be the one address
    checked. Returns the session.

    Args:
        session: a session built by ``connectors.base.http_session`` (or any requests session).
        guard: what may be reached.
        timeout: seconds for connect and read when a request gives none.
        max_redirects: how many redirects a request may follow (each one checked); requests' default when None.
    """
    if guard is None:
        return session
    adapter = GuardedAdapter(guard, timeout)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.trust_env = False
    if max_redirects is not None:
        session.max_redirects = max_redirects
    return session
