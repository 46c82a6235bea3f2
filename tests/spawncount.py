"""A pytest plugin that counts the tests that start a process: `pytest -p tests.spawncount`.

It listens to the interpreter's audit events for every way to start one (subprocess,
fork, forkpty as pexpect does, posix_spawn, exec), so nothing is patched; at the end it
prints how many tests started at least one process, per file.
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

import pytest

SPAWN_EVENTS = frozenset({"subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn", "os.exec", "os.spawn"})

_current: list[str] = []
_spawning: set[str] = set()
_tests: list[str] = []


def _hook(event: str, args: Any) -> None:
    if event in SPAWN_EVENTS and _current:
        _spawning.add(_current[-1])


def pytest_configure(config: pytest.Config) -> None:
    sys.addaudithook(_hook)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    _current.append(item.nodeid)
    _tests.append(item.nodeid)
    try:
        yield
    finally:
        _current.pop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    per_file = Counter(nodeid.split("::")[0] for nodeid in _spawning)
    total = Counter(nodeid.split("::")[0] for nodeid in _tests)
    terminalreporter.write_sep("-", f"tests that start a process: {len(_spawning)} of {len(_tests)}")
    for path, count in sorted(per_file.items()):
        terminalreporter.write_line(f"{path}: {count} of {total[path]}")
