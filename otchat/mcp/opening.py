"""A local MCP server's transport and session: stdio (its stderr kept in a temporary file) or
streamable HTTP (on otchat's own HTTP client), with otchat's session callbacks."""

from __future__ import annotations

import re
import tempfile
from typing import IO, TYPE_CHECKING

from ..errors import UsageError
from .callbacks import Callbacks, declining_session
from .specs import ServerSpec

if TYPE_CHECKING:
    from contextlib import AsyncExitStack

    from mcp import ClientSession


def expand(value: str, environ: dict[str, str]) -> str:
    """`${VAR}` in header values, from the environment (an unset variable is an error)."""
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise UsageError(f"an MCP header uses ${{{name}}}, which is not set")
        return environ[name]

    return re.sub(r"\$\{(\w+)\}", sub, value)


async def open_session(spec: ServerSpec, stack: AsyncExitStack, environ: dict[str, str],
                       errlogs: dict[str, IO[str]], calls: Callbacks, *, logs: bool = False) -> ClientSession:
    """The server's transport and session, entered into `stack`, which closes them all (the HTTP
    client of a remote server too); a stdio server's stderr log goes into `errlogs`. With `logs`,
    each request asks a 2026-07-28 server for its log lines (logging is opt-in per request there)."""
    from mcp import StdioServerParameters, stdio_client

    if spec.url:
        from mcp.client.streamable_http import streamable_http_client

        from ..wire.clients import mcp_http_client

        headers = {k: expand(v, environ) for k, v in spec.headers.items()}
        client = await stack.enter_async_context(mcp_http_client(headers, spec.timeout))
        read, write = await stack.enter_async_context(streamable_http_client(spec.url, http_client=client))
    elif spec.command:
        errlog = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        errlogs[spec.name] = errlog
        params = StdioServerParameters(command=spec.command, args=spec.args, env=spec.env or None, cwd=spec.cwd)
        read, write = await stack.enter_async_context(stdio_client(params, errlog=errlog))
    else:
        raise UsageError(f"MCP server {spec.name!r} has neither command nor url")
    from mcp.types import Implementation

    from .. import __version__

    session = declining_session()(read, write, elicitation_callback=calls.elicit, logging_callback=calls.log,
                                  message_handler=calls.message,
                                  client_info=Implementation(name="otchat", version=__version__),
                                  log_level="debug" if logs else None)
    return await stack.enter_async_context(session)
