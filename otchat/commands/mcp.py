"""`otchat mcp list | tools [NAME] | doctor`: the local MCP servers, their tools, their health."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..config.resolve import config_path, load_file
from ..env import Env
from ..errors import ExitCode, UsageError
from ..mcp.specs import ServerSpec, specs_from_config
from ..shell import values
from .group import env_of, new_group
from .mcp_servers import reported, server_specs, started
from .options import McpCommandOpt

if TYPE_CHECKING:
    from ..mcp.hub import LocalTool

app = new_group("Local MCP servers: list them, their tools, check them.")


@app.command("list")
def mcp_list(ctx: typer.Context) -> int:
    """The configured servers, whether they are enabled, and whether their read-only hints are trusted."""
    return list_cmd(env_of(ctx))


@app.command("tools")
def mcp_tools(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this server.")] = None,
    mcp_command: McpCommandOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="Print them as the function tools otchat sends.")] = False,
) -> int:
    """Start the servers and list each tool with its description and parameters."""
    return tools_cmd(env_of(ctx), name, list(mcp_command or []), json_)


@app.command("doctor")
def mcp_doctor(ctx: typer.Context, mcp_command: McpCommandOpt = None) -> int:
    """Start each server, list its tools with timing, and say what went wrong."""
    return doctor_cmd(env_of(ctx), list(mcp_command or []))


def _configured(env: Env) -> list[ServerSpec]:
    file = load_file(config_path(env.config_dir), warn=env.warn)
    return specs_from_config(file.get("mcp", {}).get("servers", {}))


def list_cmd(env: Env) -> int:
    specs = _configured(env)
    if not specs:
        env.out("no MCP servers configured ([mcp.servers.NAME] in config.toml, or --mcp-command)")
        return ExitCode.OK
    for spec in specs:
        where = spec.url or " ".join([spec.command or "?", *spec.args])
        trust = "trusted  " if spec.trust else "untrusted"
        env.out(f"{spec.name:<16} {'enabled ' if spec.enabled else 'disabled'}  {trust}  {where}")
    return ExitCode.OK


def tools_cmd(env: Env, name: str | None, commands: list[str], as_json: bool) -> int:
    hub = started(env, server_specs(env, name, commands))
    try:
        if as_json:
            env.out(json.dumps(hub.function_tools(), indent=2, ensure_ascii=False))
        for tool in [] if as_json else hub.tools:
            flag = read_only_note(tool)
            env.out(f"{tool.function}{flag}")
            if tool.description:
                env.out(f"    {' '.join(tool.description.split())}")
            env.out(f"    parameters: {json.dumps(tool.schema.get('properties', {}), ensure_ascii=False)}")
        return reported(env, hub)
    finally:
        hub.close()


def read_only_note(tool: LocalTool) -> str:
    """What the server says of a tool (its hints), and what that means for its calls: a read-only
    hint counts only from a trusted server; a destructive one always asks."""
    if tool.destructive:
        return f" ({', '.join(tool.hints)}: asks every time, unless auto_approve names it)"
    if not tool.read_only:
        return f" ({', '.join(tool.hints)})" if tool.hints else ""
    if tool.trusted:
        return f" ({', '.join(tool.hints)}, trusted server: runs without asking)"
    return f" ({', '.join(tool.hints)}, asks: its server is not trusted)"


def doctor_cmd(env: Env, commands: list[str]) -> int:
    specs = server_specs(env, None, commands)
    if not specs:
        env.out("no MCP servers configured; nothing to check")
        return ExitCode.OK
    try:
        import mcp  # noqa: F401
    except ImportError:
        from ..mcp.hub import INSTALL_HINT

        raise UsageError(f"the mcp package is not installed; {INSTALL_HINT}") from None
    from ..mcp.hub import Hub

    bad = 0
    for spec in specs:
        start = time.monotonic()
        hub = Hub([spec], dict(env.environ))
        try:
            hub.start()
            elapsed = time.monotonic() - start
            if hub.failures:
                bad += 1
                env.out(f"✗ {spec.name}: {hub.failures[spec.name]}")
                continue
            names = ", ".join(tool.name for tool in hub.tools) or "no tools"
            env.out(f"✓ {spec.name}: started and listed {len(hub.tools)} tool(s) in {elapsed:.2f} s: {names}")
        finally:
            hub.close()
    return ExitCode.UNEXPECTED if bad else ExitCode.OK



# Resources (commands/mcp_resources.py has the bodies) ------------------------------------------


@app.command("resources")
def mcp_resources(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this server.", autocompletion=values.mcp_servers)] = None,
    mcp_command: McpCommandOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> int:
    """Start the servers and list their resources (URI, name, type, size) and resource templates."""
    from .mcp_resources import resources_cmd

    env = env_of(ctx)
    return resources_cmd(env, server_specs(env, name, list(mcp_command or [])), json_)


@app.command("read")
def mcp_read(
    ctx: typer.Context,
    server: Annotated[str, typer.Argument(help="The server.", autocompletion=values.mcp_servers)],
    uri: Annotated[str, typer.Argument(help="The resource's URI ({variables} of a template are asked for).",
                                       autocompletion=values.resource_uris)],
    output: Annotated[Path | None, typer.Option("-o", "--output", metavar="FILE",
                                                help="Write the resource to FILE (a blob too).")] = None,
    mcp_command: McpCommandOpt = None,
) -> int:
    """Print one resource of a server: its text on stdout, a blob's type and size (or the blob into -o FILE)."""
    from .mcp_resources import read_cmd

    env = env_of(ctx)
    return read_cmd(env, server_specs(env, server, list(mcp_command or [])), server, uri, output)


# Prompts: `otchat mcp prompts` and `otchat mcp prompt` (commands/mcp_prompts.py).
from . import mcp_prompts  # noqa: E402 - registered after this group's own commands

mcp_prompts.register(app)
