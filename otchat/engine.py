"""The engine: `run_turn` (one request → events → a sink → a TurnResult) and `exchange` (a
message and the local tool rounds it leads to); shared by one-shot and the REPL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .config.resolve import Settings
from .conversation import Conversation, Entry
from .errors import ExitCode, StreamError, ToolBudgetError, TurnCut
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
from .seams import Approve, Opener, Sink, Tools
from .wire import request as requests
from .wire.protocol import ChunkDecoder, ToolCallAccumulator, completion_events
from .wire.thinking import ThinkSplitter

# The text before the images of a round's tool results (content_parts = true).
IMAGES_NOTE = "The images the tool results above returned:"


def run_tool_calls(calls: list[ToolCall], tools: Tools | None, approve: Approve, sink: Sink) -> list[ToolResult]:
    """Answer every tool call of a reply: run the local ones the user approves; the rest
    get a result saying why they did not run (servers reject unanswered calls)."""
    results = []
    for call in calls:
        tool = tools.tool(call.name) if tools is not None else None
        arguments = call.parsed_arguments()
        items: list[dict[str, Any]] = []
        images: list[dict[str, Any]] = []
        if tools is None or tool is None:
            content, is_error = "otchat did not declare this tool, so it was not run", True
        elif not isinstance(arguments, dict):
            content, is_error = "the arguments are not a JSON object, so the tool was not run", True
        elif not approve(tool, arguments):
            content, is_error = "the user did not approve this call, so it was not run", True
        else:
            outcome = tools.call(call.name, arguments)
            content, is_error, items, images = outcome.text, outcome.is_error, outcome.items, outcome.images
        result = ToolResult(call.id, call.name, content, is_error, items, images)
        sink.handle(result)
        results.append(result)
    sink.flush()
    return results


def exchange(
    conversation: Conversation,
    text: str,
    settings: Settings,
    transport: Opener,
    sink: Sink,
    *,
    tools: Tools | None = None,
    approve: Approve,
    clock: Callable[[], float] = time.monotonic,
    meanwhile: Callable[[], None] | None = None,
) -> TurnResult:
    """One exchange: the user's message, then replies and local tool rounds until a reply
    needs no local tool (or the round limit). `approve` is the front door's say on each call.

    Returns the turn as a whole (`TurnResult.whole` of its requests); a failure is a TurnCut
    whose partial is the whole of what arrived. A reply cut short (Ctrl-C, a broken stream)
    is kept, marked interrupted; a question that got no reply at all leaves the conversation
    as it was (the log keeps it, hidden). `meanwhile` runs beside each request while the
    server thinks (see `run_turn`)."""
    user = conversation.question(text)
    rounds: list[TurnResult] = []
    try:
        return _rounds(_Round(conversation, settings, transport, sink, tools, approve, clock, meanwhile),
                       requests.build(settings, conversation.messages()), rounds,
                       keep=lambda result: conversation.keep(result, settings.model),
                       nothing=lambda: conversation.unanswered(user))
    finally:
        if rounds:
            conversation.totals.turns += 1


@dataclass
class _Round:
    """What each request of an exchange goes with."""

    conversation: Conversation
    settings: Settings
    transport: Opener
    sink: Sink
    tools: Tools | None
    approve: Approve
    clock: Callable[[], float]
    meanwhile: Callable[[], None] | None = None


def _rounds(r: _Round, chat_request: ChatRequest, rounds: list[TurnResult], *,
            keep: Callable[[TurnResult], Entry], nothing: Callable[[], None]) -> TurnResult:
    """Replies and local tool rounds from `chat_request` until a reply needs no local tool (or
    the round limit). `keep` takes the first reply into the conversation (the later ones are new
    entries); `nothing` is told when not even the first reply arrived."""
    while True:
        try:
            result = run_turn(chat_request, r.transport, r.sink, clock=r.clock, meanwhile=r.meanwhile)
        except TurnCut as cut:
            if cut.partial.content or cut.partial.tool_calls:
                keep(cut.partial)
                rounds.append(cut.partial)
            if not rounds:
                nothing()
                raise
            raise TurnCut(TurnResult.whole(rounds, interrupted=True), cut.cause) from cut.cause
        rounds.append(result)
        reply = keep(result)
        keep = lambda result: r.conversation.keep(result, r.settings.model)  # noqa: E731
        if not _wants_local_tools(result, r.tools):
            return TurnResult.whole(rounds)
        if len(rounds) > r.settings.max_tool_rounds:
            done = len(rounds) - 1
            error = ToolBudgetError(
                f"stopped after {done} tool round{'s' if done != 1 else ''} (--max-tool-rounds);"
                " the model still asks for tools")
            raise TurnCut(TurnResult.whole(rounds), error)
        try:
            outcomes = run_tool_calls(result.tool_calls, r.tools, r.approve, r.sink)
        except BaseException as exc:
            raise TurnCut(TurnResult.whole(rounds, interrupted=True), exc) from exc
        reply.answered = True
        for outcome in outcomes:
            r.conversation.add(Entry("tool", outcome.content, tool_call_id=outcome.id, items=outcome.items))
        images = [part for outcome in outcomes for part in outcome.images]
        if images:  # content_parts: after the results, a message holding their images
            r.conversation.add(Entry("user", IMAGES_NOTE, parts=[{"type": "text", "text": IMAGES_NOTE}, *images],
                                     items=[item for outcome in outcomes for item in outcome.items
                                            if item.get("type") == "image"]))
        chat_request = requests.build(r.settings, r.conversation.messages())


# What /continue asks: portable across servers (not every one lets a request end with an
# assistant message to be completed), and the reply's text so far is sent just before it.
CONTINUE_PROMPT = ("Your last reply was cut off. Continue it from exactly where it stopped: do not repeat"
                   " anything, do not add a preamble, start with the next character.")


def go_on(conversation: Conversation, reply: Entry, settings: Settings, transport: Opener, sink: Sink, *,
          tools: Tools | None = None, approve: Approve = lambda tool, arguments: False,
          clock: Callable[[], float] = time.monotonic) -> TurnResult:
    """/continue: send the conversation with the cut reply and ask for the rest, which is added
    to the same reply (so later requests hold one message with both parts, and the log one
    answer); a rest that calls local tools runs their rounds like any turn. What arrives before
    a failure is added too, and the failure raised on as a TurnCut."""
    messages = [*conversation.messages(), {"role": "user", "content": CONTINUE_PROMPT}]
    rounds: list[TurnResult] = []

    def join(result: TurnResult) -> Entry:
        _join(conversation, reply, result)
        return reply

    return _rounds(_Round(conversation, settings, transport, sink, tools, approve, clock),
                   requests.build(settings, messages), rounds, keep=join, nothing=lambda: None)


def _join(conversation: Conversation, reply: Entry, result: TurnResult) -> None:
    conversation.totals.add(result)
    if result.content or result.tool_calls or not result.interrupted:
        reply.content += result.content
        reply.tool_calls = list(result.tool_calls)
        reply.interrupted, reply.finish_reason = result.interrupted, result.finish_reason
        reply.result = result
        conversation.amended.append(reply)


def _wants_local_tools(result: TurnResult, tools: Tools | None) -> bool:
    return (tools is not None and result.finish_reason == "tool_calls"
            and any(tools.tool(call.name) for call in result.tool_calls))


def run_turn(
    request: ChatRequest,
    transport: Opener,
    sink: Sink,
    *,
    clock: Callable[[], float] = time.monotonic,
    meanwhile: Callable[[], None] | None = None,
) -> TurnResult:
    """Send `request`, pass every event to `sink`, and return what arrived.

    The request leaves first: once it is sent, what only the answer needs (the sink's
    `sent`, which loads the renderer, and `meanwhile`, the log's write of the
    question) run on a thread while this one waits for the server's first byte, and are
    done before any event reaches the sink or the caller sees the turn's end.

    Any failure (Ctrl-C included) is raised as a TurnCut carrying it and the partial
    TurnResult, marked interrupted, so callers can keep what the user already saw.
    """
    turn = _Turn(sink, request.body.get("model"))
    start = clock()
    try:
        beside = _Beside([meanwhile, sink.sent])
        try:
            reply = transport.open(request, sent=beside.start)
        finally:
            beside.start()  # when the transport could not tell (a mock, a failure): now
            failed = beside.join()
        try:
            if failed is not None:
                raise failed
            if reply.is_stream:
                turn.read_stream(reply.batches(sink.flush, sink.frame))
            else:
                for event in completion_events(reply.json()):
                    turn.dispatch(event)
        finally:
            reply.close()
        turn.finish()
    except BaseException as exc:
        turn.result.elapsed = clock() - start
        turn.settle(interrupted=True)
        raise TurnCut(turn.result, exc) from exc
    turn.result.elapsed = clock() - start
    return turn.result


class _Beside:
    """Jobs run on a thread while the main one waits on the socket; `join` waits for them
    and returns what one of them raised (an import error, a bug: never lost)."""

    def __init__(self, jobs: list[Callable[[], None] | None]) -> None:
        self.jobs = [job for job in jobs if job is not None]
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        self.started = False

    def start(self) -> None:
        """Start the jobs (once): before, they would slow the request's sending."""
        if self.started:
            return
        self.started = True
        if self.jobs:
            self.thread = threading.Thread(target=self._run, name="otchat-meanwhile", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        try:
            for job in self.jobs:
                job()
        except BaseException as exc:  # noqa: BLE001 (handed to the main thread by `join`)
            self.error = exc

    def join(self) -> BaseException | None:
        thread, self.thread = self.thread, None
        if thread is not None:
            try:
                thread.join()
            except BaseException:  # Ctrl-C while waiting: the jobs still end before the turn does
                thread.join()
                raise
        return self.error


class _Turn:
    """The state of one reply while it arrives."""

    def __init__(self, sink: Sink, model: str | None = None) -> None:
        self.sink = sink
        # The model asked for, until the server names the one that answered (some never do).
        self.result = TurnResult(model=model)
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls = ToolCallAccumulator()
        self.calling = False  # tool calls arrived that the sink was not shown yet
        self.shown = 0  # how many of the reply's tool calls the sink was shown
        self.think: ThinkSplitter | None = ThinkSplitter()  # None once the reply's start is known

    def read_stream(self, batches: Iterable[list[str]]) -> None:
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
        if self.calling and isinstance(event, (TextDelta, ReasoningDelta)):
            self.show_calls()  # a hosted call shows where it came: before the text after it
        if isinstance(event, TextDelta):
            if self.think is not None:
                self._split(self.think.feed(event.text))
                return
            self.text.append(event.text)
            self.sink.handle(event)
        elif isinstance(event, ReasoningDelta):
            self.reasoning.append(event.text)
            self.sink.handle(event)
        elif isinstance(event, ToolCallDelta):
            self.calls.add(event)
            self.calling = True
        elif isinstance(event, Usage):
            self.result.usage = event
        elif isinstance(event, Finish):
            self.result.finish_reason = event.reason
        elif isinstance(event, Meta):
            self.result.id = event.id
            self.result.model = event.model or self.result.model

    def _split(self, events: list[TextDelta | ReasoningDelta]) -> None:
        """Text that began a reply, with a leading <think> block sent on as reasoning."""
        if self.think is not None and self.think.done:
            self.think = None
        for event in events:
            if isinstance(event, TextDelta):
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

    def show_calls(self) -> None:
        """Show the sink the tool calls that came since it was last shown some (they are whole:
        what followed them was not a piece of theirs)."""
        calls = self.calls.calls()
        for call in calls[self.shown:]:
            self.sink.handle(call)
        self.shown, self.calling = len(calls), False

    def finish(self) -> None:
        """Emit what is only known at the end: the tool calls not shown yet, usage, finish reason."""
        self.settle()
        self.show_calls()
        if self.result.usage is not None:
            self.sink.handle(self.result.usage)
        self.sink.handle(Finish(self.result.finish_reason))
        self.sink.flush()


def finish_note(result: TurnResult, settings: Settings) -> tuple[str | None, int]:
    """What to say of a reply that stopped early (None: nothing), and the exit code it earns."""
    reason = result.finish_reason
    if reason == "length":
        return "the reply was cut short at the token limit (finish_reason: length)", ExitCode.OK
    if reason == "content_filter":
        return "the reply was stopped by a content filter (finish_reason: content_filter)", ExitCode.OK
    if reason == "tool_calls":
        declared = settings.declared_functions()
        unrun = [call.name for call in result.tool_calls if call.name not in declared]
        if unrun or not result.tool_calls:
            names = ", ".join(unrun) or "unnamed"
            return (f"the reply stopped at the server's tool budget with tool calls unrun: {names}",
                    ExitCode.TOOL_BUDGET)
    return None, ExitCode.OK
