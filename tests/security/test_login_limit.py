"""Sign-in is rate limited per address and per account, in Redis, so every web process counts together."""

from __future__ import annotations

from tests.conftest import PASSWORD


def test_repeated_failed_sign_ins_are_refused_for_a_while(settings, make_user, browser):
    make_user("emma@acme.test")
    limit = 10  # ADVOCACY_LOGIN_RATE_LIMIT's default: "10 per minute"
    for _ in range(limit):
        assert browser.login("emma@acme.test", "wrong password").status_code == 401
    refused = browser.login("emma@acme.test", PASSWORD)  # even the right password waits now
    assert refused.status_code == 429
    assert "Too many attempts" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 0


def test_the_limit_is_kept_in_redis_and_per_account(settings, make_user, browser, browser_factory, redis):
    make_user("emma@acme.test")
    make_user("noah@acme.test")
    for _ in range(10):
        browser.login("emma@acme.test", "wrong password")
    assert any(b"advocacy-limits" in key for key in redis.keys("*"))
    other = browser_factory("noah@acme.test")  # another account from the same address is limited too (per address)
    assert other.get("/feed").status_code == 302


def test_successful_sign_ins_do_not_count(make_user, browser):
    make_user("emma@acme.test")
    for _ in range(12):
        assert browser.login("emma@acme.test").status_code == 302
