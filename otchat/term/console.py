"""A rich Console drawing on an Env's stdout or stderr: the one place its options are chosen."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

from ..env import Env, Terminal, screen

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType
    from rich.segment import Segment


def console_for(env: Env) -> Console:
    """Colour unless NO_COLOR; a terminal's codes when stdout is one (markdown into a pipe
    is drawn as rich decides); no guessing at what to highlight in the model's words."""
    return _console(env, env.stdout, env.stdout_isatty)


def stderr_console(env: Env) -> Console:
    """A console for what is drawn on stderr (spinners): a terminal's codes always."""
    return _console(env, env.stderr, True)


def _console(env: Env, stream: TextIO, terminal: bool) -> Console:
    from rich.console import Console

    # On a terminal (a `Terminal` stream) the console draws beneath it, making text visible itself.
    kind = _visible_console() if isinstance(stream, Terminal) else Console
    return kind(
        file=screen(stream),
        force_terminal=True if terminal else None,
        no_color=bool(env.environ.get("NO_COLOR")),
        highlight=False,
    )


@functools.cache
def _visible_console() -> type[Console]:
    """A Console whose every drawn character of text is `visible`: a guard under the callers,
    which make untrusted text visible before rich lays it out (so widths are right)."""
    from rich.console import Console
    from rich.segment import Segment

    from ..text import visible

    class VisibleConsole(Console):
        def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
            for segment in super().render(renderable, options):
                # A control segment is rich's own cursor movement: the rest is text.
                yield segment if segment.control else Segment(visible(segment.text), segment.style)

    return VisibleConsole
