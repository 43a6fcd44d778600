"""axe-core, the accessibility engine, injected into a Playwright page: a list of the serious and critical
violations it finds, in light and dark colour schemes.

axe-core comes from the npm registry into tests/e2e/axe/node_modules (`make test` runs `npm ci` there; never
committed). Where it is missing (no npm on the machine), the tests that need it skip and say so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

AXE_JS = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

RUN = """async (only) => {
  const options = {resultTypes: ['violations']};
  if (only) options.runOnly = {type: 'rule', values: only};
  const result = await axe.run(document, options);
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => `${n.target.join(' ')}: ${n.failureSummary.replace(/\\s+/g, ' ')}`)}));
}"""

OPEN_EVERYTHING = """() => {
  for (const d of document.querySelectorAll('details')) d.open = true;
  const menu = document.querySelector('button.menu-toggle');
  if (menu && menu.offsetParent !== null && menu.getAttribute('aria-expanded') === 'false') menu.click();
}"""


def axe_source() -> Path:
    if not AXE_JS.exists():
        pytest.skip("axe-core is not installed (make test runs `npm ci --prefix tests/e2e/axe`; it needs npm)")
    return AXE_JS


def violations(page: Any, *, open_all: bool = True, only: list[str] | None = None) -> list[dict[str, Any]]:
    """The serious and critical axe-core violations on ``page`` as it is now (folded parts opened first);
    ``only``: just these rules."""
    if open_all:
        page.evaluate(OPEN_EVERYTHING)
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(axe_source()))
    return [v for v in page.evaluate(RUN, only) if v["impact"] in BLOCKING]


def check_schemes(page: Any, where: str) -> list[str]:
    """axe-core in the light colour scheme, then its colour rules again in the dark one (the rest does not change
    with the scheme); a line per serious or critical violation."""
    found = []
    for scheme, only in (("light", None), ("dark", ["color-contrast", "link-in-text-block"])):
        page.emulate_media(color_scheme=scheme)
        for v in violations(page, only=only):
            found.append(f"{where} ({scheme}): {v['id']} [{v['impact']}] {v['help']}: {v['nodes']}")
    page.emulate_media(color_scheme="light")
    return found
