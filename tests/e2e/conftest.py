"""Browser tests: Debian's Chromium driven by Playwright against the real app served by gunicorn, with a real worker.

`make test` installs Chromium (apt) on a machine that lacks it; where it cannot, these tests skip and say why.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ROOT, settings_env

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def playwright_browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (make test installs Debian's chromium where it can run apt-get)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture()
def live(app: Any, settings: dict[str, Any]) -> Iterator[str]:
    """The app under gunicorn and an RQ worker with its scheduler, as separate processes on the test backends."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = settings_env({**settings, "PUBLIC_URL": url})
    logs = ARTIFACTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    web_log = open(logs / "web.log", "ab")
    worker_log = open(logs / "worker.log", "ab")
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                            "--graceful-timeout", "5", "--no-control-socket", "wsgi:app"], cwd=ROOT, env=env,
                           stdout=web_log, stderr=subprocess.STDOUT)
    worker = subprocess.Popen([sys.executable, "-m", "advocacy.cli", "worker"], cwd=ROOT, env=env, stdout=worker_log,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120  # bounded, but wide enough for a loaded machine
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=2).json()["workers"]:
                    break
            except (requests.RequestException, ValueError):
                pass
            if time.monotonic() > deadline or web.poll() is not None or worker.poll() is not None:
                raise RuntimeError(f"the app or its worker did not start; see {logs}")
            time.sleep(0.2)
        yield url
    finally:
        for proc in (web, worker):
            proc.terminate()
        for proc in (web, worker):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        web_log.close()
        worker_log.close()


class Page:
    """A Playwright page that records console errors and uncaught exceptions, and saves screenshots."""

    def __init__(self, page: Any, name: str) -> None:
        self.page = page
        self.name = name
        self.errors: list[str] = []
        self.expected: list[str] = []  # answers a test provokes on purpose (a refused form is a 422)
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text} at {m.location.get('url')}")
                if m.type == "error" and not any(e in m.text for e in self.expected) else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def expect_status(self, status: int) -> None:
        """The test submits bad input on purpose: the browser's log line for that answer is not an error."""
        self.expected.append(f"the server responded with a status of {status} ")

    def shot(self, label: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def shots(self, label: str) -> None:
        """Screenshots at phone and desktop widths; at each, the page passes the quick accessibility check."""
        size = self.page.viewport_size
        self.page.wait_for_load_state("load")  # a click that navigates returns before the new page has its styles
        for which, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            self.page.set_viewport_size(viewport)
            self.check_accessible(f"{label} at {which} size")
            self.shot(f"{label}-{which}")
        self.page.set_viewport_size(size)

    def readme(self, name: str, phone: bool = False) -> Path:
        """Screenshots of what is on screen (not the whole page) for the README, at 375 and at 1280 px:
        test-artifacts/readme-<name>-375.png and -1280.png (``phone``: the phone one is the one README shows first).
        docs/screenshots/ keeps a copy of the last good ones (`cp test-artifacts/readme-*.png docs/screenshots/`,
        dropping the prefix)."""
        size = self.page.viewport_size
        ARTIFACTS.mkdir(exist_ok=True)
        paths = {}
        for width, viewport in (("375", PHONE), ("1280", {"width": 1280, "height": 800})):
            self.page.set_viewport_size(viewport)
            paths[width] = ARTIFACTS / f"readme-{name}-{width}.png"
            self.page.screenshot(path=str(paths[width]))
        self.page.set_viewport_size(size)
        return paths["375" if phone else "1280"]

    def check_accessible(self, where: str = "") -> None:
        """Every visible form control has a label (an accessible name), every tap target is at least 44 px high,
        headings do not skip a level, and nothing scrolls sideways."""
        self.page.wait_for_load_state("load")
        problems = self.page.evaluate(A11Y_CHECK)
        assert problems == [], f"{where or self.page.url}: {problems}"


A11Y_CHECK = """() => {
  const problems = [];
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    if (!visible(el)) continue;
    const labelled = (el.labels && el.labels.length) || el.getAttribute('aria-label')
      || el.getAttribute('aria-labelledby');
    if (!labelled) problems.push(`no label: ${el.outerHTML.slice(0, 80)}`);
  }
  for (const el of document.querySelectorAll('button, a.button, summary, select, input[type=submit]')) {
    if (visible(el) && el.getBoundingClientRect().height < 43.5) {
      problems.push(`tap target under 44px: ${el.outerHTML.slice(0, 80)}`);
    }
  }
  let last = 0;
  for (const h of document.querySelectorAll('main h1, main h2, main h3, main h4')) {
    const level = Number(h.tagName[1]);
    if (level > last + 1) problems.push(`heading skips a level: ${h.tagName} "${h.textContent.trim().slice(0, 40)}"`);
    last = level;
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    problems.push(`scrolls sideways: ${document.documentElement.scrollWidth}px wide in ${window.innerWidth}px`);
  }
  return problems;
}"""


@pytest.fixture()
def open_page(playwright_browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    contexts = []
    pages: list[Page] = []

    def make(viewport: dict[str, int] = PHONE) -> Page:
        context = playwright_browser.new_context(viewport=viewport)
        contexts.append(context)
        page = Page(context.new_page(), f"{request.node.name}-{len(pages)}")
        pages.append(page)
        return page

    yield make
    for context in contexts:
        context.close()
    errors = [e for p in pages for e in p.errors]
    assert errors == [], f"the browser reported errors: {errors}"
