"""The seams of a run, typed in one place: what the engine and the run call on the parts that
are injected into them (sinks and boards from the terminal, local tools, the approval, the
HTTP reply). Nothing here does anything; `JSON` (defined with the data, in models) is the one
name for "any JSON value"."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from .models import JSON as JSON
from .models import JSONObject as JSONObject
from .models import Prose

if TYPE_CHECKING:
    from .models import ChatRequest, Error, Event, TurnResult



class Sink(Protocol):
    """Where the events of one reply go (a renderer). It never calls back into the engine.

    `sent` is called once the request is on the wire, on a thread of its own while the server
    thinks (a sink loads what drawing needs then, or starts its clock). `flush` is called
    whenever everything that arrived has been handed over; `frame` (seconds) asks for network
    reads no closer together than that (0: every piece at once)."""

    @property
    def frame(self) -> float: ...

    def sent(self) -> None: ...

    def handle(self, event: Event) -> None: ...

    def flush(self) -> None: ...


class TurnSink(Sink, Protocol):
    """The sink of a whole turn: `end` is called once, whatever happened, with what arrived."""

    def end(self, result: TurnResult) -> None: ...


class Board(Protocol):
    """Where a comparison's answers show: a sink per model, called from that model's worker
    thread; `done` once per model; `close` at the end. `warn` and `log` take a model's warnings
    (a retry) and -v lines, from its worker thread: the board shows them where they cannot
    break into what it draws."""

    def sink(self, index: int) -> Sink: ...

    def warn(self, index: int, message: str) -> None: ...

    def log(self, index: int, line: str) -> None: ...

    def done(self, index: int, result: TurnResult, error: Error | None) -> None: ...

    def close(self, interrupted: bool) -> None: ...


class Waiting(Sink, Protocol):
    """The sink of a --schema turn: shows nothing of a reply until it validates; `attempt` says
    which attempt runs, `close` takes what it showed away."""

    def attempt(self, number: int, total: int) -> None: ...

    def close(self) -> None: ...


class Tool(Protocol):
    """A local tool, as the approval sees it."""

    @property
    def function(self) -> str: ...

    @property
    def trusted_read_only(self) -> bool: ...

    @property
    def destructive(self) -> bool: ...

    @property
    def hints(self) -> list[str]: ...


class Outcome(Protocol):
    """What a local tool call returned."""

    @property
    def text(self) -> str: ...

    @property
    def is_error(self) -> bool: ...

    @property
    def items(self) -> list[JSONObject]: ...  # its content by type (mcp/results.py)

    @property
    def images(self) -> list[JSONObject]: ...  # its images as image parts, when content_parts is on


class Tools(Protocol):
    """Local tools (a mcp.hub.Hub): their declarations, one looked up by function name, a call."""

    def function_tools(self) -> list[JSONObject]: ...

    def tool(self, function: str) -> Tool | None: ...

    def call(self, function: str, arguments: JSONObject) -> Outcome: ...

    def refresh(self) -> bool: ...  # before a turn: True when the tools changed

    def close(self) -> None: ...


Approve = Callable[[Tool, JSONObject], bool]  # may this call of a local tool run?


@dataclass
class Elicitation:
    """A local MCP server's `elicitation/create` (or one of a 2026-07-28 `input_required`
    result's requests), in plain data."""

    server: str
    message: str
    mode: Literal["form", "url"] = "form"
    schema: JSONObject = field(default_factory=dict)  # form mode: the requested schema
    url: str | None = None  # url mode: what the user is asked to open (otchat never opens it)


@dataclass
class Answer:
    action: Literal["accept", "decline", "cancel"]
    content: JSONObject | None = None  # what the form gave, when accepted


class McpUi(Protocol):
    """What local MCP servers show and ask: a call's progress, their log lines, a changed list,
    an elicitation. Called on the main thread only, while it waits for a server (or before a turn)."""

    def elicit(self, request: Elicitation) -> Answer: ...

    def progress(self, function: str, done: float, total: float | None, message: str | None) -> None: ...

    def progress_end(self) -> None: ...

    def log(self, server: str, level: str, text: str) -> None: ...

    def note(self, line: str) -> None: ...


class Reply(Protocol):
    """A 2xx response: an event stream (`batches`) or a JSON body (`json`)."""

    is_stream: bool

    def json(self) -> JSON: ...

    def batches(self, idle: Callable[[], None], frame: float = 0.0) -> Iterator[list[str]]: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


class Opener(Protocol):
    """Sends a chat request; `sent` is called once its body is on the wire."""

    def open(self, request: ChatRequest, sent: Callable[[], None] | None = None) -> Reply: ...


class Fallback(Protocol):
    """A body field some servers refuse: when `rejects` says a refusal (its status and body) was
    about it, `instead` gives what this request and the later ones send in its place (None: the
    field is left out of them)."""

    field: str

    def rejects(self, status: int, body: bytes) -> bool: ...

    def instead(self, value: JSON, body: bytes) -> JSON | None: ...


class Front(Protocol):
    """What a run shows its answers on (made by the terminal layer for the output asked for)."""

    def reply_sink(self, prose: Prose, model: str | None = None) -> TurnSink: ...

    def code_sink(self, last: bool) -> TurnSink: ...

    def waiting(self) -> Waiting: ...

    def board(self, models: list[str], prose: Prose) -> Board: ...

    def approver(self, auto: bool | list[str]) -> Approve: ...

    def mcp_ui(self) -> McpUi: ...  # what local MCP servers show and ask through
