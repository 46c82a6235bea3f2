"""Helpers the tests share: the history database, request bodies, screens read back with
pyte, and a scripted clock. (Fixtures are in conftest.py.)"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pexpect
import pyte

from tests.conftest import KEY, OTCHAT, clean_environ


def rows(home: Path, sql: str, *args: Any) -> list[tuple]:
    """The rows `sql` selects from the history database under `home`."""
    with sqlite3.connect(home / "data" / "history.db") as db:
        return db.execute(sql, args).fetchall()


def contents(body: dict) -> list[str]:
    """The contents of a request body's messages, in order."""
    return [m["content"] for m in body["messages"]]


def sse_bytes(events: list, done: bool = True, nl: str = "\n") -> bytes:
    """A server-sent event stream of `events` (chunks, or strings sent as they are), then [DONE]."""
    out = ""
    for event in events + (["[DONE]"] if done else []):
        payload = event if isinstance(event, str) else json.dumps(event, ensure_ascii=False)
        out += f"data: {payload}{nl}{nl}"
    return out.encode()


def drawn(raw: bytes | str, cols: int, rows: int, *, onlcr: bool = False) -> list[str]:
    """The lines of a `cols` x `rows` terminal fed `raw` (what a pty read, or with `onlcr`
    what a console wrote to a file: each newline as the tty's onlcr sends it), right-stripped."""
    screen = pyte.Screen(cols, rows)
    if isinstance(raw, bytes):
        pyte.ByteStream(screen).feed(raw)
    else:
        pyte.Stream(screen).feed(raw.replace("\n", "\r\n") if onlcr else raw)
    return [line.rstrip() for line in screen.display]


def screen(child: pexpect.spawn) -> list[str]:
    """The terminal of a child from the `spawn_pty` fixture as a person sees it now: its non-blank lines."""
    rows, cols = child.dimensions
    return [line for line in drawn(child.logfile_read.getvalue(), cols, rows) if line]


def run_in_pty(server: Any, home: Path, *args: str, env: dict[str, str] | None = None,
               dimensions: tuple[int, int] = (60, 90)) -> tuple[int, list[str], bytes]:
    """Run the otchat executable in a pseudo-terminal of `dimensions` (rows, cols) until it
    exits: its exit status, the screen's lines, and the raw bytes it drew."""
    extra = {"OTCHAT_BASE_URL": server.url, "OPENTOOLS_API_KEY": KEY, "TERM": "xterm-256color", **(env or {})}
    child = pexpect.spawn(str(OTCHAT), list(args), env=clean_environ(home, **extra), dimensions=dimensions,
                          timeout=30)
    raw = child.read()  # until EOF
    child.close()
    rows, cols = dimensions
    return child.exitstatus, drawn(raw, cols, rows), raw


class Tick:
    """A clock that advances a second per call, so every flush refreshes."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0
        return self.now
