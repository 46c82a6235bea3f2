"""`otchat shell-integration bash|zsh|fish`: print the Alt-E key binding that turns the typed line into a command."""

from __future__ import annotations

from typing import Annotated

import typer

from .completion import Shell
from .group import env_of


def shell_integration(ctx: typer.Context,
                      shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.")]) -> int:
    """Print a key binding for your shell's rc file: Alt-E turns the line typed so far into a command.

    The command replaces the line, unrun: read it, edit it, press Enter to run it.
    bash: eval "$(otchat shell-integration bash)" in ~/.bashrc; zsh: the same in ~/.zshrc;
    fish: otchat shell-integration fish | source in ~/.config/fish/config.fish.
    """
    from ..shell.integration import snippet

    env_of(ctx).stdout.write(snippet(shell.value))
    return 0
