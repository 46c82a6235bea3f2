"""A session's side of what a server sends unasked: requests (an elicitation answered through the
front; sampling and roots declined), log lines, progress, changed lists. The SDK calls these on
the hub's loop thread; whatever shows or asks goes to the main thread through a `Pump`, which
runs it only while that thread waits for a server (never in the middle of a streaming answer)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..seams import Answer, Elicitation, McpUi
from ..text import clip

if TYPE_CHECKING:
    import mcp.types as types
    from mcp import ClientSession
    from mcp.client.session import ClientRequestContext, IncomingMessage
    from mcp.shared.dispatcher import ProgressFnT

T = TypeVar("T")
DECLINED = ("otchat does not take {what} requests from MCP servers"
            " ({what} is deprecated in the 2026-07-28 protocol); the request is declined")
LISTS = {"ToolListChangedNotification": "tools", "ResourceListChangedNotification": "resources",
         "PromptListChangedNotification": "prompts"}


class Pump:
    """Jobs for the main thread, run while it waits in `wait` (or `drain`s them before a turn)."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()

    def post(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def wait(self, future: concurrent.futures.Future[T], timeout: float | None = None) -> T:
        """The future's result, running the jobs that come meanwhile (Ctrl-C raises out of it).
        TimeoutError after `timeout` seconds, not counting the time the jobs took (a form)."""
        future.add_done_callback(lambda _: self._jobs.put(None))
        deadline = None if timeout is None else time.monotonic() + timeout
        while not future.done():
            try:
                job = self._jobs.get(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError from None
            if job is not None:
                began = time.monotonic()
                job()
                if deadline is not None:
                    deadline += time.monotonic() - began
        self.drain()
        return future.result()

    def drain(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                job()


async def on_main(pump: Pump, job: Callable[[], T], interrupted: T) -> T:
    """`job()` run on the main thread, awaited here. A Ctrl-C in it answers `interrupted` here and
    goes on up the main thread (which cancels the request it waited for)."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[T] = loop.create_future()

    def run() -> None:
        def settle(value: T) -> None:
            if not answer.done():
                answer.set_result(value)
        try:
            value = job()
        except BaseException:
            loop.call_soon_threadsafe(settle, interrupted)
            raise
        loop.call_soon_threadsafe(settle, value)

    pump.post(run)
    return await answer


def elicitation(server: str, params: types.ElicitRequestParams) -> Elicitation:
    import mcp.types as types

    if isinstance(params, types.ElicitRequestURLParams):
        return Elicitation(server, params.message, "url", url=params.url)
    return Elicitation(server, params.message, "form", schema=dict(params.requested_schema))


class Callbacks:
    """One server's session callbacks. `stale` collects the lists the server said changed."""

    def __init__(self, server: str, pump: Pump, ui: Callable[[], McpUi], stale: set[tuple[str, str]]) -> None:
        self.server, self.pump, self.ui, self.stale = server, pump, ui, stale

    async def elicit(self, context: ClientRequestContext, params: types.ElicitRequestParams
                     ) -> types.ElicitResult | types.ErrorData:
        import mcp.types as types

        request = elicitation(self.server, params)
        answer = await on_main(self.pump, lambda: self.ui().elicit(request), Answer("cancel"))
        content = answer.content if answer.action == "accept" else None
        return types.ElicitResult(action=answer.action, content=content)

    async def log(self, params: types.LoggingMessageNotificationParams) -> None:
        data = params.data
        text = data if isinstance(data, str) else _json(data)
        where = f"{self.server}/{params.logger}" if params.logger else self.server
        self.pump.post(lambda: self.ui().log(where, str(params.level), clip(text, 2000)))

    async def message(self, message: IncomingMessage) -> None:
        kind = LISTS.get(type(message).__name__)
        if kind is not None:  # noted on the main thread, which reads `stale` once it has run its jobs
            self.pump.post(lambda: self.stale.add((self.server, kind)))

    def progress(self, function: str) -> ProgressFnT:
        async def shown(progress: float, total: float | None, message: str | None) -> None:
            self.pump.post(lambda: self.ui().progress(function, progress, total, message))

        return shown


def _json(data: object) -> str:
    import json

    try:
        return json.dumps(data, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(data)


def declining_session() -> type[ClientSession]:
    """A ClientSession that declines sampling and roots with a clear error (and, their callbacks
    left unset, declares neither capability)."""
    import mcp.types as types
    from mcp import ClientSession

    class Session(ClientSession):
        async def dispatch_input_request(self, ctx: ClientRequestContext, request: types.InputRequest
                                         ) -> types.InputResponse | types.ErrorData:
            if isinstance(request, types.CreateMessageRequest):
                return types.ErrorData(code=types.INVALID_REQUEST, message=DECLINED.format(what="sampling"))
            if isinstance(request, types.ListRootsRequest):
                return types.ErrorData(code=types.INVALID_REQUEST, message=DECLINED.format(what="roots"))
            return await super().dispatch_input_request(ctx, request)

    return Session


MAX_ROUNDS = 10  # input_required rounds of one call before otchat gives up (the SDK's default)


async def negotiate(session: ClientSession) -> None:
    """2026-07-28 (`server/discover`) when the server speaks it, else the older handshake."""
    from mcp.shared.exceptions import MCPError

    try:
        await session.discover()
    except (MCPError, RuntimeError):  # an error, or no modern version in common: an older server
        await session.initialize()


async def call_tool(session: ClientSession, name: str, arguments: dict[str, Any],
                    progress: ProgressFnT) -> types.CallToolResult:
    """tools/call; a 2026-07-28 server's `input_required` answered (through the session's own
    callbacks, one request after another: the elicitation form) and the call retried with the
    answers and its state, as often as it asks (MAX_ROUNDS at most)."""
    import mcp.types as types
    from mcp.client.session import ClientRequestContext
    from mcp.shared.exceptions import MCPError

    result = await session.call_tool(name, arguments, progress_callback=progress, allow_input_required=True)
    for _ in range(MAX_ROUNDS):
        if not isinstance(result, types.InputRequiredResult):
            return result
        responses: types.InputResponses = {}
        for key, request in (result.input_requests or {}).items():
            context = ClientRequestContext(session=session, request_id=key)
            answer = await session.dispatch_input_request(context, request)
            if isinstance(answer, types.ErrorData):
                raise MCPError.from_error_data(answer)
            responses[key] = answer
        if not responses:
            await asyncio.sleep(0.1)  # only state: the server is not done yet
        result = await session.call_tool(name, arguments, progress_callback=progress,
                                         input_responses=responses or None, request_state=result.request_state,
                                         allow_input_required=True)
    if isinstance(result, types.InputRequiredResult):
        raise RuntimeError(f"the server still asked for input after {MAX_ROUNDS} rounds")
    return result
