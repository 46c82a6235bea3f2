"""@modelcontextprotocol/server-everything from npm, the MCP server with every feature (tools with
annotations, images, structured content, resources and templates, prompts, completions, logging,
progress, elicitation), installed once into the tests' cache (never into the repo), locked so two
test runs at once never install it twice. Node and npm are on the machine; npm reaches its registry."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

PACKAGE = "@modelcontextprotocol/server-everything@2026.8.31"
CACHE = Path(os.environ.get("OTCHAT_TEST_CACHE", Path.home() / ".cache" / "otchat-tests"))
PREFIX = CACHE / "server-everything-2026.8.31"


def install() -> Path:
    """The server's entry script (run with `node SCRIPT stdio`); skips the test without node or npm."""
    import fcntl

    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for server-everything")
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "server-everything.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (PREFIX / ".installed").exists():
            subprocess.run([npm, "install", "--prefix", str(PREFIX), "--no-audit", "--no-fund", "--silent", PACKAGE],
                           check=True, timeout=600, capture_output=True)
            (PREFIX / ".installed").write_text(PACKAGE)
    package = PREFIX / "node_modules" / "@modelcontextprotocol" / "server-everything"
    import json

    entry = json.loads((package / "package.json").read_text())["bin"]
    script = entry if isinstance(entry, str) else next(iter(entry.values()))
    return package / script


def command() -> str:
    """An --mcp-command for it: `everything=node SCRIPT stdio`."""
    node = shutil.which("node")
    return f"everything={node} {install()} stdio"
