"""Which MCP servers an `otchat mcp` command works with: the configured ones and those of
--mcp-command, or only the one it names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config.resolve import config_path, load_file
from ..env import Env
from ..errors import ExitCode, UsageError
from ..mcp.specs import ServerSpec, parse_command, specs_from_config

if TYPE_CHECKING:
    from ..mcp.hub import Hub


def server_specs(env: Env, name: str | None, commands: list[str]) -> list[ServerSpec]:
    """The configured servers and those of --mcp-command (only `name`'s, when given)."""
    file = load_file(config_path(env.config_dir), warn=env.warn)
    specs = specs_from_config(file.get("mcp", {}).get("servers", {})) + [parse_command(c) for c in commands]
    if name is None:
        return specs
    chosen = [spec for spec in specs if spec.name == name][:1]
    if not chosen:
        known = ", ".join(spec.name for spec in specs) or "none configured"
        raise UsageError(f"no MCP server {name!r}; servers: {known}")
    return chosen


def started(env: Env, specs: list[ServerSpec]) -> Hub:
    """A hub of `specs`, started (those that fail are in its `failures`); the caller closes it."""
    if not specs:
        raise UsageError("no MCP servers configured", hint="add [mcp.servers.NAME] or pass --mcp-command")
    from ..mcp.hub import Hub

    hub = Hub(specs, dict(env.environ))
    try:
        hub.start()
    except BaseException:
        hub.close()
        raise
    return hub


def reported(env: Env, hub: Hub) -> int:
    """Say which servers did not start; the exit code that earns."""
    for server, why in hub.failures.items():
        env.error(f"MCP server {server} did not start: {why}")
    return ExitCode.UNEXPECTED if hub.failures else ExitCode.OK
