"""The house plan holds (docs/architecture.md explains it):

- no import cycles in otchat/, at module level or inside functions;
- imports only along the data path, argv → commands → config → wire → engine → term/store:
  wire never imports what comes after it, the engine no front door, config and store never
  wire, nothing below the commands imports them, only the entry, TAB completion and docgen
  import the root app, the core (runner, session, plan, seams, compare, validated, engine,
  conversation, models, errors, env, text) never imports the terminal, which is handed to it;
  only the run (and wire itself) imports the transport; the seams import only the data
  (models), and the plan only config, errors, seams and models;
- small pieces: no file over 400 lines, no class over 200, no function body over 50 (from its
  first statement to its last, docstring included, so a long parameter list does not count);
- at most 10 parameters and returns annotated with a bare `typing.Any` (an alias such as
  `JSON = Any` says what the value is, and does not count);
- no comment or docstring points at a design document other than docs/architecture.md.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterator
from pathlib import Path

import otchat

ROOT = Path(otchat.__file__).parent
MAX_LINES = 400
MAX_CLASS_LINES = 200
MAX_BODY_LINES = 50
MAX_BARE_ANY = 10


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


# The core of a run: handed the terminal (a Front, sinks, an approval), never importing it.
CORE = ("runner", "session", "plan", "seams", "compare", "validated", "engine", "conversation", "models",
        "errors", "env", "text")


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
            if under(source, *CORE) and under(target, "term"):
                wrong.append(f"{source} → {target}: the terminal is injected, never imported by the core")
            if target == "otchat.wire.transport" and not (source == "otchat.runner" or under(source, "wire")):
                wrong.append(f"{source} → {target}: the run opens the transport; nobody else builds one")
            if source == "otchat.seams" and target != "otchat.models":
                wrong.append(f"{source} → {target}: the seams name types; they import only the data")
            if source == "otchat.plan" and not under(target, "config", "errors", "seams", "models"):
                wrong.append(f"{source} → {target}: a plan is checked before anything runs; it imports no part that runs")
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
           "otchat.config.resolve": {"otchat.wire.request"}, "otchat.commands.chat": {"otchat.app"},
           "otchat.commands.cmd": {"otchat.wire.transport"}, "otchat.seams": {"otchat.engine"},
           "otchat.plan": {"otchat.runner"}, "otchat.session": {"otchat.term.live"}}
    assert len(against_the_path(bad)) == 8
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


# Sizes, annotations and comments ------------------------------------------------------------


def sources() -> Iterator[tuple[str, str]]:
    """(path under otchat/, text) of every module."""
    for path in sorted(ROOT.rglob("*.py")):
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


def definitions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.AST]]:
    """(qualified name, node) of every class and function, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            name = f"{prefix}{node.name}"
            yield name, node
            yield from definitions(node, f"{name}.")
        else:
            yield from definitions(node, prefix)


def long_classes(where: str, text: str) -> list[str]:
    """Classes over MAX_CLASS_LINES, from the `class` line to the last of its body."""
    return [f"{where}:{node.lineno} {name}: {n} lines" for name, node in definitions(ast.parse(text))
            if isinstance(node, ast.ClassDef) and (n := node.end_lineno - node.lineno + 1) > MAX_CLASS_LINES]


def long_functions(where: str, text: str) -> list[str]:
    """Functions whose body, from its first statement to its last, is over MAX_BODY_LINES."""
    found = []
    for name, node in definitions(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = node.body[-1].end_lineno - node.body[0].lineno + 1
            if n > MAX_BODY_LINES:
                found.append(f"{where}:{node.lineno} {name}: {n} lines")
    return found


def bare_any(where: str, text: str) -> list[str]:
    """Parameters and returns whose whole annotation is `typing.Any` (under any name it is
    imported as); `list[Any]`, or an alias like `JSON = Any`, does not count."""
    tree = ast.parse(text)
    names, modules = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "typing":
            names |= {alias.asname or alias.name for alias in node.names if alias.name == "Any"}
        elif isinstance(node, ast.Import):
            modules |= {alias.asname or alias.name for alias in node.names if alias.name == "typing"}

    def is_any(annotation: ast.expr | None) -> bool:
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):  # "Any", quoted
            return is_any(ast.parse(annotation.value, mode="eval").body)
        return (isinstance(annotation, ast.Name) and annotation.id in names) or (
            isinstance(annotation, ast.Attribute) and annotation.attr == "Any"
            and isinstance(annotation.value, ast.Name) and annotation.value.id in modules)

    found = []
    for name, node in definitions(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        a = node.args
        params = [*a.posonlyargs, *a.args, *([a.vararg] if a.vararg else []), *a.kwonlyargs,
                  *([a.kwarg] if a.kwarg else [])]
        found += [f"{where}:{p.lineno} {name}({p.arg})" for p in params if is_any(p.annotation)]
        if is_any(node.returns):
            found.append(f"{where}:{node.lineno} {name} -> Any")
    return found


def design_doc_mentions(where: str, text: str) -> list[str]:
    """Comments and docstrings that point at design.md, a document the repository does not hold."""
    found = [f"{where}:{token.start[0]} (comment)" for token in tokenize.generate_tokens(io.StringIO(text).readline)
             if token.type == tokenize.COMMENT and "design.md" in token.string]
    tree = ast.parse(text)
    for node in [tree, *(node for _, node in definitions(tree))]:
        docstring = ast.get_docstring(node, clean=False)
        if docstring and "design.md" in docstring:
            found.append(f"{where}:{node.body[0].lineno} (docstring)")
    return sorted(found)


def test_no_class_over_200_lines():
    long = [line for where, text in sources() for line in long_classes(where, text)]
    assert not long, f"classes over {MAX_CLASS_LINES} lines:\n" + "\n".join(long)


def test_no_function_body_over_50_lines():
    long = [line for where, text in sources() for line in long_functions(where, text)]
    assert not long, f"function bodies over {MAX_BODY_LINES} lines:\n" + "\n".join(long)


def test_few_bare_any_annotations():
    found = [line for where, text in sources() for line in bare_any(where, text)]
    assert len(found) <= MAX_BARE_ANY, (
        f"{len(found)} parameters and returns annotated bare Any (at most {MAX_BARE_ANY}):\n" + "\n".join(found))


def test_no_comment_points_at_a_missing_design_doc():
    found = [line for where, text in sources() for line in design_doc_mentions(where, text)]
    assert not found, "design.md is not in the repository; point at docs/architecture.md:\n" + "\n".join(found)


def test_the_size_and_annotation_checks_see_what_they_are_for():
    """A long class and a long body are caught, a long parameter list is not; bare Any under
    any import name is counted, Any inside a type or behind an alias is not; design.md is
    found in comments and docstrings, not in other strings."""
    method = 'class Big:\n    def f(self):\n        """Doc."""\n' + "".join(
        f"        x{n} = {n}\n" for n in range(MAX_BODY_LINES))
    assert long_functions("m.py", method) == [f"m.py:2 Big.f: {MAX_BODY_LINES + 1} lines"]
    assert long_functions("m.py", method.rsplit("\n", 2)[0] + "\n") == []
    params = "".join(f"    p{n}: int,\n" for n in range(MAX_BODY_LINES))
    body = "".join(f"    x{n} = {n}\n" for n in range(MAX_BODY_LINES))
    assert long_functions("m.py", f"def g(\n{params}) -> None:\n{body}") == []
    big = "class C:\n" + "".join(f"    a{n} = {n}\n" for n in range(MAX_CLASS_LINES))
    assert long_classes("m.py", big) == [f"m.py:1 C: {MAX_CLASS_LINES + 1} lines"]
    assert long_classes("m.py", big.rsplit("\n", 2)[0] + "\n") == []
    annotated = (
        "import typing\nimport typing as t\nfrom typing import Any\nfrom typing import Any as A\nJSON = Any\n"
        "def f(a: Any, b: A, *c: typing.Any, d: list[Any], e: JSON, f: 'Any', **g: t.Any) -> Any:\n"
        "    def inner(h: Any) -> JSON: ...\n"
    )
    assert bare_any("m.py", annotated) == [
        "m.py:6 f(a)", "m.py:6 f(b)", "m.py:6 f(c)", "m.py:6 f(f)", "m.py:6 f(g)", "m.py:6 f -> Any", "m.py:7 f.inner(h)"]
    mentions = '"""See design.md."""\n# design.md §1\nx = "design.md"\ndef f():\n    """design.md §2"""\n'
    assert design_doc_mentions("m.py", mentions) == ["m.py:1 (docstring)", "m.py:2 (comment)", "m.py:5 (docstring)"]


def test_only_wire_imports_the_http_stack():
    """httpx2 and httpcore2 are imported in otchat/wire/ only (the MCP SDK gets its client there too)."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if path.relative_to(ROOT).parts[0] == "wire":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in ("httpx", "httpx2",
                                                                                           "httpcore", "httpcore2")]
    assert found == []
