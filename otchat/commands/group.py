"""What every command module shares: a group whose unknown subcommand is one error line, and the run's Env."""

from __future__ import annotations

import click
import typer
from typer.core import TyperGroup

from ..env import Env


def closest(word: str, names: list[str], cutoff: float = 0.6) -> str | None:
    import difflib

    matches = difflib.get_close_matches(word, names, n=1, cutoff=cutoff)
    return matches[0] if matches else None


class CommandGroup(TyperGroup):
    """A group whose unknown subcommand is one error line: one suggestion and the group's own help."""

    def visible(self) -> list[str]:
        return [name for name, cmd in self.commands.items() if not cmd.hidden]

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        # Click and typer would each add a "Did you mean"; say it once, here.
        if name not in self.commands and not name.startswith("-") and not ctx.resilient_parsing:
            from ..errors import UsageError

            match = closest(name, self.visible())
            known = f"did you mean {match!r}?" if match else "commands: " + ", ".join(self.visible())
            raise UsageError(f"unknown command {name!r}; {known}", hint=f"see {ctx.command_path} --help")
        return super().resolve_command(ctx, args)


def new_group(help: str) -> typer.Typer:
    """A command group (`otchat config …`); the root app registers it under its name."""
    return typer.Typer(cls=CommandGroup, help=help, no_args_is_help=True, add_completion=False,
                       rich_markup_mode=None)


def env_of(ctx: click.Context) -> Env:
    """The Env a run was given (`run(args, env)`, a test's `obj=`), or the process's own."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Env) else Env.from_process()
