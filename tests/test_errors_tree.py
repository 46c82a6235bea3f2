"""The exception tree drawn in otchat/errors.py's docstring is the real one: every exception
class otchat defines, under its real base, with the exit status it really maps to."""

import importlib
import inspect
import pkgutil
import re
import signal

import otchat
from otchat import errors
from otchat.errors import Terminated, exit_code_for_status

ROOTS = {"Exception": Exception, "BaseException": BaseException}
# A row of the drawing: branches (│ and blanks, four columns a level), then ├── or └── (not on a
# root), the class's name, and after two blanks or more the status it exits with.
ROW = re.compile(r"^    (?P<indent>(?:│   |    )*)(?P<branch>[├└]── )?(?P<name>[\w.]+)(?:\s{2,}(?P<exit>.*))?$")


def drawn() -> dict[str, tuple[str, str]]:
    """Each drawn class → (its parent in the drawing, its exit column)."""
    tree: dict[str, tuple[str, str]] = {}
    chain: list[str] = []
    for line in errors.__doc__.splitlines():
        match = ROW.match(line)
        if not match:
            continue
        depth = len(match["indent"]) // 4 + 1 if match["branch"] else 0
        assert depth <= len(chain), f"a row without a parent: {line!r}"
        chain[depth:] = [match["name"]]
        if depth:
            tree[match["name"]] = (chain[depth - 1], match["exit"] or "")
    return tree


def drawn_name(cls: type) -> str:
    if cls in ROOTS.values():
        return cls.__name__
    where = cls.__module__.removeprefix("otchat.")
    return cls.__qualname__ if where == "errors" else f"{where}.{cls.__qualname__}"


def real() -> dict[str, type]:
    """Every exception class defined in otchat/, by the name the drawing gives it."""
    found = {}
    for module in pkgutil.walk_packages(otchat.__path__, "otchat."):
        if module.name == "otchat.__main__":  # importing it runs otchat
            continue
        for _, cls in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == module.name:
                found[drawn_name(cls)] = cls
    return found


def test_the_drawn_tree_is_the_real_one():
    classes = real()
    assert {name: parent for name, (parent, _) in drawn().items()} == {
        name: drawn_name(cls.__bases__[0]) for name, cls in classes.items()}
    assert all(len(cls.__bases__) == 1 for cls in classes.values())


def test_the_drawn_exit_codes_are_the_real_ones():
    classes, tree = real(), drawn()
    plain = {name: int(m[1]) for name, (_, column) in tree.items() if (m := re.match(r"(\d+)(?:\s{2,}|$)", column))}
    assert {name: int(classes[name].exit_code) for name in plain} == plain
    assert len(plain) >= 8  # all of OtchatError's subclasses but APIError
    by_status = tree["APIError"][1]
    for statuses, code in re.findall(r"(\d{3}(?:/\d{3})*) → (\d+)", by_status):
        assert {exit_code_for_status(int(s)) for s in statuses.split("/")} == {int(code)}, statuses
    samples = {"other 4xx": (400, 404, 409, 422, 499), "5xx or none": (500, 502, 503, None)}
    for words, code in re.findall(r"(other 4xx|5xx or none) → (\d+)", by_status):
        assert {exit_code_for_status(s) for s in samples[words]} == {int(code)}, words
    assert len(re.findall(r"→", by_status)) == 5
    signals = re.findall(r"(\d+) on (SIG\w+)", tree["Terminated"][1])
    assert signals and all(Terminated(getattr(signal, name)).exit_code == int(n) for n, name in signals)


def test_the_reader_sees_a_tree():
    """The drawing is read as a tree, not as a list of names."""
    tree = drawn()
    assert tree["OtchatError"][0] == "Exception" and tree["UsageError"][0] == "OtchatError"
    assert tree["store.db.StoreError"][0] == "OtchatError" and tree["TurnCut"][0] == "BaseException"
