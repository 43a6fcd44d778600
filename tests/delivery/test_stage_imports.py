"""The stages tell each other what happened (``advocacy.events``) instead of importing each other's services in a
circle: content and people send events, delivery subscribes, and delivery alone may read content."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

STAGES = ("advocacy.content", "advocacy.people", "advocacy.delivery")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, name: str) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function, absolute or relative."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # ``from pkg import module``
    return found


def _graph() -> dict[str, set[str]]:
    files = [p for stage in STAGES for p in (ROOT / stage.replace(".", "/")).rglob("*.py")]
    files.append(ROOT / "advocacy" / "events.py")
    modules = {_module(p): p for p in files}
    return {name: {m for m in _imports(path, name) if m in modules and m != name} for name, path in modules.items()}


def _stage(module: str) -> str:
    return next((s for s in STAGES if module == s or module.startswith(s + ".")), module)


def _knots(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected parts of the graph (modules that reach each other) that span more than one stage:
    each holds an import circle between stages (a circle inside one stage is that stage's own business)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    parts: list[set[str]] = []

    def connect(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                part.add(top)
                if top == node:
                    break
            parts.append(part)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [p for p in parts if len({_stage(m) for m in p}) > 1]


def test_content_people_and_delivery_import_each_other_in_no_circle():
    graph = _graph()
    assert "advocacy.delivery.services" in graph and graph["advocacy.delivery.services"]  # the parser sees them
    assert _knots(graph) == [], "modules of different stages import each other in a circle"


def test_content_and_people_call_no_delivery_service():
    """They say what happened through ``advocacy.events``; what that means for shares is delivery's business."""
    graph = _graph()
    pages = {"views", "api", "preview_views"}  # pages may show a stage's shares; the domain modules may not call it
    domain = [m for m in graph if _stage(m) in ("advocacy.content", "advocacy.people")
              and m.rsplit(".", 1)[-1] not in pages]
    assert "advocacy.people.services" in domain and len(domain) > 5
    for name in domain:
        reached = {m for m in graph[name] if m.startswith("advocacy.delivery")}
        # the shares table itself may be read (recall lists live posts); no delivery logic is called
        assert reached <= {"advocacy.delivery.models"}, f"{name} imports {sorted(reached)}"
    assert any("advocacy.events" in graph[m] for m in domain if _stage(m) == "advocacy.content")
    assert "advocacy.events" in graph["advocacy.people.services"]
    assert not {m for m in graph["advocacy.events"] if m.startswith(STAGES)}  # events know no stage


def test_the_knot_finder_finds_the_old_circle():
    """The circle this replaced: withdrawing called delivery, delivery composed with content."""
    old = {"advocacy.content.services": {"advocacy.delivery.services"},
           "advocacy.delivery.services": {"advocacy.content.services", "advocacy.people.services"},
           "advocacy.people.services": {"advocacy.delivery.services"}, "advocacy.content.views": set()}
    assert _knots(old) == [{"advocacy.content.services", "advocacy.delivery.services", "advocacy.people.services"}]
    assert _knots({"advocacy.content.a": {"advocacy.content.b"}, "advocacy.content.b": {"advocacy.content.a"}}) == []
