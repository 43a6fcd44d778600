"""``Retry-After`` (RFC 9110 §10.2.3), read by every connector on a 429 and on a 5xx, against each sandbox over HTTP.

A network that says when to come back is waited for exactly that long (or until the latest of that and its own reset
header), never until an invented time; a network that says nothing leaves ``reset_at`` unknown.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from typing import Any

import pytest
import requests

from connectors.base import RateLimited, Token, Transient, retry_after

pytestmark = pytest.mark.timeout(30)
NOW = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)
POST_PATHS = {"x": "/2/tweets", "mastodon": "/api/v1/statuses", "bluesky": "/xrpc/com.atproto.repo.createRecord",
              "linkedin": "/rest/posts"}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ------------------------------------------------------------------------------------------------- the parser
@pytest.mark.parametrize(
    ("value", "expected"),
    [("30", NOW + dt.timedelta(seconds=30)), (" 0 ", NOW), ("Thu, 03 Dec 2026 08:05:00 GMT", NOW.replace(minute=5)),
     ("Thursday, 03-Dec-26 08:05:00 GMT", NOW.replace(minute=5)), ("Thu Dec  3 08:05:00 2026", NOW.replace(minute=5)),
     ("-5", None), ("1.5", None), ("soon", None), ("", None), ("9" * 40, None)],
)
def test_retry_after_reads_delay_seconds_and_http_dates(value: str, expected: dt.datetime | None) -> None:
    assert retry_after({"Retry-After": value}, now=NOW) == expected


def test_retry_after_is_the_latest_of_what_the_network_says() -> None:
    later = NOW + dt.timedelta(minutes=15)
    assert retry_after({"Retry-After": "30"}, later, None, now=NOW) == later
    assert retry_after({"Retry-After": "3600"}, later, now=NOW) == NOW + dt.timedelta(hours=1)
    assert retry_after({}, None, later, now=NOW) == later
    assert retry_after({}, None, now=NOW) is None
    assert retry_after(requests.structures.CaseInsensitiveDict({"retry-after": "7"}), now=NOW) == NOW + dt.timedelta(
        seconds=7)  # header names are case-insensitive on the wire


# ------------------------------------------------------------------------------------------ every connector
@pytest.fixture(params=["x", "mastodon", "bluesky", "linkedin"])
def network(request: pytest.FixtureRequest) -> tuple[str, Any, Any, Token]:
    """(name, sandbox, connector, token) for each network."""
    name = request.param
    sandbox = request.getfixturevalue(f"{name}_sandbox")
    connector = request.getfixturevalue(f"{name}_connector")
    token = request.getfixturevalue(f"{name}_token")
    return name, sandbox, connector, token


def test_a_429_with_retry_after_is_waited_for_that_long(network: tuple[str, Any, Any, Token]) -> None:
    name, sandbox, connector, token = network
    sandbox.fault(status=429, count=1, path_prefix=POST_PATHS[name], method="POST", reset_in=1,
                  headers={"Retry-After": "600"})  # longer than the network's own reset header, where it sends one
    asked = now()
    with pytest.raises(RateLimited) as limited:
        connector.publish(token.access_token, f"Too soon on {name}")
    assert limited.value.reset_at is not None
    assert dt.timedelta(seconds=595) <= limited.value.reset_at - asked <= dt.timedelta(seconds=605)


def test_a_503_with_retry_after_says_when_to_try_again(network: tuple[str, Any, Any, Token]) -> None:
    name, sandbox, connector, token = network
    when = now().replace(microsecond=0) + dt.timedelta(minutes=3)
    sandbox.fault(status=503, count=1, path_prefix=POST_PATHS[name], method="POST",
                  headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)})
    with pytest.raises(Transient) as unavailable:
        connector.publish(token.access_token, f"During maintenance on {name}")
    assert unavailable.value.retry_at == when and unavailable.value.status == 503


def test_a_503_without_retry_after_leaves_the_time_to_the_engine(network: tuple[str, Any, Any, Token]) -> None:
    name, sandbox, connector, token = network
    sandbox.fault(status=503, count=1, path_prefix=POST_PATHS[name], method="POST")
    with pytest.raises(Transient) as unavailable:
        connector.publish(token.access_token, f"During an outage on {name}")
    assert unavailable.value.retry_at is None
