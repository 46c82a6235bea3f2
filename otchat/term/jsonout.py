"""What a --schema turn shows while it is asked and checked: nothing of the reply (on a
terminal, a spinner on stderr naming the attempt); the document itself is `validated.show`'s."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..env import Env
from ..models import Event

if TYPE_CHECKING:
    from rich.status import Status

SPINNER = "dots"


class Waiting:
    """A sink that keeps the reply to itself; on a terminal, a spinner on stderr."""

    def __init__(self, env: Env) -> None:
        self._env = env
        self._status: Status | None = None

    frame = 0.0

    def sent(self) -> None:
        pass

    def attempt(self, number: int, total: int) -> None:
        """Say which attempt runs (on a terminal): drawn at once, not at the spinner's next tick."""
        if not self._env.stderr_isatty:
            return
        text = f"asking for JSON (attempt {number} of {total}{'' if number == 1 else ', asking again'})"
        if self._status is None:
            from .console import stderr_console

            console = stderr_console(self._env)
            self._status = console.status(text, spinner=SPINNER)
            self._status.start()
        # Naming the spinner again makes rich redraw now (a text alone waits for its next tick).
        self._status.update(text, spinner=SPINNER)

    def handle(self, event: Event) -> None:
        pass  # a schema reply is shown only once it validates

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
