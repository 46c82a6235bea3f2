"""A small stdio MCP server for otchat's error-case tests: run `python tests/mcp_testserver.py`.

Tools: echo (asks for approval), fail (an error result), slow (sleeps), crash (the
process dies mid-call), and a read-only `peek`.
"""

import os
import sys
import time

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("otchat-test")


@server.tool(description="Echo the text back.")
def echo(text: str) -> str:
    return f"echo: {text}"


@server.tool(description="Always fails.")
def fail(reason: str = "on purpose") -> str:
    raise ValueError(f"failed {reason}")


@server.tool(description="Sleep, then answer.")
def slow(seconds: float = 30.0) -> str:
    time.sleep(seconds)
    return f"slept {seconds}"


@server.tool(description="Exit the server process in the middle of a call.")
def crash() -> str:
    os._exit(3)


@server.tool(description="Read-only: report the process id.", annotations=ToolAnnotations(read_only_hint=True))
def peek() -> str:
    return f"pid {os.getpid()}"


@server.tool(description="The server's clock (time.time()) as it answers: the benchmark's tool result.",
             annotations=ToolAnnotations(read_only_hint=True))
def now() -> str:
    return f"sent at {time.time():.6f}"


@server.tool(description="Destructive, by its own word: wipe everything.",
             annotations=ToolAnnotations(destructive_hint=True, read_only_hint=False))
def wipe() -> str:
    return "wiped"


if __name__ == "__main__":
    if "--fail-to-start" in sys.argv:
        print("fatal: cannot open the notes database", file=sys.stderr, flush=True)
        sys.exit(2)
    if "--http" in sys.argv:  # streamable HTTP on 127.0.0.1:PORT/mcp
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[sys.argv.index("--http") + 1]))
    else:
        server.run()
