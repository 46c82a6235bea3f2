"""Local MCP server specs: from config.toml's [mcp.servers.NAME] tables and --mcp-command strings.

Config resolution reads these without starting anything (the hub, and the SDK, load only to run one).
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError

CALL_TIMEOUT = 60.0


@dataclass
class ServerSpec:
    name: str
    command: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = CALL_TIMEOUT
    enabled: bool = True
    trust: bool = False  # the config says its read-only hints may be believed (a hint alone is no trust)


def parse_command(text: str) -> ServerSpec:
    """`--mcp-command '[NAME=]CMD ARGS'`: the name defaults to the executable's, minus mcp-server-."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"--mcp-command {text!r}: {exc}") from None
    if not words:
        raise UsageError("--mcp-command needs a command")
    name = None
    first = words[0]
    if "=" in first and not first.startswith(("/", ".")) and re.match(r"^[\w.-]+=", first):
        name, _, words[0] = first.partition("=")
        if not words[0]:
            words = words[1:]
    if not words:
        raise UsageError(f"--mcp-command {text!r} names no command")
    if name is None:
        name = os.path.basename(words[0]).removesuffix(".py")
        name = name.removeprefix("mcp-server-") or name
    return ServerSpec(name=name, command=words[0], args=words[1:])


def specs_from_config(servers: dict[str, Any]) -> list[ServerSpec]:
    specs = []
    for name, table in servers.items():
        specs.append(ServerSpec(
            name=name,
            command=table.get("command"),
            args=list(table.get("args", [])),
            env=dict(table.get("env", {})),
            cwd=table.get("cwd"),
            url=table.get("url"),
            headers=dict(table.get("headers", {})),
            timeout=float(table.get("timeout", CALL_TIMEOUT)),
            enabled=bool(table.get("enabled", True)),
            trust=table.get("trust", False) is True,
        ))
    return specs
