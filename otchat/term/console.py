"""A rich Console drawing on an Env's stdout: the one place its options are chosen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..env import Env

if TYPE_CHECKING:
    from rich.console import Console


def console_for(env: Env) -> Console:
    """Colour unless NO_COLOR; a terminal's codes when stdout is one (markdown into a pipe
    is drawn as rich decides); no guessing at what to highlight in the model's words."""
    from rich.console import Console

    return Console(
        file=env.stdout,
        force_terminal=True if env.stdout_isatty else None,
        no_color=bool(env.environ.get("NO_COLOR")),
        highlight=False,
    )
