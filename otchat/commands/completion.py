"""`otchat completion bash|zsh|fish`: print a shell completion script."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from .group import env_of


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion(ctx: typer.Context, shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.")]) -> int:
    """Print the shell completion script (see the README for where it goes)."""
    from ..shell.scripts import completion_script

    env_of(ctx).stdout.write(completion_script(shell.value))
    return 0
