"""Local MCP servers behind a small synchronous facade.

The `mcp` SDK is asynchronous and otchat is not: every server session lives on one
background event-loop thread; `Hub` methods block the caller until the loop answers.
The SDK is imported only here, and only when a server is used.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, TypeVar

from ..errors import UsageError
from ..seams import JSON, JSONObject, McpUi
from .asking import NoUi
from .callbacks import Callbacks, Pump, call_tool, negotiate
from .failures import describe_failure, stderr_tail
from .opening import expand as expand
from .opening import open_session
from .results import outcome
from .specs import ServerSpec

if TYPE_CHECKING:

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
                 content_parts: bool = False, ui: McpUi | None = None, logs: bool = False):
        self.specs = specs
        self.content_parts = content_parts  # a result's images go to the model as image parts
        self.logs = logs  # ask 2026-07-28 servers for their log lines (older ones send them unasked)
        self.ui: McpUi = ui or NoUi()  # progress, log lines, forms: shown on the main thread (`_pump`)
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
        self._listed: dict[str, list[Tool]] = {}  # each server's tools as it last listed them
        self._pump = Pump()
        self._stale: set[tuple[str, str]] = set()  # (server, "tools" | "resources" | "prompts") said changed

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
            self._listed[spec.name] = tools
        self._build()

    def _build(self) -> None:
        self.tools = local_tools(self.specs, self._listed)
        self._by_function = {tool.function: tool for tool in self.tools}

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
                calls = Callbacks(spec.name, self._pump, lambda: self.ui, self._stale)
                session = await open_session(spec, stack, self.environ, self._errlogs, calls, logs=self.logs)
                await negotiate(session)  # 2026-07-28 when the server speaks it, else the handshake
                listed = await session.list_tools()
                ready.set_result((session, list(listed.tools), time.monotonic() - start))
                assert self._closing is not None
                await self._closing.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise

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
        as it failed; a timeout as TimeoutError: the time the user spends answering the server's
        questions meanwhile does not count). Ctrl-C cancels it (the server keeps running)."""
        session = self._sessions[server]
        assert self._loop is not None

        async def go() -> T:
            return await request(session)

        future = asyncio.run_coroutine_threadsafe(go(), self._loop)
        try:
            return self._pump.wait(future, timeout)  # what the server asks meanwhile is shown, asked, answered
        except BaseException as exc:
            if not isinstance(exc, Exception) or isinstance(exc, TimeoutError):  # Ctrl-C, SIGTERM, a timeout
                future.cancel()  # the request is cancelled (the server is told), the server kept
            raise

    # Tools -------------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Before a turn: what the servers said meanwhile is shown, and the tools of a server that
        said its tools changed are listed again (True: they did change). A changed list of
        resources or prompts is only said: they are listed afresh whenever they are used."""
        self._pump.drain()
        stale, changed = sorted(self._stale), False
        self._stale.difference_update(stale)
        for server, kind in (item for item in stale if item[0] in self._sessions):
            if kind != "tools":
                self.ui.note(f"MCP server {server} says its {kind} changed")
                continue
            try:
                listed = self.ask(server, lambda session: session.list_tools(), START_TIMEOUT).tools
            except Exception as exc:  # noqa: BLE001 - the old list stays
                self.ui.note(f"MCP server {server} says its tools changed, but listing them failed: {exc}")
                continue
            if not same_tools(self._listed.get(server, []), listed):  # not a notice that changed nothing
                self._listed[server], changed = list(listed), True
                self.ui.note(f"MCP server {server}'s tools changed: {len(listed)} now")
        if changed:
            self._build()
        return changed

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
        progress = Callbacks(tool.server, self._pump, lambda: self.ui, self._stale).progress(function)
        try:
            result = self.ask(tool.server, lambda session: call_tool(session, tool.name, arguments, progress),
                              spec.timeout)
        except Exception as exc:  # noqa: BLE001 (the tool's failure is its result)
            result = exc
        finally:
            self.ui.progress_end()
        self.ask(tool.server, lambda session: asyncio.sleep(0))  # what came before the answer is shown first
        if isinstance(result, (TimeoutError, asyncio.TimeoutError)):
            return ToolOutcome(f"the tool did not answer within {spec.timeout:g} s", is_error=True)
        if isinstance(result, Exception):  # JSON-RPC errors, a crashed server…
            why = " ".join(str(result).split()) or type(result).__name__
            return ToolOutcome(f"the tool failed: {why}", is_error=True)
        return ToolOutcome(*outcome(result, tool.output_schema, parts=self.content_parts))

def local_tools(specs: list[ServerSpec], listed: dict[str, list[Tool]]) -> list[LocalTool]:
    """The tools each server listed, in the order the servers are configured, named for the model."""
    taken: set[str] = set()
    tools = []
    for spec in specs:
        for tool in listed.get(spec.name, []):
            annotations = getattr(tool, "annotations", None)
            tools.append(LocalTool(
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
            ))
    return tools


def same_tools(before: list[Tool], after: list[Tool]) -> bool:
    return [(t.name, t.input_schema) for t in before] == [(t.name, t.input_schema) for t in after]
