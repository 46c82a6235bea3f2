"""The commands besides one-shot and chat: config, auth, history, mcp, models, completion.

Each body runs inside `cli.guarded`; the work lives in the modules they import lazily.
"""

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..shell import complete
from ..app import CommandGroup, _env, app, guarded
from ..env import Env
from .options import BaseUrlOpt, McpCommandOpt, ProfileOpt


def _group(help: str) -> typer.Typer:
    return typer.Typer(cls=CommandGroup, help=help, no_args_is_help=True, add_completion=False, rich_markup_mode=None)


config_app = _group("Show and change config.toml.")
auth_app = _group("Store, check or remove the API key.")
history_app = _group("List, search, show, export or remove past conversations.")
mcp_app = _group("Local MCP servers: list them, their tools, check them.")
app.add_typer(config_app, name="config")
app.add_typer(auth_app, name="auth")
app.add_typer(history_app, name="history")
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
    from . import mcp as mcpcmd

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
    yes: Annotated[bool, typer.Option("-y", "--yes", help="Overwrite FILE without asking.")] = False,
) -> None:
    """Write one conversation as markdown or JSON (asks before replacing FILE on a terminal)."""
    env = _env(ctx)
    guarded(env, lambda: _history().export_cmd(env, cid, format.value, output, yes, lambda q: _ask(env, q)))


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
def config_list(ctx: typer.Context, profile: ProfileOpt = None) -> None:
    """Print every setting as KEY = VALUE  # where it comes from (secrets masked)."""
    env = _env(ctx)
    guarded(env, lambda: _manage().config_list(env, profile))


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
    from ..config.resolve import Flags

    env = _env(ctx)

    def body() -> int:
        from .models import list_models

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
    from ..shell.docgen import completion_script

    env = _env(ctx)
    env.stdout.write(completion_script(shell.value))


def _manage():
    from . import config as manage

    return manage


def _ask(env: Env, prompt: str) -> str:
    env.stderr.write(prompt)
    env.stderr.flush()
    line = env.stdin.readline() if env.stdin is not None else b""
    return line.decode("utf-8", "replace") if isinstance(line, bytes) else line
