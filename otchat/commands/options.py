"""Command-line options: the request set that `ask` and `chat` share, defined once, and how it becomes Flags.

Adding a request flag: its option here (in REQUEST_OPTIONS), its field in `config.resolve.Flags`
and `flags_from` below, its use in `wire.request.build`; then regenerate the docs
(`python -m otchat.shell.docgen`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypedDict, TypeVar, cast

import typer

from ..config.schema import TOP
from ..errors import UsageError
from ..plan import Format as Format
from ..plan import Resume
from ..shell import values

if TYPE_CHECKING:
    from ..config.resolve import Flags


class RequestOptions(TypedDict, total=False):
    """The shared request options as a command receives them (`**request`); REQUEST_OPTIONS
    below declares them to typer, under the same names (checked when this module loads)."""

    model: list[str] | None
    system: str | None
    tool: list[str] | None
    no_tool: list[str] | None
    function: list[Path] | None
    tool_choice: str | None
    file: list[Path] | None
    temperature: float | None
    max_tokens: int | None
    option: list[str] | None
    no_stream: bool
    base_url: str | None
    timeout: float | None
    retries: int | None
    profile: str | None
    role: str | None
    continue_: bool
    cid: str | None
    no_log: bool
    mcp: list[str] | None
    mcp_command: list[str] | None
    no_mcp: bool
    yes: bool
    max_tool_rounds: int | None
    usage: bool
    verbose: bool
    traceback: bool


# Bounds and defaults come from the config schema (checked in `config.resolve`), so a flag and
# its config key can never disagree.
def _default(key: str) -> str:
    return f"[default: {TOP[key].default:g}]"


def _span(key: str) -> str:
    return f"{TOP[key].low:g} to {TOP[key].high:g}"


ModelOpt = Annotated[
    list[str] | None,
    typer.Option("-m", "--model", help="Model id or alias, e.g. anthropic/claude-3.7-sonnet (one-shot: repeat it"
                 " to ask several at once).", autocompletion=values.models),
]

SystemOpt = Annotated[str | None, typer.Option("-s", "--system", help="System prompt.")]
ToolOpt = Annotated[
    list[str] | None,
    typer.Option("-t", "--tool", metavar="REF", help="Hosted MCP tool from the OpenTools registry (repeatable).",
                 autocompletion=values.tools),
]
NoToolOpt = Annotated[
    list[str] | None,
    typer.Option("--no-tool", metavar="REF", help="Leave out a tool that config, profile or role adds (repeatable).",
                 autocompletion=values.tools),
]
FunctionOpt = Annotated[
    list[Path] | None,
    typer.Option("--function", metavar="FILE", help="JSON function definition to declare as a tool (repeatable)."),
]
ToolChoiceOpt = Annotated[
    str | None, typer.Option("--tool-choice", metavar="auto|none|required|NAME", help="How the model may use tools.")
]
FileOpt = Annotated[
    list[Path] | None,
    typer.Option("-f", "--file", metavar="PATH", help="Add a text file to the message (- reads stdin; repeatable)."),
]
TemperatureOpt = Annotated[
    float | None,
    typer.Option("--temperature",
                 help=f"Sampling temperature, {_span('temperature')}."),
]
MaxTokensOpt = Annotated[int | None, typer.Option("--max-tokens", help="Longest reply, in tokens.")]
OptionOpt = Annotated[
    list[str] | None,
    typer.Option("-o", "--option", metavar="KEY=VALUE", help="Extra request body field; VALUE is JSON if it parses."),
]
NoStreamOpt = Annotated[bool, typer.Option("--no-stream", help="Ask for the whole reply at once.")]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option("--base-url", metavar="URL", help=f"API base URL [default: {TOP['base_url'].default}]."),
]
TimeoutOpt = Annotated[
    float | None, typer.Option("--timeout", metavar="SECONDS", help=f"Read timeout {_default('timeout')}.")
]
ProfileOpt = Annotated[
    str | None,
    typer.Option("--profile", metavar="NAME", help="Use [profiles.NAME] from config.toml.",
                 autocompletion=values.profiles),
]
RoleOpt = Annotated[
    str | None,
    typer.Option("--role", metavar="NAME", help="Use [roles.NAME] from config.toml.", autocompletion=values.roles),
]
ContinueOpt = Annotated[bool, typer.Option("-c", "--continue", help="Continue the most recent conversation.")]
CidOpt = Annotated[
    str | None,
    typer.Option("--cid", metavar="ID", help="Continue conversation ID (a unique prefix is enough).",
                 autocompletion=values.history_ids),
]
NoLogOpt = Annotated[bool, typer.Option("--no-log", help="Do not keep this conversation in history.db.")]
McpOpt = Annotated[
    list[str] | None,
    typer.Option("--mcp", metavar="NAME", help="Use configured MCP server NAME for this run (repeatable)."),
]
McpCommandOpt = Annotated[
    list[str] | None,
    typer.Option("--mcp-command", metavar="[NAME=]CMD ARGS", help="Run a local stdio MCP server (repeatable)."),
]
NoMcpOpt = Annotated[
    bool, typer.Option("--no-mcp", help="Start none of the MCP servers config.toml enables, for this run.")
]
YesOpt = Annotated[bool, typer.Option("-y", "--yes", help="Run local MCP tools without asking.")]
MaxRoundsOpt = Annotated[
    int | None,
    typer.Option("--max-tool-rounds", metavar="N",
                 help=f"Tool rounds per message, {_span('max_tool_rounds')} {_default('max_tool_rounds')}."),
]
RetriesOpt = Annotated[
    int | None,
    typer.Option("--retries", metavar="N",
                 help=f"Retries before a reply begins, {_span('retries')} {_default('retries')}."),
]
UsageOpt = Annotated[bool, typer.Option("-u", "--usage", help="Print token usage (stderr when piped).")]
VerboseOpt = Annotated[bool, typer.Option("-v", "--verbose", help="Show the HTTP exchange on stderr.")]
TRACEBACK = "otchat.traceback"  # the key in ctx.meta that the error boundary reads


def _traceback(ctx: typer.Context, value: bool) -> bool:
    if value:
        ctx.meta[TRACEBACK] = True
    return value


TracebackOpt = Annotated[
    bool, typer.Option("--traceback", callback=_traceback, help="Show a traceback on unexpected errors.")
]


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"otchat {__version__}")
        raise typer.Exit()


VersionOpt = Annotated[
    bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
]


def _shared(name: str, annotation: object, default: object) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


# The request options (what one request is made of), in the order --help lists them. One-shot and `chat`
# both take exactly these, by construction (`with_request_options`); tests/test_cli.py checks it.
REQUEST_OPTIONS: tuple[inspect.Parameter, ...] = (
    _shared("model", ModelOpt, None),
    _shared("system", SystemOpt, None),
    _shared("tool", ToolOpt, None),
    _shared("no_tool", NoToolOpt, None),
    _shared("function", FunctionOpt, None),
    _shared("tool_choice", ToolChoiceOpt, None),
    _shared("file", FileOpt, None),
    _shared("temperature", TemperatureOpt, None),
    _shared("max_tokens", MaxTokensOpt, None),
    _shared("option", OptionOpt, None),
    _shared("no_stream", NoStreamOpt, False),
    _shared("base_url", BaseUrlOpt, None),
    _shared("timeout", TimeoutOpt, None),
    _shared("retries", RetriesOpt, None),
    _shared("profile", ProfileOpt, None),
    _shared("role", RoleOpt, None),
    _shared("continue_", ContinueOpt, False),
    _shared("cid", CidOpt, None),
    _shared("no_log", NoLogOpt, False),
    _shared("mcp", McpOpt, None),
    _shared("mcp_command", McpCommandOpt, None),
    _shared("no_mcp", NoMcpOpt, False),
    _shared("yes", YesOpt, False),
    _shared("max_tool_rounds", MaxRoundsOpt, None),
    _shared("usage", UsageOpt, False),
    _shared("verbose", VerboseOpt, False),
    _shared("traceback", TracebackOpt, False),
)

if set(RequestOptions.__annotations__) != {p.name for p in REQUEST_OPTIONS}:
    raise TypeError("RequestOptions and REQUEST_OPTIONS name different options")

F = TypeVar("F", bound=Callable[..., Any])


def with_request_options(command: F, *, without: tuple[str, ...] = ()) -> F:
    """Declare REQUEST_OPTIONS (less those named in `without`) on a command function that
    takes them as `**request`; `flags_from` fills in the defaults of those left out.

    Typer reads a command's options from its signature; this one lists the command's
    arguments, then the shared options, then the command's own keyword-only options.
    """
    shared = [p for p in REQUEST_OPTIONS if p.name not in without]
    signature = inspect.signature(command, eval_str=True)
    params = list(signature.parameters.values())
    if not params or params[-1].kind is not inspect.Parameter.VAR_KEYWORD:
        raise TypeError(f"{command.__name__} must take the request options as **kwargs")
    own = params[:-1]
    split = next((i for i, p in enumerate(own) if p.kind is inspect.Parameter.KEYWORD_ONLY), len(own))
    command.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*own[:split], *shared, *own[split:]])
    return command


def request_options_without(*names: str) -> Callable[[F], F]:
    """`with_request_options` for a command that leaves some of them out (`otchat cmd`)."""
    unknown = set(names) - {p.name for p in REQUEST_OPTIONS}
    if unknown:
        raise TypeError(f"not request options: {sorted(unknown)}")
    return lambda command: with_request_options(command, without=names)


def flags_from(given: RequestOptions, also: list[str] | None = None) -> Flags:
    """The Flags that the shared request options ask for (REQUEST_OPTIONS, by name); `also`:
    more model names (`--models a,b`) after those of `-m`."""
    from ..config.resolve import Flags
    from ..plan import MAX_MODELS, MODELS_LIMIT
    from .inputs import load_functions, parse_options

    defaults = cast(RequestOptions, {option.name: option.default for option in REQUEST_OPTIONS})
    p: RequestOptions = {**defaults, **given}  # those a command left out take their defaults
    names = [*(p["model"] or []), *(also or [])]
    if len(names) > MAX_MODELS:
        raise UsageError(f"{len(names)} models named; a comparison asks {MODELS_LIMIT}")
    return Flags(
        model=names[0] if names else None,
        models=names if len(names) > 1 else [],
        system=p["system"],
        tools=list(p["tool"] or []),
        no_tools=list(p["no_tool"] or []),
        functions=load_functions([Path(name) for name in p["function"] or []]),
        tool_choice=p["tool_choice"],
        temperature=p["temperature"],
        max_tokens=p["max_tokens"],
        options=parse_options(p["option"] or []),
        stream=not p["no_stream"],
        base_url=p["base_url"],
        timeout=p["timeout"],
        retries=p["retries"],
        profile=p["profile"],
        role=p["role"],
        no_log=p["no_log"],
        mcp=list(p["mcp"] or []),
        mcp_commands=list(p["mcp_command"] or []),
        no_mcp=p["no_mcp"],
        yes=p["yes"],
        max_tool_rounds=p["max_tool_rounds"],
    )


def split_models(text: str | None) -> list[str]:
    """`--models a,b,c`: the names, in order (blanks between commas are left out)."""
    if text is None:
        return []
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UsageError("--models names no model", hint="try: --models openai/gpt-4o,anthropic/claude-3.7-sonnet")
    return names


def files_from(p: RequestOptions) -> list[Path]:
    """The -f files, checked before anything is read: a URL is refused (otchat fetches nothing), `-` given once."""
    from .inputs import STDIN

    files = list(p.get("file") or [])
    for path in files:
        # the Path has already folded the URL's `//` into `/`
        scheme, sep, rest = str(path).partition(":/")
        if sep and scheme.lower() in ("http", "https"):
            url = f"{scheme}://{rest}"
            raise UsageError(f"-f takes a local file, not a URL: {url}",
                             hint=f'download it: curl -sL {url} | otchat -f - "your question"')
    if files.count(STDIN) > 1:
        raise UsageError("-f - is given twice; stdin can be read once")
    return files


def resume_from(p: RequestOptions) -> Resume | None:
    """What -c / --cid ask to continue (None: a new conversation)."""
    if not (p.get("continue_") or p.get("cid")):
        return None
    return Resume(p.get("cid"))
