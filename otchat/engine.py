"""run_turn: one request, its events to a sink, and the TurnResult; shared by one-shot and REPL."""

from __future__ import annotations

import time
from typing import Any, Callable, Protocol

from .errors import StreamError
from .models import (
    ChatRequest,
    Event,
    Finish,
    Meta,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolResult,
    TurnResult,
    Usage,
)
from .wire.protocol import ChunkDecoder, ToolCallAccumulator, completion_events
from .wire.thinking import ThinkSplitter


class Sink(Protocol):
    """Where events go (a renderer). It never calls back into the engine.

    `flush` is called whenever everything that arrived has been handed over; a sink with
    a `frame` (seconds) asks for network reads no closer together than that.
    """

    def handle(self, event: Event) -> None: ...

    def flush(self) -> None: ...


class Tools(Protocol):
    """Local tools (an mcphub.Hub): look one up by its function name, call it."""

    def tool(self, function: str) -> Any: ...

    def call(self, function: str, arguments: Any) -> Any: ...


def run_tool_calls(
    calls: list[ToolCall], tools: Tools | None, approve: Callable[[Any, Any], bool], sink: Sink
) -> list[ToolResult]:
    """Answer every tool call of a reply: run the local ones the user approves; the rest
    get a result saying why they did not run (servers reject unanswered calls)."""
    results = []
    for call in calls:
        tool = tools.tool(call.name) if tools is not None else None
        arguments = call.parsed_arguments()
        if tool is None:
            content, is_error = "otchat did not declare this tool, so it was not run", True
        elif not isinstance(arguments, dict):
            content, is_error = "the arguments are not a JSON object, so the tool was not run", True
        elif not approve(tool, arguments):
            content, is_error = "the user did not approve this call, so it was not run", True
        else:
            outcome = tools.call(call.name, arguments)
            content, is_error = outcome.text, outcome.is_error
        result = ToolResult(call.id, call.name, content, is_error)
        sink.handle(result)
        results.append(result)
    sink.flush()
    return results


class Opener(Protocol):
    def open(self, request: ChatRequest): ...  # -> transport.Reply


def run_turn(
    request: ChatRequest,
    transport: Opener,
    sink: Sink,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> TurnResult:
    """Send `request`, pass every event to `sink`, and return what arrived.

    On any failure (including Ctrl-C) the exception carries the partial TurnResult as
    `partial`, marked interrupted, so callers can keep what the user already saw.
    """
    turn = _Turn(sink, request.body.get("model"))
    start = clock()
    try:
        reply = transport.open(request)
        try:
            if reply.is_stream:
                turn.read_stream(reply.batches(sink.flush, getattr(sink, "frame", 0.0)))
            else:
                for event in completion_events(reply.json()):
                    turn.dispatch(event)
        finally:
            reply.close()
        turn.finish()
    except BaseException as exc:
        turn.result.elapsed = clock() - start
        turn.settle(interrupted=True)
        try:
            exc.partial = turn.result  # type: ignore[attr-defined]
        except AttributeError:
            pass
        raise
    turn.result.elapsed = clock() - start
    return turn.result


class _Turn:
    """The state of one reply while it arrives."""

    def __init__(self, sink: Sink, model: str | None = None) -> None:
        self.sink = sink
        # The model asked for, until the server names the one that answered (some never do).
        self.result = TurnResult(model=model)
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls = ToolCallAccumulator()
        self.think: ThinkSplitter | None = ThinkSplitter()  # None once the reply's start is known

    def read_stream(self, batches) -> None:
        decoder = ChunkDecoder()
        dispatch = self.dispatch
        text = self.text
        for batch in batches:
            done = False
            start = len(text)
            for data in batch:
                if data == "[DONE]":
                    done = True
                    break
                for event in decoder.decode(data):
                    dispatch(event)
            if len(text) - start > 1:  # one string per network read, not one per delta
                text[start:] = ["".join(text[start:])]
            if done:
                return
        if self.result.finish_reason is None:
            raise StreamError("the stream ended before the reply was complete")

    def dispatch(self, event: Event) -> None:
        kind = type(event)
        if kind is TextDelta:
            if self.think is not None:
                self._split(self.think.feed(event.text))  # type: ignore[union-attr]
                return
            self.text.append(event.text)  # type: ignore[union-attr]
            self.sink.handle(event)
        elif kind is ReasoningDelta:
            self.reasoning.append(event.text)  # type: ignore[union-attr]
            self.sink.handle(event)
        elif kind is ToolCallDelta:
            self.calls.add(event)  # type: ignore[arg-type]
        elif kind is Usage:
            self.result.usage = event  # type: ignore[assignment]
        elif kind is Finish:
            self.result.finish_reason = event.reason  # type: ignore[union-attr]
        elif kind is Meta:
            self.result.id = event.id  # type: ignore[union-attr]
            self.result.model = event.model or self.result.model  # type: ignore[union-attr]

    def _split(self, events: list[TextDelta | ReasoningDelta]) -> None:
        """Text that began a reply, with a leading <think> block sent on as reasoning."""
        if self.think is not None and self.think.done:
            self.think = None
        for event in events:
            if type(event) is TextDelta:
                self.text.append(event.text)
            else:
                self.reasoning.append(event.text)
            self.sink.handle(event)

    def settle(self, *, interrupted: bool = False) -> None:
        if self.think is not None:  # the reply ended while its start was still undecided
            self._split(self.think.end())
        self.result.content = "".join(self.text)
        self.result.reasoning = "".join(self.reasoning)
        self.result.tool_calls = self.calls.calls()
        self.result.interrupted = interrupted

    def finish(self) -> None:
        """Emit what is only known at the end: whole tool calls, usage, finish reason."""
        self.settle()
        for call in self.result.tool_calls:
            self.sink.handle(call)
        if self.result.usage is not None:
            self.sink.handle(self.result.usage)
        self.sink.handle(Finish(self.result.finish_reason))
        self.sink.flush()
