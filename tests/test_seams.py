"""Speed tricks stand on public APIs: no private names of other packages, no forked renderer."""

import ast
from pathlib import Path

import otchat

ROOT = Path(otchat.__file__).parent
PUBLIC_UNDERSCORED = {("os", "_exit")}  # documented despite its name


def private_uses(tree):
    """Private names of other packages that `tree` imports or reads."""
    modules = {}  # local name -> module, for modules imported from outside otchat
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if any(part.startswith("_") for part in alias.name.split(".")):
                    found.append(alias.name)
                modules[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and not node.module.startswith("otchat"):
            names = node.module.split(".") + [alias.name for alias in node.names]
            if any(part.startswith("_") and not part.startswith("__") for part in names):
                found.append(f"{node.module}: {', '.join(alias.name for alias in node.names)}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            name = (modules[node.value.id], node.attr)
            if node.attr.startswith("_") and not node.attr.startswith("__") and name not in PUBLIC_UNDERSCORED:
                found.append(".".join(name))
            if name == ("os", "fork"):
                found.append("os.fork")
        # an httpx client's insides: its transport, connection pool, network backend
        if isinstance(node, ast.Attribute) and node.attr in ("_pool", "_network_backend"):
            found.append(node.attr)
    return found


def test_no_private_names_of_other_packages():
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        uses = private_uses(ast.parse(path.read_text(encoding="utf-8")))
        if uses:
            found[str(path.relative_to(ROOT))] = uses
    assert found == {}


def test_the_check_sees_the_seams_it_is_for():
    source = (
        "import atexit, os\nfrom httpx_sse._decoders import SSELineDecoder\n"
        "atexit._run_exitfuncs()\npid = os.fork()\nos._exit(0)\n"
        "client._transport._pool._network_backend = backend\n"
    )
    assert sorted(private_uses(ast.parse(source))) == [
        "_network_backend", "_pool", "atexit._run_exitfuncs", "httpx_sse._decoders: SSELineDecoder", "os.fork"]


def test_no_other_packages_modules_are_stubbed_out():
    """No import of another package is steered through sys.modules (e.g. a None entry for
    one of its private modules so that its package skips loading it)."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Attribute) and node.attr == "modules" and isinstance(node.value, ast.Name)
                    and node.value.id == "sys"):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == [], f"sys.modules used at {found}"
