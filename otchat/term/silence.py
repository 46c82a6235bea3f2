"""The line a terminal shows while the server is silent before a reply's first token: after
half a second, a dim `waiting for MODEL · 1.2s` that the answer replaces (it is drawn as a
transient live line, so nothing of it stays on the screen or reaches a pipe)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from rich.live import Live

AFTER = 0.5  # seconds of silence before the line shows
EVERY = 0.1  # seconds between its redraws (it counts tenths)


class Silence:
    """Started once the request is on the wire; `over` (the first event, the turn's end) takes
    the line away before anything else is drawn. Keys are not echoed while it shows (see
    MarkdownStream: an echo shifts the cursor under a live line)."""

    def __init__(self, console: Console, model: str | None, *, clock: Callable[[], float] = time.monotonic,
                 after: float = AFTER, echo_off: Callable[[], Callable[[], None]] | None = None) -> None:
        self.console = console
        self.model = model
        self.clock = clock
        self.after = after
        self.echo_off = echo_off
        self._over = threading.Event()
        self._lock = threading.Lock()  # the line starts and stops under it: never after `over`
        self._live: Live | None = None
        self._echo_on: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None
        self._began = 0.0  # when the request went (start)

    def start(self) -> None:
        if self._thread is None and not self._over.is_set():
            self._began = self.clock()
            self._thread = threading.Thread(target=self._run, name="otchat-silence", daemon=True)
            self._thread.start()

    def over(self) -> None:
        """The silence ended: take the line away (now, on the caller's thread)."""
        if self._over.is_set():
            return
        with self._lock:
            self._over.set()
            self._stop()

    def line(self) -> Text:
        seconds = self.clock() - self._began
        who = f"waiting for {self.model}" if self.model else "waiting"
        return Text(f"{who} · {seconds:.1f}s", style="dim")

    def _run(self) -> None:
        if self._over.wait(self.after):
            return
        from rich.live import Live

        with self._lock:
            if self._over.is_set():
                return
            self._echo_on = self.echo_off() if self.echo_off is not None else None
            self._live = Live(self.line(), console=self.console, transient=True, auto_refresh=False)
            self._live.start()
        while not self._over.wait(EVERY):
            with self._lock:
                if self._live is not None:
                    self._live.update(self.line(), refresh=True)

    def _stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        if self._echo_on is not None:
            self._echo_on()
            self._echo_on = None
