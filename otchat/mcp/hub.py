"""Local MCP servers behind a small synchronous facade.

The `mcp` SDK is asynchronous and otchat is not: every server session lives on one
background event-loop thread; `Hub` methods block the caller until the loop answers.
The SDK is imported only here, and only when a server is used.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, TypeVar

from ..errors import UsageError
from ..seams import JSON, JSONObject
from .failures import describe_failure, stderr_tail
from .specs import ServerSpec

if TYPE_CHECKING:
    from contextlib import AsyncExitStack

    from mcp import ClientSession
    from mcp.types import CallToolResult, Tool

T = TypeVar("T")
START_TIMEOUT = 20.0
MAX_NAME = 64
INSTALL_HINT = "install it with: pip install 'otchat[mcp]'"


@dataclass
class LocalTool:
    server: str
    name: str  # the server's own name for it
    function: str  # the name sent to the model: server__tool, sanitised and unique
    description: str
    schema: dict[str, Any]
    read_only: bool = False  # the server's own readOnlyHint: what it says of itself
    trusted: bool = False  # its server's config entry says `trust = true`
    # Its destructiveHint and openWorldHint, when the server gives them (true). The spec's
    # defaults (both true unless read-only) are not taken: "destructive" asks even under --yes,
    # which would then be every tool of a server that annotates nothing.
    destructive: bool = False
    open_world: bool = False
    output_schema: dict[str, Any] | None = None  # what its structured content must match

    @property
    def hints(self) -> list[str]:
        """What the server says of the tool, in words (shown by the approval and `mcp tools`)."""
        said = [("read-only", self.read_only), ("destructive", self.destructive), ("open-world", self.open_world)]
        return [word for word, given in said if given]

    @property
    def trusted_read_only(self) -> bool:
        """Whether a call may run unasked: read-only by its server's word, and the config trusts that word."""
        return self.read_only and self.trusted

    def to_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.function, "description": self.description, "parameters": self.schema},
        }


@dataclass
class ToolOutcome:
    text: str  # what the model receives
    is_error: bool = False
    items: list[JSONObject] = field(default_factory=list)  # the content by type (mcp/results.py)
    images: list[JSONObject] = field(default_factory=list, repr=False)  # image parts for the model (content_parts)


def _schema(value: object) -> dict[str, Any] | None:
    return value if isinstance(value, dict) and value else None


def expand(value: str, environ: dict[str, str]) -> str:
    """`${VAR}` in header values, from the environment (an unset variable is an error)."""
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise UsageError(f"an MCP header uses ${{{name}}}, which is not set")
        return environ[name]

    return re.sub(r"\$\{(\w+)\}", sub, value)


def function_name(server: str, tool: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]", "_", f"{server}__{tool}")[:MAX_NAME]
    name, n = base, 2
    while name in taken:
        suffix = f"_{n}"
        name, n = base[: MAX_NAME - len(suffix)] + suffix, n + 1
    taken.add(name)
    return name


def fix_schema(schema: JSON) -> JSONObject:
    """Pass the tool's JSON schema through, fixing only what chat APIs reject."""
    if not isinstance(schema, dict):
        return {"type": "object", "properties": {}}
    fixed: JSONObject = dict(schema)
    if fixed.get("type") != "object":
        fixed["type"] = "object"
    if not isinstance(fixed.get("properties"), dict):
        fixed["properties"] = {}
    return fixed


class Hub:
    """The running servers. Start once, call tools from the main thread, close at exit."""

    def __init__(self, specs: list[ServerSpec], environ: dict[str, str], *, start_timeout: float = START_TIMEOUT,
                 content_parts: bool = False):
        self.specs = specs
        self.content_parts = content_parts  # a result's images go to the model as image parts
        self.environ = dict(environ)
        self.start_timeout = start_timeout
        self.tools: list[LocalTool] = []
        self.failures: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self._sessions: dict[str, ClientSession] = {}
        self._by_function: dict[str, LocalTool] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closing: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._errlogs: dict[str, IO[str]] = {}

    # Lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start every server in parallel; those that fail are listed in `failures`."""
        try:
            import mcp  # noqa: F401
        except ImportError:
            raise UsageError(f"local MCP servers need the mcp package; {INSTALL_HINT}") from None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="otchat-mcp", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._make_closing(), self._loop).result()
        pending = {}
        for spec in self.specs:
            pending[spec.name] = asyncio.run_coroutine_threadsafe(self._launch(spec), self._loop)
        deadline = time.monotonic() + self.start_timeout
        taken: set[str] = set()
        for spec in self.specs:
            future = pending[spec.name]
            try:
                session, tools, elapsed = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except Exception as exc:  # noqa: BLE001 - any failure is reported, the run goes on
                future.cancel()
                self.failures[spec.name] = describe_failure(spec, exc, timeout=self.start_timeout,
                                                           tail=self.stderr_tail(spec.name))
                continue
            self._sessions[spec.name] = session
            self.timings[spec.name] = elapsed
            for tool in tools:
                annotations = getattr(tool, "annotations", None)
                local = LocalTool(
                    server=spec.name,
                    name=tool.name,
                    function=function_name(spec.name, tool.name, taken),
                    description=(tool.description or "")[:1024],
                    schema=fix_schema(getattr(tool, "input_schema", None)),
                    read_only=getattr(annotations, "read_only_hint", None) is True,
                    trusted=spec.trust,
                    destructive=getattr(annotations, "destructive_hint", None) is True,
                    open_world=getattr(annotations, "open_world_hint", None) is True,
                    output_schema=_schema(getattr(tool, "output_schema", None)),
                )
                self.tools.append(local)
                self._by_function[local.function] = local

    async def _make_closing(self) -> None:
        self._closing = asyncio.Event()

    async def _launch(self, spec: ServerSpec) -> tuple[ClientSession, list[Tool], float]:
        """Start one server in a task of its own, which holds its contexts open until close."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[tuple[ClientSession, list[Tool], float]] = loop.create_future()
        task = loop.create_task(self._serve(spec, ready))
        self._tasks.append(task)
        return await ready

    async def _serve(self, spec: ServerSpec, ready: asyncio.Future[tuple[ClientSession, list[Tool], float]]) -> None:
        from contextlib import AsyncExitStack

        start = time.monotonic()
        try:
            async with AsyncExitStack() as stack:
                session = await self._open(spec, stack)
                await session.initialize()
                listed = await session.list_tools()
                ready.set_result((session, list(listed.tools), time.monotonic() - start))
                assert self._closing is not None
                await self._closing.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise

    async def _open(self, spec: ServerSpec, stack: AsyncExitStack) -> ClientSession:
        """The server's transport and session, entered into `stack`, which closes them all
        (the HTTP client of a remote server too)."""
        from mcp import ClientSession, StdioServerParameters, stdio_client

        if spec.url:
            from mcp.client.streamable_http import streamable_http_client

            from ..wire.clients import mcp_http_client

            headers = {k: expand(v, self.environ) for k, v in spec.headers.items()}
            client = await stack.enter_async_context(mcp_http_client(headers, spec.timeout))
            read, write = await stack.enter_async_context(streamable_http_client(spec.url, http_client=client))
        elif spec.command:
            errlog = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
            self._errlogs[spec.name] = errlog
            params = StdioServerParameters(command=spec.command, args=spec.args, env=spec.env or None, cwd=spec.cwd)
            read, write = await stack.enter_async_context(stdio_client(params, errlog=errlog))
        else:
            raise UsageError(f"MCP server {spec.name!r} has neither command nor url")
        return await stack.enter_async_context(ClientSession(read, write))

    def stderr_tail(self, name: str, lines: int = 3) -> str:
        """The last lines of what server `name` wrote on stderr ("" for one not run on stdio)."""
        return stderr_tail(self._errlogs.get(name), lines)

    def close(self) -> None:
        """Shut every server down (their processes end with their stdio sessions)."""
        loop = self._loop
        if loop is None:
            return
        if self._closing is not None:
            loop.call_soon_threadsafe(self._closing.set)

        async def wait_all() -> None:
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=5)
                for task in self._tasks:
                    task.cancel()

        try:
            asyncio.run_coroutine_threadsafe(wait_all(), loop).result(timeout=10)
        except Exception:  # noqa: BLE001 - closing must not fail the run
            pass
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if not loop.is_running():
            loop.close()  # its selector and self-pipe: a caller that lives on (a test, the REPL) keeps no sockets
        self._loop = None
        for errlog in self._errlogs.values():
            errlog.close()

    # Requests ------------------------------------------------------------------------------

    def servers(self) -> list[str]:
        """The servers that started, in the order they are configured."""
        return [spec.name for spec in self.specs if spec.name in self._sessions]

    def ask(self, server: str, request: Callable[[ClientSession], Awaitable[T]], timeout: float | None = None) -> T:
        """Run `request(session)` for server `server` on the loop and wait for its answer (raised
        as it failed; a timeout as TimeoutError). Ctrl-C cancels it (the server keeps running)."""
        session = self._sessions[server]
        assert self._loop is not None

        async def go() -> T:
            return await asyncio.wait_for(request(session), timeout)

        future = asyncio.run_coroutine_threadsafe(go(), self._loop)
        try:
            return future.result()
        except BaseException as exc:
            if not isinstance(exc, Exception):  # Ctrl-C, SIGTERM: cancel the request, keep the server
                future.cancel()
            raise

    # Tools -------------------------------------------------------------------------------

    def function_tools(self) -> list[dict[str, Any]]:
        return [tool.to_openai() for tool in self.tools]

    def tool(self, function: str) -> LocalTool | None:
        return self._by_function.get(function)

    def call(self, function: str, arguments: JSON) -> ToolOutcome:
        """Run one tool call; errors come back as the tool's result, never as exceptions.

        Ctrl-C cancels the call (the server keeps running) and re-raises.
        """
        tool = self._by_function[function]
        if not isinstance(arguments, dict):
            return ToolOutcome("the arguments must be a JSON object", is_error=True)
        spec = next(s for s in self.specs if s.name == tool.server)
        result: CallToolResult | Exception
        try:
            result = self.ask(tool.server, lambda session: session.call_tool(tool.name, arguments), spec.timeout)
        except Exception as exc:  # noqa: BLE001 (the tool's failure is its result)
            result = exc
        if isinstance(result, (TimeoutError, asyncio.TimeoutError)):
            return ToolOutcome(f"the tool did not answer within {spec.timeout:g} s", is_error=True)
        if isinstance(result, Exception):  # JSON-RPC errors, a crashed server…
            why = " ".join(str(result).split()) or type(result).__name__
            return ToolOutcome(f"the tool failed: {why}", is_error=True)
        from .results import outcome

        return ToolOutcome(*outcome(result, tool.output_schema, parts=self.content_parts))
