"""`otchat mcp resources [SERVER]`, `otchat mcp read SERVER URI`, and the `@SERVER:URI` mentions
of a one-shot prompt: the bodies (commands/mcp.py declares the commands)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..env import Env
from ..errors import ExitCode, OtchatError, UsageError
from ..mcp import resources
from .mcp_servers import reported, started

if TYPE_CHECKING:
    from ..mcp.specs import ServerSpec
    from ..seams import Tools


def terminal_ask(env: Env) -> resources.Ask | None:
    """How to ask the person at the terminal a line (None in a pipe: nobody to ask)."""
    if not env.stdin_isatty:
        return None
    from ..term.prompts import ask

    return lambda question: ask(env, question)


def resources_cmd(env: Env, specs: list[ServerSpec], as_json: bool) -> int:
    """List each server's resources and templates (the failures on stderr)."""
    hub = started(env, specs)
    try:
        found = [item for server in hub.servers() for item in resources.listing(hub, server)]
        if as_json:
            env.out(json.dumps([_as_json(item) for item in found], indent=2, ensure_ascii=False))
        else:
            for line in resources.table(hub.servers(), found):
                env.out(line)
        return reported(env, hub)
    finally:
        hub.close()


def _as_json(item: resources.Listed) -> dict[str, object]:
    keys = {"server": item.server, "uri" if not item.template else "uri_template": item.uri, "name": item.name,
            "mime_type": item.mime_type, "description": item.description}
    return keys | ({} if item.template else {"size": item.size})


def read_cmd(env: Env, specs: list[ServerSpec], server: str, uri: str, output: Path | None) -> int:
    """Print resource `uri` of `server` (text), or write it to `output`; a blob without `-o` is one line."""
    hub = started(env, specs)
    try:
        if server in hub.failures:
            raise OtchatError(f"MCP server {server} did not start: {hub.failures[server]}")
        uri = resources.fill(uri, terminal_ask(env), uri)
        contents = resources.read(hub, server, uri)
    finally:
        hub.close()
    if output is not None:
        data = b"".join(c.blob if c.blob is not None else (c.text or "").encode("utf-8") for c in contents)
        try:
            output.write_bytes(data)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
        env.stderr.write(f"wrote {resources.size(len(data))} to {output}\n")
        return ExitCode.OK
    for content in contents:
        if content.blob is not None:
            env.out(resources.blob_line(content))
        else:
            text = content.text or ""
            env.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    env.stdout.flush()
    return ExitCode.OK


def prompt_resources(env: Env, tools: Tools | None, prompt: str, limit: int) -> tuple[str, list[tuple[str, str]]]:
    """A one-shot prompt's `@SERVER:URI` mentions read as blocks (see `resources.expand`); a
    template's unfilled variables are asked for on a terminal."""
    return resources.expand(tools, prompt, terminal_ask(env), limit)
