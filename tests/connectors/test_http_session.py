"""The HTTP sessions connectors use: a user agent and a timeout on every request, and the environment (proxies,
``no_proxy``) read once per host rather than before every request, with the same outcome."""

from __future__ import annotations

import requests

from connectors.base import http_session


def test_proxies_from_the_environment_still_apply_and_no_proxy_still_exempts(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "api.example.org")
    kept = http_session()
    plain = requests.Session()
    for url in ("https://social.example.com/api/v1/statuses", "https://api.example.org/2/tweets"):
        for _ in range(2):  # the second answer comes from what the first one read
            answer = kept.merge_environment_settings(url, {}, None, None, None)
            assert answer == plain.merge_environment_settings(url, {}, None, None, None)
            answer["proxies"]["https"] = "http://changed.by.the.caller"  # the caller's copy, not the kept one
    proxied = kept.merge_environment_settings("https://social.example.com/x", {}, None, None, None)["proxies"]
    assert proxied["https"] == "http://proxy.internal:3128"
    assert "https" not in kept.merge_environment_settings("https://api.example.org/x", {}, None, None, None)["proxies"]


def test_a_session_that_ignores_the_environment_is_left_alone(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    session = http_session()
    session.trust_env = False
    assert session.merge_environment_settings("https://social.example.com/", {}, None, None, None)["proxies"] == {}
