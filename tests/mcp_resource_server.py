"""A small stdio MCP server whose resources say hostile things: `python tests/mcp_resource_server.py`.

Resources: `hostile://title`, text with terminal control sequences (a window title, a screen
clear), named with an escape too; `hostile://fence`, text holding a code fence of its own.
"""

from mcp.server.mcpserver import MCPServer

server = MCPServer("otchat-resources")
HOSTILE = "before \x1b]0;pwned\x07\x1b[2J after"


@server.resource("hostile://title", name="title\x1b[31m", mime_type="text/plain")
def title() -> str:
    return HOSTILE


@server.resource("hostile://fence", name="fence", mime_type="text/markdown")
def fence() -> str:
    return "text\n```\nnot the end\n```\nstill the resource"


if __name__ == "__main__":
    server.run()
