"""The employee shares with the keyboard alone: sign in, skip past the menu, reach the card's network chip and its
Share button with Tab, toggle the chip with Space, share with Enter, and read "Shared on X · posted · view post".
No mouse click and no element.click(): only key presses. Every element that takes focus on the way shows it."""

from __future__ import annotations

from typing import Any

from tests.conftest import PASSWORD
from tests.delivery.support import approved, employee
from tests.e2e.conftest import DESKTOP

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  // a focus ring on the element, or on the label that stands for it (the network chips hide their checkbox)
  const ring = (node) => { if (!node) return false; const s = getComputedStyle(node);
    return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none' && node === el; };
  return {tag: el.tagName.toLowerCase(), type: el.type || '', id: el.id,
          name: (el.getAttribute('aria-label') || el.labels?.[0]?.innerText || el.innerText || el.value || '').trim(),
          checked: el.checked === undefined ? null : el.checked,
          visible: el.matches(':focus-visible'), ring: ring(el) || ring(el.closest('label'))};
}"""


def tab_to(page: Any, wanted: Any, seen: list[dict[str, Any]], limit: int = 60, key: str = "Tab") -> dict[str, Any]:
    """Press Tab until the focused element is the ``wanted`` one; every stop on the way is recorded."""
    for _ in range(limit):
        page.keyboard.press(key)
        focused = page.evaluate(FOCUSED)
        if focused is not None:
            seen.append(focused)
            if wanted(focused):
                return focused
    raise AssertionError(f"{key} never reached it; focus went through {[s['name'][:30] for s in seen[-limit:]]}")


def test_employee_shares_from_the_feed_with_the_keyboard_alone(live, open_page, policy, sandbox):
    emma = employee("emma@acme.test", "emma_acme")
    tp = approved("We are hiring platform engineers")
    browser = open_page(DESKTOP)
    page = browser.page
    seen: list[dict[str, Any]] = []

    page.goto(f"{live}/login")
    skip = tab_to(page, lambda f: f["tag"] == "a", seen)
    assert skip["name"] == "Skip to main content"  # the first stop on every page
    assert page.get_by_role("link", name="Skip to main content").is_visible()  # shown while focused
    tab_to(page, lambda f: f["id"] == "email", seen)
    page.keyboard.type(emma.email)
    tab_to(page, lambda f: f["id"] == "password", seen)
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live}/feed")

    # the skip link jumps past the menu: the next stop is the feed's first tab, not a menu link
    tab_to(page, lambda f: f["tag"] == "a", seen, limit=1)
    page.keyboard.press("Enter")
    after_skip = tab_to(page, lambda f: True, seen, limit=1)
    assert after_skip["name"].startswith("New for me"), after_skip

    card = page.locator(f'[data-talking-point="{tp.id}"]')
    chip = tab_to(page, lambda f: f["id"] == f"share-{tp.id}-x", seen)
    assert chip["checked"] is True  # the connected network, pre-selected
    page.keyboard.press("Space")  # one key toggles it off: nothing to share on, the button waits
    assert card.get_by_role("checkbox", name="X").is_checked() is False
    assert card.locator("button.share-now").is_disabled()
    page.keyboard.press("Space")
    assert card.get_by_role("checkbox", name="X").is_checked() is True

    tab_to(page, lambda f: f["id"] == f"share-{tp.id}", seen, limit=5)
    assert page.evaluate(FOCUSED)["name"] == "Share on X"
    # Shift+Tab goes back to the chip, Tab forward again: focus order follows the card
    assert tab_to(page, lambda f: True, seen, limit=1, key="Shift+Tab")["id"] == f"share-{tp.id}-x"
    tab_to(page, lambda f: f["id"] == f"share-{tp.id}", seen, limit=1)
    browser.shot("keyboard-share-focused")
    page.keyboard.press("Enter")

    page.wait_for_url(f"{live}/feed#tp-{tp.id}")
    done = card.locator('.shared-on .network.shared[data-network="x"]')
    done.locator(".badge.published").wait_for(timeout=30_000)  # the live status turns posted by itself
    assert " ".join(done.inner_text().split()) == "Shared on X · posted · view post"
    assert card.get_by_role("link", name="view post").count() == 1
    assert card.locator("button.share-now").count() == 0  # nothing that would post it twice
    browser.shot("keyboard-share-done")

    stops = [s for s in seen if s["visible"]]
    assert stops, seen
    unringed = [s for s in stops if not s["ring"]]
    assert unringed == [], f"focused without a visible focus style: {unringed}"
