"""The command tree (typer) and the one error boundary mapping exceptions to exit codes.

Imports here stay light: `--help` and shell completion load this module on every call.
"""


import os
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from . import __version__, complete
from .env import Env
from .errors import ExitCode, OtchatError, Terminated

ONESHOT = "__oneshot__"  # the hidden default command; nobody types this name
GROUP_FLAGS = ("--help", "-h", "--version")

DESCRIPTION = """\
Chat with the OpenTools API from the shell.

Give the prompt as arguments; text piped on stdin is appended to it (or replaces
{input} in it). A first word that names a command runs that command: quote the
prompt, or put -- before it, to send such a word as a prompt."""

EXIT_CODES = """\
Exit status: 0 ok, 1 unexpected error, 2 bad usage or input, 3 config or API key
(401/403), 4 request rejected (other 4xx), 5 server failure (5xx, in-stream error),
6 network failure or timeout, 7 broken stream, 8 rate limit (429) or out of credit
(402), 9 stopped at a tool budget with tool calls unrun, 130 interrupted, 141 stdout
closed, 129/143 SIGHUP/SIGTERM."""


class Format(str, Enum):
    auto = "auto"
    markdown = "markdown"
    plain = "plain"
    json = "json"
    jsonl = "jsonl"


class OtchatGroup(TyperGroup):
    """A group whose default command is the one-shot prompt.

    `otchat -m x "hi"` runs the hidden one-shot command; `otchat chat` runs `chat`.
    """

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        # Completing the first word (no args yet) offers the commands, so leave it alone.
        completing_first = ctx.resilient_parsing and not args
        if not completing_first and (not args or (args[0] not in self.commands and args[0] not in GROUP_FLAGS)):
            args = [ONESHOT, *args]
        return super().parse_args(ctx, args)

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


# Request options, shared by the one-shot command and (later) `chat`.
ModelOpt = Annotated[
    Optional[str],
    typer.Option("-m", "--model", help="Model id or alias, e.g. anthropic/claude-3.7-sonnet.",
                 autocompletion=complete.models),
]
SystemOpt = Annotated[Optional[str], typer.Option("-s", "--system", help="System prompt.")]
ToolOpt = Annotated[
    Optional[list[str]],
    typer.Option("-t", "--tool", metavar="REF", help="Hosted MCP tool from the OpenTools registry (repeatable).",
                 autocompletion=complete.tools),
]
NoToolOpt = Annotated[
    Optional[list[str]],
    typer.Option("--no-tool", metavar="REF", help="Leave out a tool that config, profile or role adds (repeatable).",
                 autocompletion=complete.tools),
]
FunctionOpt = Annotated[
    Optional[list[Path]],
    typer.Option("--function", metavar="FILE", help="JSON function definition to declare as a tool (repeatable)."),
]
ToolChoiceOpt = Annotated[
    Optional[str], typer.Option("--tool-choice", metavar="auto|none|required|NAME", help="How the model may use tools.")
]
FileOpt = Annotated[
    Optional[list[Path]],
    typer.Option("-f", "--file", metavar="PATH", help="Add a text file to the message (repeatable)."),
]
TemperatureOpt = Annotated[
    Optional[float], typer.Option("--temperature", min=0.0, max=2.0, help="Sampling temperature, 0 to 2.")
]
MaxTokensOpt = Annotated[Optional[int], typer.Option("--max-tokens", min=1, help="Longest reply, in tokens.")]
OptionOpt = Annotated[
    Optional[list[str]],
    typer.Option("-o", "--option", metavar="KEY=VALUE", help="Extra request body field; VALUE is JSON if it parses."),
]
NoStreamOpt = Annotated[bool, typer.Option("--no-stream", help="Ask for the whole reply at once.")]
BaseUrlOpt = Annotated[
    Optional[str], typer.Option("--base-url", metavar="URL", help="API base URL [default: https://api.opentools.com/v1].")
]
TimeoutOpt = Annotated[
    Optional[float], typer.Option("--timeout", metavar="SECONDS", min=0.001, help="Read timeout [default: 300].")
]
ProfileOpt = Annotated[
    Optional[str],
    typer.Option("--profile", metavar="NAME", help="Use [profiles.NAME] from config.toml.",
                 autocompletion=complete.profiles),
]
RoleOpt = Annotated[
    Optional[str],
    typer.Option("--role", metavar="NAME", help="Use [roles.NAME] from config.toml.", autocompletion=complete.roles),
]
ContinueOpt = Annotated[bool, typer.Option("-c", "--continue", help="Continue the most recent conversation.")]
CidOpt = Annotated[
    Optional[str],
    typer.Option("--cid", metavar="ID", help="Continue conversation ID (a unique prefix is enough).",
                 autocompletion=complete.history_ids),
]
NoLogOpt = Annotated[bool, typer.Option("--no-log", help="Do not keep this conversation in history.db.")]
McpOpt = Annotated[
    Optional[list[str]],
    typer.Option("--mcp", metavar="NAME", help="Use configured MCP server NAME for this run (repeatable)."),
]
McpCommandOpt = Annotated[
    Optional[list[str]],
    typer.Option("--mcp-command", metavar="[NAME=]CMD ARGS", help="Run a local stdio MCP server (repeatable)."),
]
YesOpt = Annotated[bool, typer.Option("-y", "--yes", help="Run local MCP tools without asking.")]
MaxRoundsOpt = Annotated[
    Optional[int], typer.Option("--max-tool-rounds", metavar="N", min=1, help="Tool rounds per message [default: 8].")
]
RetriesOpt = Annotated[
    Optional[int], typer.Option("--retries", metavar="N", min=0, help="Retries before a reply begins [default: 2].")
]


@app.command(name=ONESHOT, cls=OneshotCommand, hidden=True, help=DESCRIPTION, epilog=EXIT_CODES)
def oneshot(
    ctx: typer.Context,
    prompt: Annotated[Optional[list[str]], typer.Argument(metavar="[PROMPT]...", show_default=False)] = None,
    model: ModelOpt = None,
    system: SystemOpt = None,
    tool: ToolOpt = None,
    no_tool: NoToolOpt = None,
    function: FunctionOpt = None,
    tool_choice: ToolChoiceOpt = None,
    file: FileOpt = None,
    temperature: TemperatureOpt = None,
    max_tokens: MaxTokensOpt = None,
    option: OptionOpt = None,
    no_stream: NoStreamOpt = False,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    profile: ProfileOpt = None,
    role: RoleOpt = None,
    continue_: ContinueOpt = False,
    cid: CidOpt = None,
    no_log: NoLogOpt = False,
    mcp: McpOpt = None,
    mcp_command: McpCommandOpt = None,
    yes: YesOpt = False,
    max_tool_rounds: MaxRoundsOpt = None,
    format: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.auto,
    json_: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    raw: Annotated[bool, typer.Option("--raw", help="Same as --format plain.")] = False,
    usage: Annotated[bool, typer.Option("-u", "--usage", help="Print token usage (stderr when piped).")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Show the HTTP exchange on stderr.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the request as JSON; send nothing.")] = False,
    traceback: Annotated[bool, typer.Option("--traceback", help="Show a traceback on unexpected errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    env = _env(ctx)

    def body() -> int:
        from . import oneshot as run

        if json_ and raw:
            raise _usage("--json and --raw contradict each other")
        fmt = "json" if json_ else "plain" if raw else format.value
        flags = _flags(model, system, tool, no_tool, function, tool_choice, temperature, max_tokens, option,
                       no_stream, base_url, timeout, retries, profile, role, no_log,
                       (mcp, mcp_command, yes, max_tool_rounds))
        output = run.Output(format=fmt, usage=usage, verbose=verbose, dry_run=dry_run)
        resume = _resume(continue_, cid)
        if not prompt and not file and env.stdin_isatty and not dry_run:
            from . import repl

            return repl.run(env, flags, output, None, resume=resume)
        return run.run(env, flags, output, list(prompt or []), list(file or []), resume=resume)

    guarded(env, body, traceback=traceback)


@app.command("chat")
def chat(
    ctx: typer.Context,
    first: Annotated[Optional[list[str]], typer.Argument(metavar="[FIRST MESSAGE]...", show_default=False)] = None,
    model: ModelOpt = None,
    system: SystemOpt = None,
    tool: ToolOpt = None,
    no_tool: NoToolOpt = None,
    function: FunctionOpt = None,
    tool_choice: ToolChoiceOpt = None,
    temperature: TemperatureOpt = None,
    max_tokens: MaxTokensOpt = None,
    option: OptionOpt = None,
    no_stream: NoStreamOpt = False,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    profile: ProfileOpt = None,
    role: RoleOpt = None,
    continue_: ContinueOpt = False,
    cid: CidOpt = None,
    no_log: NoLogOpt = False,
    mcp: McpOpt = None,
    mcp_command: McpCommandOpt = None,
    yes: YesOpt = False,
    max_tool_rounds: MaxRoundsOpt = None,
    multiline: Annotated[
        bool, typer.Option("--multiline", help="Enter inserts a new line; Alt-Enter sends.")
    ] = False,
    format: Annotated[Format, typer.Option("--format", help="Output format of replies.")] = Format.auto,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Show the HTTP exchange on stderr.")] = False,
    traceback: Annotated[bool, typer.Option("--traceback", help="Show a traceback on unexpected errors.")] = False,
) -> None:
    """Chat interactively (one message per line when stdin is not a terminal)."""
    env = _env(ctx)

    def body() -> int:
        from . import repl
        from .oneshot import Output

        flags = _flags(model, system, tool, no_tool, function, tool_choice, temperature, max_tokens, option,
                       no_stream, base_url, timeout, retries, profile, role, no_log,
                       (mcp, mcp_command, yes, max_tool_rounds))
        output = Output(format=format.value, verbose=verbose)
        return repl.run(env, flags, output, " ".join(first) if first else None, multiline=multiline,
                        resume=_resume(continue_, cid))

    guarded(env, body, traceback=traceback)


def _resume(continue_: bool, cid: str | None) -> Any:
    if not (continue_ or cid):
        return None
    from .oneshot import Resume

    return Resume(cid)


def _flags(model, system, tool, no_tool, function, tool_choice, temperature, max_tokens, option, no_stream,
           base_url, timeout, retries, profile, role, no_log, tools=(None, None, False, None)) -> Any:
    """Flags from the request options that one-shot and chat share."""
    from . import oneshot
    from .config import Flags

    return Flags(
        model=model,
        system=system,
        tools=list(tool or []),
        no_tools=list(no_tool or []),
        functions=oneshot.load_functions(function or []),
        tool_choice=tool_choice,
        temperature=temperature,
        max_tokens=max_tokens,
        options=oneshot.parse_options(option or []),
        stream=not no_stream,
        base_url=base_url,
        timeout=timeout,
        retries=retries,
        profile=profile,
        role=role,
        no_log=no_log,
        mcp=list(tools[0] or []),
        mcp_commands=list(tools[1] or []),
        yes=tools[2],
        max_tool_rounds=tools[3],
    )


config_app = typer.Typer(help="Show and change config.toml.", no_args_is_help=True, add_completion=False,
                         rich_markup_mode=None)
auth_app = typer.Typer(help="Store, check or remove the API key.", no_args_is_help=True, add_completion=False,
                       rich_markup_mode=None)
history_app = typer.Typer(help="List, search, show, export or remove past conversations.", no_args_is_help=True,
                          add_completion=False, rich_markup_mode=None)
app.add_typer(config_app, name="config")
app.add_typer(auth_app, name="auth")
app.add_typer(history_app, name="history")
mcp_app = typer.Typer(help="Local MCP servers: list them, their tools, check them.", no_args_is_help=True,
                      add_completion=False, rich_markup_mode=None)
app.add_typer(mcp_app, name="mcp")


@mcp_app.command("list")
def mcp_list(ctx: typer.Context) -> None:
    """The configured servers and whether they are enabled."""
    env = _env(ctx)
    guarded(env, lambda: _mcpcmd().list_cmd(env))


@mcp_app.command("tools")
def mcp_tools(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Argument(help="Only this server.")] = None,
    mcp_command: McpCommandOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="Print them as the function tools otchat sends.")] = False,
) -> None:
    """Start the servers and list each tool with its description and parameters."""
    env = _env(ctx)
    guarded(env, lambda: _mcpcmd().tools_cmd(env, name, list(mcp_command or []), json_))


@mcp_app.command("doctor")
def mcp_doctor(ctx: typer.Context, mcp_command: McpCommandOpt = None) -> None:
    """Start each server, list its tools with timing, and say what went wrong."""
    env = _env(ctx)
    guarded(env, lambda: _mcpcmd().doctor_cmd(env, list(mcp_command or [])))


def _mcpcmd():
    from . import mcpcmd

    return mcpcmd


class ExportFormat(str, Enum):
    markdown = "markdown"
    json = "json"


IdArg = Annotated[
    str,
    typer.Argument(metavar="ID", help="A conversation id (a unique prefix is enough).",
                   autocompletion=complete.history_ids),
]


@history_app.command("list")
def history_list(
    ctx: typer.Context,
    number: Annotated[int, typer.Option("-n", "--number", min=1, help="How many, newest first.")] = 20,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Recent conversations: id, time, model, message count, title."""
    env = _env(ctx)
    guarded(env, lambda: _history().list_cmd(env, number, json_))


@history_app.command("show")
def history_show(
    ctx: typer.Context,
    cid: IdArg,
    format: Annotated[ExportFormat, typer.Option("--format", help="markdown or json.")] = ExportFormat.markdown,
) -> None:
    """Print one conversation."""
    env = _env(ctx)
    guarded(env, lambda: _history().show_cmd(env, cid, format.value))


@history_app.command("search")
def history_search(
    ctx: typer.Context,
    query: Annotated[list[str], typer.Argument(help="Words that must all appear.")],
    number: Annotated[int, typer.Option("-n", "--number", min=1, help="Most results.")] = 50,
) -> None:
    """Full-text search of every message, newest first."""
    env = _env(ctx)
    guarded(env, lambda: _history().search_cmd(env, " ".join(query), number))


@history_app.command("export")
def history_export(
    ctx: typer.Context,
    cid: IdArg,
    format: Annotated[ExportFormat, typer.Option("--format", help="markdown or json.")] = ExportFormat.markdown,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", metavar="FILE", help="Write to FILE.")] = None,
) -> None:
    """Write one conversation as markdown or JSON."""
    env = _env(ctx)
    guarded(env, lambda: _history().export_cmd(env, cid, format.value, output))


@history_app.command("rm")
def history_rm(
    ctx: typer.Context,
    cids: Annotated[
        Optional[list[str]],
        typer.Argument(metavar="[ID]...", help="Conversations to remove.", autocompletion=complete.history_ids),
    ] = None,
    older_than: Annotated[
        Optional[str], typer.Option("--older-than", metavar="AGE", help="Remove those idle longer than AGE (30d, 12h).")
    ] = None,
    yes: Annotated[bool, typer.Option("-y", "--yes", help="Do not ask.")] = False,
) -> None:
    """Remove conversations (asks first on a terminal)."""
    env = _env(ctx)
    guarded(env, lambda: _history().rm_cmd(env, list(cids or []), older_than, yes, lambda q: _ask(env, q)))


@history_app.command("path")
def history_path(ctx: typer.Context) -> None:
    """Print where history.db lives."""
    env = _env(ctx)
    guarded(env, lambda: _history().path_cmd(env))


def _history():
    from . import history

    return history


KeyArg = Annotated[
    str, typer.Argument(help="A dotted key, e.g. model or profiles.local.base_url.", autocompletion=complete.config_keys)
]


@config_app.command("list")
def config_list(ctx: typer.Context) -> None:
    """Print every setting in config.toml as KEY = VALUE (secrets masked)."""
    env = _env(ctx)
    guarded(env, lambda: _manage().config_list(env))


@config_app.command("get")
def config_get(ctx: typer.Context, key: KeyArg) -> None:
    """Print one setting (its default when unset)."""
    env = _env(ctx)
    guarded(env, lambda: _manage().config_get(env, key))


@config_app.command("set", context_settings={"ignore_unknown_options": True})
def config_set(
    ctx: typer.Context,
    key: KeyArg,
    value: Annotated[str, typer.Argument(help="The value; lists as a,b or a JSON array.")],
) -> None:
    """Set one setting, checking its type; comments and layout are kept."""
    env = _env(ctx)
    guarded(env, lambda: _manage().config_set(env, key, value))


@config_app.command("unset")
def config_unset(ctx: typer.Context, key: KeyArg) -> None:
    """Remove one setting."""
    env = _env(ctx)
    guarded(env, lambda: _manage().config_unset(env, key))


@config_app.command("path")
def config_path(ctx: typer.Context) -> None:
    """Print where config.toml lives."""
    env = _env(ctx)
    guarded(env, lambda: _manage().config_path_cmd(env))


@config_app.command("edit")
def config_edit(ctx: typer.Context) -> None:
    """Open config.toml in $VISUAL or $EDITOR; a broken edit is never saved."""
    env = _env(ctx)
    guarded(env, lambda: _manage().config_edit(env, ask=lambda prompt: _ask(env, prompt)))


@auth_app.command("login")
def auth_login(ctx: typer.Context) -> None:
    """Store the API key (typed hidden, or piped on stdin) in a private credentials file."""
    import getpass

    env = _env(ctx)
    guarded(env, lambda: _manage().auth_login(env, read_hidden=getpass.getpass))


@auth_app.command("status")
def auth_status(ctx: typer.Context, profile: ProfileOpt = None) -> None:
    """Say where the active key comes from, masked."""
    env = _env(ctx)
    guarded(env, lambda: _manage().auth_status(env, profile))


@auth_app.command("logout")
def auth_logout(ctx: typer.Context) -> None:
    """Remove the stored key."""
    env = _env(ctx)
    guarded(env, lambda: _manage().auth_logout(env))


@app.command("models")
def models(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json", help="Print the server's list as JSON.")] = False,
    refresh: Annotated[bool, typer.Option("--refresh", help="Ignore the day-old cache.")] = False,
    profile: ProfileOpt = None,
    base_url: BaseUrlOpt = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Show the HTTP exchange on stderr.")] = False,
) -> None:
    """List the models the endpoint offers (GET {base_url}/models)."""
    from .config import Flags

    env = _env(ctx)

    def body() -> int:
        from .catalog import list_models

        flags = Flags(profile=profile, base_url=base_url)
        return list_models(env, flags, as_json=json_, refresh=refresh, verbose=verbose)

    guarded(env, body)


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


@app.command("completion")
def completion(ctx: typer.Context, shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.")]) -> None:
    """Print the shell completion script (see the README for where it goes)."""
    from .docgen import completion_script

    env = _env(ctx)
    env.stdout.write(completion_script(shell.value))


def _manage():
    from . import manage

    return manage


def _ask(env: Env, prompt: str) -> str:
    env.stderr.write(prompt)
    env.stderr.flush()
    line = env.stdin.readline() if env.stdin is not None else b""
    return line.decode("utf-8", "replace") if isinstance(line, bytes) else line


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
    except Exception as exc:
        # Click's usage errors (bad option, missing value) carry their own exit code.
        if not hasattr(exc, "format_message") or not hasattr(exc, "exit_code"):
            raise
        env.error(f"{exc.format_message()} (see otchat --help)")
        return exc.exit_code
    return result if isinstance(result, int) else 0
