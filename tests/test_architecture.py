"""The layout's two rules, checked on the source: imports go down only (bot → tracker → transcripts), and no module
imports one that imports it back, at start-up or lazily inside a function.

Imports under `if TYPE_CHECKING:` are not executed and are left out of the graph. `from pkg import name` counts as
an import of `pkg.name` when that is a module, else of `pkg` itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"transcripts": 0, "tracker": 1, "bot": 2}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for layer in LAYERS for p in (ROOT / layer).rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            # `from pkg import sub` imports the submodule; `from pkg import func`, the package.
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return found


def import_graph() -> dict[str, set[str]]:
    """Each of our modules → the modules of ours it imports (third-party imports are left out)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for target in _imported_modules(name, path, modules):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges.add(target)
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_imports_go_down_only_from_bot_to_tracker_to_transcripts():
    graph = import_graph()
    upward = sorted(
        f"{a} imports {b}"
        for a, targets in graph.items()
        for b in targets
        if LAYERS[b.split(".")[0]] > LAYERS[a.split(".")[0]]
    )
    assert not upward, "\n".join(upward)


def test_no_module_imports_one_that_imports_it_back():
    cycles = _cycles(import_graph())
    assert not cycles, "\n".join(" ↔ ".join(c) for c in cycles)


def test_no_cycle_even_through_imports_for_type_hints_only(monkeypatch):
    """A hub that everything calls back through shows as a cycle of type hints (the core naming its features, the
    features naming the core); the core names no feature, so there is none."""
    monkeypatch.setattr(__import__(__name__, fromlist=["_is_type_checking"]), "_is_type_checking", lambda node: False)
    cycles = _cycles(import_graph())
    assert not cycles, "\n".join(" ↔ ".join(c) for c in cycles)


def test_the_checker_sees_a_lazy_upward_import_and_a_cycle(tmp_path, monkeypatch):
    """The rules are only as good as the graph: a lazy import inside a function and a two-module cycle must show."""
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
        (tmp_path / layer / "__init__.py").write_text("")
    (tmp_path / "transcripts" / "a.py").write_text("def f():\n    from tracker import b\n")
    (tmp_path / "tracker" / "b.py").write_text("from tracker.c import x\n")
    (tmp_path / "tracker" / "c.py").write_text("from typing import TYPE_CHECKING\nimport tracker.b\nx = 1\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    graph = import_graph()
    assert "tracker.b" in graph["transcripts.a"]
    assert _cycles(graph) == [["tracker.b", "tracker.c"]]


def test_transcripts_takes_its_options_as_arguments_and_never_reads_the_environment():
    """Settings come through `tracker.config` (environment, secret files, wgbot.toml) and reach `transcripts` as
    arguments or through `transcripts.runtime`. (Setting OpenMP's own variable before llama.cpp loads is allowed.)"""
    reads = []
    for path in sorted((ROOT / "transcripts").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"os\.(getenv|environ\.get|environ\[)|os\.environ\)", line) or "environ.items" in line:
                reads.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not reads, "\n".join(reads)


def _all_imports(path: Path) -> set[str]:
    """Every module a file names in an import, TYPE_CHECKING ones included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.update({node.module} | {f"{node.module}.{a.name}" for a in node.names})
    return found


def test_the_bot_core_knows_no_feature_and_features_know_each_other_only_as_types():
    """bot/app.py is infrastructure: it names its extensions by string and imports none. An extension may name
    another one for type hints only; at run time they talk through discord.py events."""
    core = _all_imports(ROOT / "bot" / "app.py")
    assert not {m for m in core if m.startswith("bot.exts")}, "bot/app.py imports a feature"
    graph = import_graph()
    crossing = sorted(
        f"{a} imports {b}"
        for a, targets in graph.items()
        if a.startswith("bot.exts.")
        for b in targets
        if b.startswith("bot.exts.")
    )
    assert not crossing, "\n".join(crossing)


def _dispatched_and_heard() -> tuple[set[str], set[str]]:
    dispatched: set[str] = set()
    heard: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        text = path.read_text()
        dispatched |= set(re.findall(r'\.dispatch\(\s*f?"([a-z_{}.]+)"', text))
        heard |= set(re.findall(r"@commands\.Cog\.listener\(\)\s+async def on_([a-z_]+)\(", text))
    return dispatched, heard


def test_every_event_a_feature_dispatches_is_heard_and_every_custom_listener_has_a_sender():
    """A renamed event must not leave a sender talking to no one, or a listener waiting for nothing."""
    from tracker.timers import KINDS

    dispatched, heard = _dispatched_and_heard()
    expanded = {e for e in dispatched if "{" not in e} | {f"meeting_{kind}_timer_complete" for kind in KINDS}
    assert any("{timer.kind}" in e for e in dispatched)  # the timers' one templated event, expanded above
    assert expanded - heard == set()
    discord_events = {
        "message",
        "raw_message_edit",
        "raw_message_delete",
        "app_command_completion",
        "voice_state_update",
    }
    assert heard - expanded - discord_events == set()
