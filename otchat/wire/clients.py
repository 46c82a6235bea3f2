"""The HTTP client otchat hands the MCP SDK for a remote (streamable-http) server: httpx2's
async client, the SDK's own, made here so that `wire/` stays the only importer of the stack.
It says who is asking, as every request of otchat's own does."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import __version__

if TYPE_CHECKING:
    import httpx2


def mcp_http_client(headers: dict[str, str], timeout: float) -> httpx2.AsyncClient:
    """An async client with the server's `headers` (they may replace the User-Agent)."""
    import httpx2

    return httpx2.AsyncClient(headers={"User-Agent": f"otchat/{__version__}", **headers}, timeout=timeout)
