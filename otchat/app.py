"""The root app: default-command routing, typo refusal, the registration of commands/*, and
THE error boundary that maps what a command raises to one line and an exit code.

Imports here stay light: `--help` and shell completion load this module on every call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import click
import typer
from typer.core import TyperCommand, TyperGroup

from .commands import ask
from .commands.group import CommandGroup, env_of
from .commands.names import COMMANDS, GROUP_FLAGS, GROUPS, a_prompt
from .commands.options import TRACEBACK, VersionOpt
from .env import Env, silence
from .errors import ExitCode, OtchatError, Terminated, exit_status_summary

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

ONESHOT = "__oneshot__"  # the hidden default command; nobody types this name


class OtchatGroup(CommandGroup):
    """The root group: its default command is the one-shot prompt, and its `invoke` is the
    error boundary of every command (`otchat -m x "hi"` runs the hidden one-shot command;
    `otchat chat` runs `chat`)."""

    def invoke(self, ctx: click.Context) -> int:
        return _boundary(ctx, lambda: super(OtchatGroup, self).invoke(ctx))

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Completing the first word (no args yet) offers the commands, so leave it alone.
        completing_first = ctx.resilient_parsing and not args
        if not completing_first and (not args or (args[0] not in self.commands and args[0] not in GROUP_FLAGS)):
            routed = None if ctx.resilient_parsing else self.route(args)
            if routed is not None:
                return super().parse_args(ctx, routed)
            args = [ONESHOT, *args]
        return super().parse_args(ctx, args)

    def route(self, args: list[str]) -> list[str] | None:
        """A command named after options (`otchat --profile p models`), as that command takes
        it; a near miss of one is refused (the typo guard); None: the words are a prompt."""
        from .commands.route import leading, route

        lead = leading(args, self.commands[ONESHOT].params)
        if lead.word is not None:
            routed = route(args, lead, self.commands)
            if routed is not None:
                return routed
            self.refuse_typo(args[lead.word:], before=lead.tokens)
        return None

    def refuse_typo(self, args: list[str], before: list[str] | None = None) -> None:
        """A near miss of a command, alone or before one of its subcommands, is not a prompt.

        `otchat histroy list` would otherwise be sent (and billed) as a question; anything
        less certain (`otchat story about a dragon`, `otchat cat`) stays a prompt
        (commands/typos.py says which is which).
        """
        from .commands.typos import mistyped

        word = args[0]
        if word.startswith("-") or any(c.isspace() for c in word):
            return
        if len(args) == 1:
            match = mistyped(word, self.visible())
        else:
            match = mistyped(word, [name for name in self.visible() if args[1] in self.subcommands(name)], alone=False)
        if match is not None:
            import shlex

            from .errors import UsageError

            raise UsageError(f"unknown command {word!r}; did you mean {match!r}?",
                             hint=f"to send it as a prompt: otchat {shlex.join([*(before or []), '--', *args])}")

    def subcommands(self, name: str) -> Mapping[str, click.Command]:
        command = self.commands[name]
        return command.commands if isinstance(command, TyperGroup) else {}

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """The first word completes to commands, and to the one-shot command's options."""
        items = super().shell_complete(ctx, incomplete)
        if incomplete.startswith("-"):
            oneshot = self.commands[ONESHOT]
            known = {item.value for item in items}
            items += [item for item in oneshot.shell_complete(ctx, incomplete) if item.value not in known]
        return items

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        oneshot = self.commands[ONESHOT]
        oneshot.format_help(ctx, formatter)
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            (name, cmd.get_short_help_str(limit=60))
            for name, cmd in self.commands.items()
            if not cmd.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class OneshotCommand(TyperCommand):
    """Shows its usage as the program's own: `otchat [OPTIONS] [PROMPT]...`."""

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage("otchat", "[OPTIONS] [PROMPT]...")
        formatter.write_usage("otchat", "COMMAND [ARGS]...", prefix="       ")


def root(version: VersionOpt = False) -> None:
    """Chat with the OpenTools API from the shell."""




@functools.cache
def build(*, oneshot_only: bool = False) -> typer.Typer:
    """The command tree. A one-shot prompt needs only the one-shot command: importing the
    other commands and having typer build them costs a prompt ~30 ms before its request."""
    from importlib import import_module

    tree = typer.Typer(
        cls=OtchatGroup,
        add_completion=False,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    tree.callback()(root)
    tree.command(name=ONESHOT, cls=OneshotCommand, hidden=True, help=ask.HELP,
                 epilog=exit_status_summary())(ask.ask)
    if not oneshot_only:
        for name in COMMANDS:
            module = import_module(f".commands.{name.replace('-', '_')}", __package__)
            tree.command(name, help=getattr(module, "HELP", None))(getattr(module, name.replace("-", "_")))
        for name in GROUPS:
            tree.add_typer(import_module(f".commands.{name}", __package__).app, name=name)
    return tree


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # the whole tree, for --help, the docs and completion
        return build()
    raise AttributeError(name)


def oneshot(args: list[str]) -> bool:
    """Whether `args` surely run the one-shot command, whose tree alone then parses them:
    no command name, group flag or near miss of a command (refused, by the whole tree) first,
    or after the leading options."""
    if args and args[0] in GROUP_FLAGS:
        return False
    if args and args[0].startswith("-"):
        import typer.main

        from .commands.route import leading

        oneshot_command = typer.main.get_command(build(oneshot_only=True))
        assert isinstance(oneshot_command, click.Group)
        lead = leading(args, oneshot_command.commands[ONESHOT].params)
        if lead.word is None:
            return True
        args = args[lead.word:]
    return a_prompt(args)


def _boundary(ctx: click.Context, call: Callable[[], int | None]) -> int:
    """The one error boundary: run a command, map what it raises to one line and an exit code.

    typer's own exits (--help, --version, usage errors while parsing) pass through to `run`.
    A nonzero code leaves as typer.Exit, so a CliRunner sees it as `run` does.
    """
    env = env_of(ctx)
    try:
        code = call()
    except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except OtchatError as exc:
        env.error(exc.line())
        code = exc.exit_code
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
    except Terminated as exc:
        code = exc.exit_code
    except BrokenPipeError:
        silence(env.stdout)
        code = 141
    except Exception as exc:
        if ctx.meta.get(TRACEBACK) or env.environ.get("OTCHAT_TRACEBACK") == "1":
            raise
        env.error(f"unexpected {type(exc).__name__}: {exc} (run with --traceback for details)")
        code = ExitCode.UNEXPECTED
    if code:
        raise typer.Exit(int(code))
    return 0




def run(args: list[str], env: Env | None = None) -> int:
    """Parse `args` and run the command: usage errors while parsing become one line and
    exit 2; what the command raises is mapped by `_boundary`."""
    import typer.main

    env = env or Env.from_process()
    if args in (["help"], ["version"]):  # alone: the words of someone asking otchat itself
        args = [f"--{args[0]}"]
    command = typer.main.get_command(build(oneshot_only=oneshot(args)))
    try:
        result = command.main(args, prog_name="otchat", standalone_mode=False, obj=env)
    except typer.Abort:
        return ExitCode.INTERRUPTED
    except OtchatError as exc:  # refused while parsing (a mistyped command)
        env.error(exc.line())
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:  # a group alone (`otchat history`) asks for its help
        env.out(exc.ctx.get_help())
        return ExitCode.OK
    except Exception as exc:
        # Click's usage errors (bad option, missing value) carry their own exit code.
        if not hasattr(exc, "format_message") or not hasattr(exc, "exit_code"):
            raise
        # One line, whatever click made of it ("Choose from:\n\tbash,\n\tzsh,...").
        message = " ".join(line.strip() for line in exc.format_message().splitlines())
        env.error(f"{message} (see {help_path(getattr(exc, 'ctx', None))} --help)")
        return int(exc.exit_code)
    return result if isinstance(result, int) else 0


def help_path(ctx: click.Context | None) -> str:
    """The command whose --help explains an error: the failing subcommand, or otchat itself
    for the (hidden) one-shot command."""
    while ctx is not None and ctx.command.hidden:
        ctx = ctx.parent
    return ctx.command_path if ctx is not None else "otchat"
