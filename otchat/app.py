"""The command tree (typer) and the one error boundary mapping exceptions to exit codes.

Imports here stay light: `--help` and shell completion load this module on every call.
"""


import os
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from . import __version__
from .commands.options import Format, with_request_options
from .env import Env
from .errors import ExitCode, OtchatError, Terminated

ONESHOT = "__oneshot__"  # the hidden default command; nobody types this name
GROUP_FLAGS = ("--help", "-h", "--version")

DESCRIPTION = """\
Chat with the OpenTools API from the shell.

Give the prompt as arguments; text piped on stdin is appended to it (or replaces
{input} in it). A first word that names a command runs that command: quote the
prompt, or put -- before it, to send such a word as a prompt. A near miss of a
command name (otchat histroy list) is refused, not sent."""

EXIT_CODES = """\
Exit status: 0 ok, 1 no match (history search, config get of an unset key) or an
unexpected error, 2 bad usage or input, 3 config or API key (401/403), 4 request
rejected (other 4xx), 5 server failure (5xx, in-stream error), 6 network failure or
timeout, 7 broken stream, 8 rate limit (429) or out of credit (402), 9 stopped at a
tool budget with tool calls unrun, 130 interrupted, 141 stdout closed, 129/143
SIGHUP/SIGTERM."""


# How close a first word must be to a command name before it is taken for a mistyped
# command rather than the start of a prompt (difflib's ratio; "histroy" scores 0.86).
TYPO_CUTOFF = 0.8


def closest(word: str, names: list[str], cutoff: float = 0.6) -> str | None:
    import difflib

    matches = difflib.get_close_matches(word, names, n=1, cutoff=cutoff)
    return matches[0] if matches else None


class CommandGroup(TyperGroup):
    """A group whose unknown subcommand is one error line: one suggestion and the group's own help."""

    def visible(self) -> list[str]:
        return [name for name, cmd in self.commands.items() if not cmd.hidden]

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> Any:
        name = args[0]
        # Click and typer would each add a "Did you mean"; say it once, here.
        if name not in self.commands and not name.startswith("-") and not ctx.resilient_parsing:
            from .errors import UsageError

            match = closest(name, self.visible())
            known = f"did you mean {match!r}?" if match else "commands: " + ", ".join(self.visible())
            raise UsageError(f"unknown command {name!r}; {known}", hint=f"see {ctx.command_path} --help")
        return super().resolve_command(ctx, args)


class OtchatGroup(CommandGroup):
    """A group whose default command is the one-shot prompt.

    `otchat -m x "hi"` runs the hidden one-shot command; `otchat chat` runs `chat`.
    """

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        # Completing the first word (no args yet) offers the commands, so leave it alone.
        completing_first = ctx.resilient_parsing and not args
        if not completing_first and (not args or (args[0] not in self.commands and args[0] not in GROUP_FLAGS)):
            if args and not ctx.resilient_parsing:
                self.refuse_typo(args)
            args = [ONESHOT, *args]
        return super().parse_args(ctx, args)

    def refuse_typo(self, args: list[str]) -> None:
        """A near miss of a command, alone or before one of its subcommands, is not a prompt.

        `otchat histroy list` would otherwise be sent (and billed) as a question; anything
        less certain (`otchat story about a dragon`) stays a prompt.
        """
        word = args[0]
        if word.startswith("-") or any(c.isspace() for c in word):
            return
        match = closest(word, self.visible(), TYPO_CUTOFF)
        if match is None:
            return
        command = self.commands[match]
        subcommands = command.commands if isinstance(command, TyperGroup) else {}
        if len(args) == 1 or args[1] in subcommands:
            import shlex

            from .errors import UsageError

            raise UsageError(f"unknown command {word!r}; did you mean {match!r}?",
                             hint=f"to send it as a prompt: otchat -- {shlex.join(args)}")

    def shell_complete(self, ctx: typer.Context, incomplete: str) -> list[Any]:
        """The first word completes to commands, and to the one-shot command's options."""
        items = super().shell_complete(ctx, incomplete)
        if incomplete.startswith("-"):
            oneshot = self.commands[ONESHOT]
            known = {item.value for item in items}
            items += [item for item in oneshot.shell_complete(ctx, incomplete) if item.value not in known]
        return items

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:
        oneshot = self.commands[ONESHOT]
        oneshot.format_help(ctx, formatter)
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: typer.Context, formatter: Any) -> None:
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

    def format_usage(self, ctx: typer.Context, formatter: Any) -> None:
        formatter.write_usage("otchat", "[OPTIONS] [PROMPT]...")
        formatter.write_usage("otchat", "COMMAND [ARGS]...", prefix="       ")


app = typer.Typer(
    cls=OtchatGroup,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"otchat {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Chat with the OpenTools API from the shell."""


@app.command(name=ONESHOT, cls=OneshotCommand, hidden=True, help=DESCRIPTION, epilog=EXIT_CODES)
@with_request_options
def oneshot(
    ctx: typer.Context,
    prompt: Annotated[Optional[list[str]], typer.Argument(metavar="[PROMPT]...", show_default=False)] = None,
    *,
    format: Annotated[
        Optional[Format], typer.Option("--format", help="Output format [default: auto].", show_default=False)
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    raw: Annotated[bool, typer.Option("--raw", help="Same as --format plain.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the request as JSON; send nothing.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    **request: Any,
) -> None:
    env = _env(ctx)

    def body() -> int:
        from . import runner as run

        fmt = output_format(format, json_=json_, raw=raw)
        flags = _flags(request)
        output = run.Output(format=fmt, usage=request["usage"], verbose=request["verbose"], dry_run=dry_run)
        resume = _resume(request)
        files = list(request["file"] or [])
        if not prompt and not files and env.stdin_isatty and not dry_run:
            from .term import repl

            return repl.run(env, flags, output, None, resume=resume)
        return run.run(env, flags, output, list(prompt or []), files, resume=resume)

    guarded(env, body, traceback=request["traceback"])


@app.command("chat")
@with_request_options
def chat(
    ctx: typer.Context,
    first: Annotated[Optional[list[str]], typer.Argument(metavar="[FIRST MESSAGE]...", show_default=False)] = None,
    *,
    multiline: Annotated[
        bool, typer.Option("--multiline", help="Enter inserts a new line; Alt-Enter sends.")
    ] = False,
    format: Annotated[Format, typer.Option("--format", help="Output format of replies.")] = Format.auto,
    **request: Any,
) -> None:
    """Chat interactively (one message per line when stdin is not a terminal)."""
    env = _env(ctx)

    def body() -> int:
        from .term import repl
        from .runner import Output

        output = Output(format=format.value, usage=request["usage"], verbose=request["verbose"])
        return repl.run(env, _flags(request), output, " ".join(first) if first else None, multiline=multiline,
                        resume=_resume(request), files=list(request["file"] or []))

    guarded(env, body, traceback=request["traceback"])


def output_format(format: Format | None, *, json_: bool, raw: bool) -> str:
    """The one format that --format, --json and --raw ask for; two different ones are a usage error."""
    asked: dict[str, str] = {}
    if json_:
        asked["--json"] = "json"
    if raw:
        asked["--raw"] = "plain"
    if format is not None:
        asked[f"--format {format.value}"] = format.value
    if len(set(asked.values())) > 1:
        raise _usage(f"{' and '.join(asked)} contradict each other")
    return next(iter(asked.values()), Format.auto.value)


def _resume(params: dict[str, Any]) -> Any:
    if not (params["continue_"] or params["cid"]):
        return None
    from .runner import Resume

    return Resume(params["cid"])


def _flags(p: dict[str, Any]) -> Any:
    """Flags from the request options that one-shot and chat share (REQUEST_OPTIONS, by name)."""
    from . import runner as oneshot
    from .config.resolve import Flags

    return Flags(
        model=p["model"],
        system=p["system"],
        tools=list(p["tool"] or []),
        no_tools=list(p["no_tool"] or []),
        functions=oneshot.load_functions([Path(name) for name in p["function"] or []]),
        tool_choice=p["tool_choice"],
        temperature=p["temperature"],
        max_tokens=p["max_tokens"],
        options=oneshot.parse_options(p["option"] or []),
        stream=not p["no_stream"],
        base_url=p["base_url"],
        timeout=p["timeout"],
        retries=p["retries"],
        profile=p["profile"],
        role=p["role"],
        no_log=p["no_log"],
        mcp=list(p["mcp"] or []),
        mcp_commands=list(p["mcp_command"] or []),
        yes=p["yes"],
        max_tool_rounds=p["max_tool_rounds"],
    )


def _env(ctx: typer.Context) -> Env:
    return ctx.obj if isinstance(ctx.obj, Env) else Env.from_process()


def _usage(message: str) -> OtchatError:
    from .errors import UsageError

    return UsageError(message)


def guarded(env: Env, body: Callable[[], int], *, traceback: bool = False) -> None:
    """The error boundary: run `body`, map what it raises to one line and an exit code."""
    traceback = traceback or env.environ.get("OTCHAT_TRACEBACK") == "1"
    try:
        code = body()
    except OtchatError as exc:
        env.error(exc.line())
        code = exc.exit_code
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
    except Terminated as exc:
        code = exc.exit_code
    except BrokenPipeError:
        _silence_stdout(env)
        code = 141
    except Exception as exc:
        if traceback:
            raise
        env.error(f"unexpected {type(exc).__name__}: {exc} (run with --traceback for details)")
        code = ExitCode.UNEXPECTED
    if code:
        raise typer.Exit(int(code))


def _silence_stdout(env: Env) -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush is quiet."""
    try:
        fd = env.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def run(args: list[str], env: Env | None = None) -> int:
    """Parse `args` and run the command; usage errors become one line and exit 2."""
    import typer.main

    env = env or Env.from_process()
    command = typer.main.get_command(app)
    try:
        result = command.main(args, prog_name="otchat", standalone_mode=False, obj=env)
    except typer.Abort:
        return ExitCode.INTERRUPTED
    except OtchatError as exc:  # refused while parsing (a mistyped command)
        env.error(exc.line())
        return exc.exit_code
    except Exception as exc:
        # Click's usage errors (bad option, missing value) carry their own exit code.
        if not hasattr(exc, "format_message") or not hasattr(exc, "exit_code"):
            raise
        env.error(f"{exc.format_message()} (see {help_path(getattr(exc, 'ctx', None))} --help)")
        return exc.exit_code
    return result if isinstance(result, int) else 0


def help_path(ctx: typer.Context | None) -> str:
    """The command whose --help explains an error: the failing subcommand, or otchat itself
    for the (hidden) one-shot command."""
    while ctx is not None and ctx.command.hidden:
        ctx = ctx.parent
    return ctx.command_path if ctx is not None else "otchat"


# The other commands register themselves on `app`.
from .commands import tree as commands  # noqa: E402, F401
