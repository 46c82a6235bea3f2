"""A comparison on a terminal: every model's answer streamed as markdown in its own column.

Worker threads (one per model) only record what arrived, under a lock, and wake the
drawer; one drawer thread repaints the live display, at most once a frame. On `close`
the live display goes and the whole board is printed once, so the scrollback holds
every line of every answer exactly once. Nothing else writes to the terminal meanwhile: a
model's warnings (a retry) are dim lines in its column, its -v lines follow the board.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.live import Live
from rich.text import Text

from ..models import PROSE, Error, Event, Prose, ReasoningDelta, TextDelta, ToolCall, ToolResult, TurnResult
from ..text import visible
from .grid import Column, Layout, Parts
from .sinks import compact_arguments, speed_parts, tool_result_line, visible_event


class ColumnsView:
    """The Board of a comparison on a terminal (see compare.py): `sink(i)` per model,
    `done(i, ...)` as each ends, `close(...)` once at the end."""

    def __init__(self, console: Console, models: Sequence[str], *, clock: Callable[[], float],
                 prose: Prose = PROSE, echo_off: Callable[[], Callable[[], None]] | None = None,
                 log: Callable[[str], None] | None = None, interval: float = 0.05) -> None:
        self.console = console
        self.log_line = log  # where the models' -v lines go once the board is printed
        self.clock = clock
        self.interval = interval  # seconds between two repaints, at least
        # The live display is redrawn by moving the cursor up over it: a key the terminal
        # echoes meanwhile shifts the cursor under rich and leaves lines behind twice
        # (see MarkdownStream). `echo_off` turns echo off and returns what turns it on.
        self.echo_off = echo_off
        self._begun = clock()  # times to first token count from here
        self._layout = Layout(prose)
        self._lock = threading.Lock()  # guards the answers and _closed
        self._answers = [_Answer(model) for model in models]
        self._logged: list[list[str]] = [[] for _ in models]
        self._closed = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._drawer: threading.Thread | None = None
        # Set by the drawer thread only, read by `close` once it has joined it.
        self._live: Live | None = None
        self._echo_on: Callable[[], None] | None = None
        self._failure: Exception | None = None

    def sink(self, index: int) -> ColumnSink:
        with self._lock:
            if self._drawer is None and not self._closed:
                self._drawer = threading.Thread(target=self._draw, name="otchat-columns", daemon=True)
                self._drawer.start()
        return ColumnSink(self, index)

    def record(self, index: int, event: Event) -> None:
        """What model `index` sent (from its worker thread): kept, and the drawer woken."""
        event = visible_event(event)  # a terminal's board: untrusted text shows its controls
        with self._lock:
            if self._closed or not self._answers[index].take(event, self.clock() - self._begun):
                return
        self._wake.set()

    def warn(self, index: int, message: str) -> None:
        """A warning of model `index` (a retry): a dim line in its column."""
        with self._lock:
            if self._closed:
                return
            self._answers[index].warned(visible(message))
        self._wake.set()

    def log(self, index: int, line: str) -> None:
        """A -v line of model `index`: kept until the board is printed."""
        with self._lock:
            self._logged[index].append(line)

    def sent(self, index: int) -> None:
        """Model `index`'s request left: its time to first token counts from here."""
        with self._lock:
            answer = self._answers[index]
            if answer.sent is None:
                answer.sent = self.clock() - self._begun

    def done(self, index: int, result: TurnResult, error: Error | None) -> None:
        with self._lock:
            if self._closed:
                return
            self._answers[index].end(result, error and Error(visible(error.message), error.exit_code))
        self._wake.set()

    def close(self, interrupted: bool) -> None:
        """Take the live display away and print the whole board once, below what was there."""
        with self._lock:
            if self._closed:
                return
            self._closed = True  # from here on, what the workers send is not shown
            columns = self._columns()
        try:
            self._stop.set()
            self._wake.set()
            if self._drawer is not None:
                self._drawer.join()
        finally:  # even when a second Ctrl-C lands here: the screen and the echo back as they were
            try:
                if self._live is not None:
                    self._live.stop()
            finally:
                if self._echo_on is not None:
                    self._echo_on()
        self.console.print(self._layout.whole(columns))
        self._write_logs()
        if self._failure is not None:  # a bug in drawing: to the error boundary, not lost in a thread
            raise self._failure

    def _write_logs(self) -> None:
        """The -v lines, each model's together, in the order named, each naming its model."""
        with self._lock:
            logged, self._logged = self._logged, [[] for _ in self._answers]
        if self.log_line is not None:
            for answer, lines in zip(self._answers, logged, strict=True):
                for line in lines:
                    self.log_line(f"{answer.model}: {line}")

    def _columns(self) -> list[Column]:
        """What every column shows now (the caller holds the lock)."""
        return [answer.column(closing=self._closed) for answer in self._answers]

    def _snapshot(self) -> list[Column]:
        with self._lock:
            return self._columns()

    def _draw(self) -> None:
        """The drawer thread: the one place that paints while the answers stream."""
        try:
            while True:
                self._wake.wait()
                if self._stop.is_set():
                    return
                self._wake.clear()
                if self._live is None:
                    if self.echo_off is not None:
                        self._echo_on = self.echo_off()
                    self._live = Live(self._layout.cropped(self._snapshot), console=self.console,
                                      auto_refresh=False, transient=True, vertical_overflow="crop")
                    self._live.start(refresh=True)
                else:
                    self._live.refresh()
                if self._stop.wait(self.interval):
                    return
        except Exception as exc:  # noqa: BLE001 (raised again by `close`, on the main thread)
            self._failure = exc


class ColumnSink:
    """The sink of one model's column; its events come from that model's worker thread."""

    def __init__(self, view: ColumnsView, index: int) -> None:
        self.view = view
        self.index = index
        self.frame = view.interval  # nothing new shows between repaints: read no more often

    def sent(self) -> None:
        """Called by the engine once this model's request is on the wire."""
        self.view.sent(self.index)

    def handle(self, event: Event) -> None:
        self.view.record(self.index, event)

    def flush(self) -> None:
        pass  # `handle` woke the drawer already


class _Thought:
    """Reasoning, collapsed to one dim line: how much of it there was."""

    def __init__(self) -> None:
        self.words = 0
        self._inside = False  # the last piece ended inside a word

    def add(self, text: str) -> None:
        self.words += len(text.split()) - (self._inside and not text[:1].isspace())
        self._inside = not text[-1:].isspace()

    def line(self) -> Text:
        return Text(f"(reasoning · {self.words:,} words, not shown)", style="dim italic")


class _Answer:
    """One model's answer as it arrives; touched only under the view's lock."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.pieces: list[list[str] | _Thought | Text] = []
        self.first_token: float | None = None
        self.sent: float | None = None  # when its request left (else the board's start counts)
        self.result: TurnResult | None = None
        self.error: Error | None = None
        self.version = 0
        self.replied = False  # some of a reply arrived (a warning is not one)

    def take(self, event: Event, now: float) -> bool:
        """Keep what `event` adds (`now`: seconds since the board began); False if nothing."""
        last = self.pieces[-1] if self.pieces else None
        if isinstance(event, TextDelta):
            if not event.text:
                return False
            if self.first_token is None:
                self.first_token = now - (self.sent or 0.0)
            if isinstance(last, list):
                last.append(event.text)
            else:
                self.pieces.append([event.text])
        elif isinstance(event, ReasoningDelta):
            if not event.text:
                return False
            if not isinstance(last, _Thought):
                last = _Thought()
                self.pieces.append(last)
            last.add(event.text)
        elif isinstance(event, ToolCall):
            self.pieces.append(_note(f"tool call · {event.name} {compact_arguments(event)}"))
        elif isinstance(event, ToolResult):
            self.pieces.append(_note(tool_result_line(event)))

        elif isinstance(event, Error):  # a runner that reports it as an event, too
            self.error = self.error or event
        else:
            return False
        self.version += 1
        self.replied = self.replied or not isinstance(event, Error)
        return True

    def warned(self, message: str) -> None:
        self.pieces.append(Text(f"warning: {message}", style="dim"))
        self.version += 1

    def end(self, result: TurnResult, error: Error | None) -> None:
        self.result = result
        self.error = error or self.error
        self.version += 1

    def column(self, *, closing: bool) -> Column:
        pieces: list[str | Text] = []
        for piece in self.pieces:
            if isinstance(piece, list):
                text = "".join(piece)
                piece[:] = [text]  # joined once; the next frame joins only what came since
                pieces.append(text)
            else:
                pieces.append(piece.line() if isinstance(piece, _Thought) else piece)
        return Column(self.model, tuple(pieces), tuple(self._footer(closing)),
                      waiting=not self.pieces and self.result is None and self.error is None,
                      version=self.version)

    def _footer(self, closing: bool) -> list[Text | Parts]:
        result = self.result
        lines: list[Text | Parts] = []
        if self.error is not None:
            lines.append(Text(f"error: {self.error.message}", style="red"))
        elif (result is None and closing) or (result is not None and result.interrupted):
            lines.append(Text("[interrupted]", style="dim"))
        # A request that failed before any reply began has no usage: its error says it all.
        if result is not None and (self.replied or self.error is None):
            lines.append(Parts(speed_parts(result, self.first_token), style="dim"))
        return lines


def _note(line: str) -> Text:
    return Text(line, style="dim", no_wrap=True, overflow="ellipsis")
