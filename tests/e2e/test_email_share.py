"""Sharing from an e-mail in a real browser: an approval is announced by the worker over SMTP to the SMTP sandbox;
on a phone-sized Chromium the person opens the mail, taps "Share on X", confirms on the one-screen page (no login),
and watches the share become posted on the X sandbox."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import expect

from tests.delivery.support import Sandbox, approved, employee

pytestmark = pytest.mark.timeout(300)


@pytest.fixture()
def settings(settings: dict[str, Any], sandbox: dict[str, str]) -> dict[str, Any]:
    """The test settings with e-mail going to the SMTP sandbox (the web app and its worker get them too)."""
    server = urlsplit(sandbox["smtp_server"])
    requests.post(f"{sandbox['smtp']}/_sandbox/reset", timeout=5).raise_for_status()
    return settings | {"NOTIFY_SMTP_HOST": server.hostname, "NOTIFY_SMTP_PORT": server.port,
                       "NOTIFY_SMTP_STARTTLS": False, "NOTIFY_MAIL_FROM": "advocacy@acme.test"}


def wait_for_mail(inbox: str, to: str, deadline_s: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + deadline_s
    while True:
        mails = requests.get(f"{inbox}/_sandbox/messages", params={"to": to}, timeout=5).json()["messages"]
        if mails:
            return dict(mails[0])
        assert time.monotonic() < deadline, f"no mail reached {to} in {deadline_s} s"
        time.sleep(0.2)


def test_share_from_the_mail_on_a_phone(app, policy, sandbox, live, open_page):
    x = Sandbox(sandbox["x"])
    employee("emma@acme.test", "emma_acme")
    approved(title="We are hiring platform engineers")  # the live worker announces it: e-mail is the default

    mail = wait_for_mail(sandbox["smtp"], "emma@acme.test")
    assert mail["subject"] == "New to share: We are hiring platform engineers"
    assert f'href="{live}/go/' in mail["html"]

    page = open_page()  # 375 px wide
    page.page.goto(f"{sandbox['smtp']}/messages/{mail['id']}/html")  # the mail as a mail client shows it
    page.shot("mail")
    page.page.get_by_role("link", name="Share on X").click()
    expect(page.page.locator("#oneclick-title")).to_have_text("We are hiring platform engineers")
    expect(page.page.locator("#oneclick-preview")).to_contain_text("#iworkforacme")
    assert page.page.url.startswith(f"{live}/go/")
    page.shots("confirm")  # at 375 and 1280 px, each checked for labels, tap targets, headings, sideways scroll
    assert x.posts() == []  # opening the link posted nothing

    page.page.get_by_role("button", name="Share on X").click()
    expect(page.page.locator("#share-status")).to_have_text("posted", timeout=60_000)  # refreshes itself
    expect(page.page.locator("#post-url")).to_have_text("view post")
    page.shots("posted")
    posts = x.posts()
    assert len(posts) == 1 and "Come build the platform with us." in posts[0]["text"]

    page.expect_status(410)
    page.page.go_back()  # the same link again: used, refused, nothing more posted
    page.page.reload()
    expect(page.page.locator("#refused")).to_contain_text("already used")
    assert len(x.posts()) == 1
