"""Which MCP servers an `otchat mcp` command works with: the configured ones and those of
--mcp-command, or only the one it names."""

from __future__ import annotations

from ..config.resolve import config_path, load_file
from ..env import Env
from ..errors import UsageError
from ..mcp.specs import ServerSpec, parse_command, specs_from_config


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
