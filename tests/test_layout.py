"""The house plan holds: no import cycles in otchat/, imports only along the data path
(design.md §1: argv → commands → config → wire → engine → term/store), small files."""

from __future__ import annotations

import ast
from pathlib import Path

import otchat

ROOT = Path(otchat.__file__).parent
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = ["otchat", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The otchat modules that `name` imports, at module level or inside functions, absolute
    or relative; `from package import module` counts as importing that module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" for alias in node.names]
            targets = [t if t in known else source for t in targets]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `otchat.x.y` of a module x: the module
                target = target.rpartition(".")[0]
            if target.startswith("otchat") and target != name and target != "otchat":
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, set(known)) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def under(name: str, *packages: str) -> bool:
    return any(name == f"otchat.{p}" or name.startswith(f"otchat.{p}.") for p in packages)


def against_the_path(edges: dict[str, set[str]]) -> list[str]:
    """Arrows that point back along the data path."""
    wrong = []
    for source, targets in edges.items():
        for target in targets:
            if under(source, "wire") and (under(target, "term", "store", "commands", "engine", "runner")):
                wrong.append(f"{source} → {target}: wire never imports what comes after it")
            if source == "otchat.engine" and under(target, "commands", "term", "app", "runner"):
                wrong.append(f"{source} → {target}: the engine never imports a front door")
            if under(source, "config", "store") and under(target, "wire"):
                wrong.append(f"{source} → {target}: config and store never import wire")
            if target == "otchat.app" and source not in ("otchat.entry", "otchat.__main__", "otchat.shell.complete",
                                                         "otchat.shell.docgen"):
                wrong.append(f"{source} → {target}: only the entry, TAB completion and docgen read the root app")
            if under(source, "term", "store", "config", "wire", "mcp") and under(target, "commands"):
                wrong.append(f"{source} → {target}: commands are front doors; nothing below imports them")
            if under(source, "runner", "conversation", "models", "errors", "env", "text") and under(target, "term"):
                wrong.append(f"{source} → {target}: the terminal is injected, never imported by the core")
    return sorted(wrong)


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_imports_follow_the_data_path():
    assert against_the_path(graph()) == []


def test_no_file_over_400_lines():
    long = {str(path.relative_to(ROOT)): n for path in ROOT.rglob("*.py")
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_checks_see_what_they_are_for():
    """A cycle through a function-level relative import, and arrows against the path, are caught."""
    edges = {"otchat.a": {"otchat.b"}, "otchat.b": {"otchat.c"}, "otchat.c": {"otchat.a"}, "otchat.d": set()}
    assert cycles(edges) == [["otchat.a", "otchat.b", "otchat.c"]]
    bad = {"otchat.wire.transport": {"otchat.term.live"}, "otchat.engine": {"otchat.commands.ask"},
           "otchat.config.resolve": {"otchat.wire.request"}, "otchat.commands.chat": {"otchat.app"}}
    assert len(against_the_path(bad)) == 4
    source = "def f():\n    from ..app import app\n    from .. import runner\n"
    known = {"otchat.app", "otchat.runner", "otchat.commands", "otchat.commands.x"}
    tree_imports = _imports_from_text("otchat.commands.x", source, known)
    assert tree_imports == {"otchat.app", "otchat.runner"}


def _imports_from_text(name: str, text: str, known: set[str]) -> set[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.py"
        path.write_text(text)
        return imports_of(name, path, known)
