"""Terminal rendering: streamed markdown with finished blocks printed once, tool-call panels.

Cost stays linear in the answer: finished top-level blocks are rendered and printed
once; only the unfinished tail is re-rendered, about every `interval` seconds, and only
as much of it as fits on the screen.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from markdown_it.token import Token
from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.markdown import Markdown
from rich.panel import Panel
from rich.segment import Segment
from rich.text import Text

from ..models import PROSE, Error, Event, Prose, ReasoningDelta, TextDelta, ToolCall, ToolResult, TurnResult
from ..text import visible
from .markdown import PARSER, CommitMarkdown, TailMarkdown, Trimmed, print_markdown, with_links
from .silence import Silence
from .sinks import is_empty, item_lines, tool_result_line, usage_line, visible_event
from .widths import agreed

_FENCES = ("```", "~~~")


class MarkdownSink:
    def __init__(
        self,
        console: Console,
        *,
        clock: Callable[[], float] = time.monotonic,
        interval: float = 0.2,
        show_usage: bool = True,
        echo_off: Callable[[], Callable[[], None]] | None = None,
        prose: Prose = PROSE,
        visible: bool = False,
        waiting: str | None = None,
    ) -> None:
        self.console = console
        # A terminal's line while the server is silent before the first token (`waiting`: the model).
        self._silence = Silence(console, waiting, clock=clock, echo_off=echo_off) if waiting is not None else None
        self.visible = visible  # a terminal: untrusted text is shown with its controls visible
        self.echo_off = echo_off
        self.prose = prose
        self.stream = MarkdownStream(console, clock=clock, interval=interval, echo_off=echo_off, prose=prose)
        self.frame = self.stream.paint_interval  # nothing new shows between repaints
        self.show_usage = show_usage
        self._reasoning = ""  # the end of the reasoning shown since the answer last had text
        self._began = False  # some of a reply is on the screen
        self._failed = False  # an error ended the turn (its line is printed by the caller)

    def handle(self, event: Event) -> None:
        if self._silence is not None:
            self._hush()
        if self.visible:
            event = visible_event(event)
        if isinstance(event, TextDelta):
            if self._reasoning:
                self._end_reasoning()
                self.console.print()  # a blank line sets the answer apart from it
            self._began = True
            self.stream.feed(event.text)
        elif isinstance(event, ReasoningDelta):
            if event.text:
                self._began = True
                self._reasoning = event.text[-1]
                self.console.print(Text(event.text, style="dim italic"), end="")
        elif isinstance(event, ToolCall):
            self._began = True
            self.stream.close()
            if self._reasoning:
                self._end_reasoning()
            self.console.print(tool_call_panel(event))
            self._new_stream()  # the text after a hosted call is a new block
        elif isinstance(event, ToolResult):
            self.console.print(Text(tool_result_line(event), style="dim"))
            for line in item_lines(event):
                self.console.print(Text(f"  {line}", style="dim"))
            self._new_stream()
        elif isinstance(event, Error):
            self._failed = True

    def sent(self) -> None:
        if self._silence is not None:
            self._silence.start()

    def flush(self) -> None:
        self.stream.tick()

    def end(self, result: TurnResult) -> None:
        if self._silence is not None:
            self._hush()
        self.stream.close()
        if self._reasoning:
            self._end_reasoning()
        # A request that failed before any reply began was not interrupted and has no usage:
        # its error line says it all. Ctrl-C and SIGTERM interrupt even a reply not yet begun.
        exists = self._began or not result.interrupted
        if result.interrupted and (exists or not self._failed):
            self.console.print(Text("[interrupted]", style="dim"))
        if is_empty(result, self._failed):
            self.console.print(Text("(empty reply)", style="dim"))
        if self.show_usage and exists:
            line = usage_line(result)  # it names the model as the server did
            self.console.print(Text(visible(line) if self.visible else line, style="dim"))


    def _end_reasoning(self) -> None:
        if self._reasoning != "\n":
            self.console.print()
        self._reasoning = ""

    def _hush(self) -> None:
        """The silence is over (an event came, or the turn ended): its line goes first."""
        if self._silence is not None:
            self._silence.over()
            self._silence = None

    def _new_stream(self) -> None:
        self.stream = MarkdownStream(self.console, clock=self.stream.clock, interval=self.stream.interval,
                                     echo_off=self.echo_off, prose=self.prose)


def tool_call_panel(call: ToolCall) -> Panel:
    parsed = call.parsed_arguments()
    if parsed is None:
        body: Text = Text(call.arguments)
    else:
        from rich.json import JSON

        # Escapes stand for C0 controls in JSON; DEL and C1 are written as they are: made visible.
        body = JSON(visible(json.dumps(parsed, ensure_ascii=False)), indent=2).text
    # A Text title: a str would be read as rich markup, and the name is the model's.
    return Panel(body, title=Text(f"tool call · {call.name}"), title_align="left", border_style="cyan", expand=False)


class MarkdownStream:
    """Feeds markdown text to the terminal as it streams.

    Finished blocks are committed (rendered and printed once) about every `interval`
    seconds (never sooner than 4/5 of it); the unfinished tail is repainted only when it
    changed, at most once every `paint_interval` seconds. A commit redraws the tail too,
    so one is made only when a repaint is due: at most one redraw a frame. Redraws are
    made by the reading thread, on its first tick once one is due; a tail it left
    unpainted is painted by a small watcher thread if no tick comes for half a frame
    longer (a silence: hosted tools at work), so text that arrived is always on screen.
    """

    def __init__(self, console: Console, *, clock: Callable[[], float], interval: float,
                 paint_interval: float = 0.1, markdown: Callable[..., Markdown] | None = None,
                 echo_off: Callable[[], Callable[[], None]] | None = None, prose: Prose = PROSE) -> None:
        self.console = console
        # The live tail is redrawn by moving the cursor up over it: a key the terminal
        # echoes meanwhile (Ctrl-C's "^C" at a full line wraps to a new row) shifts the
        # cursor under rich, and the tail's top lines are left behind, shown twice. So
        # the terminal echoes nothing while the tail is live (`echo_off` returns the undo).
        self.echo_off = echo_off
        self._echo_on: Callable[[], None] | None = None
        self.markdown = markdown or with_links(CommitMarkdown, prose)  # injectable, so tests can count renders
        self._tail_markdown = with_links(TailMarkdown, prose) if markdown is None else self.markdown
        self.clock = clock
        self.interval = interval
        self.paint_interval = paint_interval
        self._parts: list[str] = []
        self._tail = ""  # what the live display shows; replaced, never mutated
        self._live: Live | None = None
        self._printed = False
        self._next = 0.0
        self._next_paint = 0.0
        self._dirty = False
        self._armed = False  # the watcher was woken and will paint a dirty tail when it is late
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._watcher: threading.Thread | None = None
        # One drawer at a time: rich's Live places the cursor for a print from its last
        # render's shape, but renders and writes after letting go of its lock, so a commit
        # and a repaint made at once both move up over the same old tail and the later
        # one draws over lines the other committed (they vanish from the screen).
        self._drawing = threading.Lock()
        self.redraws = 0  # paints and commits while the tail is live (tests count them)
        self.wakeups = 0  # times a tick woke the watcher

    def feed(self, text: str) -> None:
        self._parts.append(text)

    def tick(self) -> None:
        """Called after each piece of the body: commit finished blocks, repaint the tail if due.

        Pieces come in bursts (all that arrived during the reader's frame-long sleep, one
        per HTTP chunk), so most ticks only note the new tail: the first tick of a burst
        redraws, and the rest of it shows at the next one.
        """
        if not self._parts:
            return
        pending = self._take()
        self._parts = [pending]
        now = self.clock()
        due = now >= self._next_paint
        if due and now >= self._next:
            # Four fifths: redraws come about a frame apart, a little early or late; a
            # strict interval would skip every other one.
            self._next = now + self.interval * 0.8
            cut, parsed = self._finished(pending)
            if cut:
                done, pending = pending[:cut], pending[cut:]
                self._parts = [pending] if pending else []
                self._tail = pending  # before printing, so the display never shows it twice
                self._commit(done, parsed)
                if self._live is not None:  # the print redrew the tail below it
                    self._redrawn(now)
        if pending != self._tail:
            self._tail = pending
            self._dirty = True
        if self._live is None:
            if not pending.strip():
                return
            if self.echo_off is not None:
                self._echo_on = self.echo_off()
            self._live = Live(_LiveTail(self), console=self.console, auto_refresh=False, transient=True,
                              vertical_overflow="crop")
            self._live.start(refresh=False)
            self._dirty = True  # even a tail left by a commit made before it was live
            self._watcher = threading.Thread(target=self._watch, args=(self._wake, self._stop),
                                             name="otchat-repaint", daemon=True)
            self._watcher.start()
        if self._dirty:
            if due:
                self._paint(now)
            elif not self._armed:  # once per silence or burst, not once per piece
                self._armed = True
                self.wakeups += 1
                self._wake.set()

    def _redrawn(self, now: float) -> None:
        self._dirty = False
        self._next_paint = now + self.paint_interval
        self.redraws += 1

    def _paint(self, now: float) -> None:
        with self._drawing:
            live = self._live
            if live is not None:
                self._redrawn(now)
                live.refresh()

    def _watch(self, wake: threading.Event, stop: threading.Event) -> None:
        """Paint a tail the reading thread left unpainted half a frame longer than due
        (no data arrived since it changed, as while hosted tools work). Sleeps until
        armed by a tick: no polling. Armed, it stays so until that deadline passes, so
        a reader that keeps redrawing (pushing the deadline on) wakes it only once."""
        while True:
            wake.wait()
            wake.clear()
            while not stop.is_set():
                late = self._next_paint + self.paint_interval / 2 - self.clock()
                if late > 0:
                    if stop.wait(min(late, 60.0)):
                        return
                    continue
                if self._dirty:
                    self._paint(self.clock())
                self._armed = False
                if not self._dirty:  # else a tick that saw it still armed made it dirty
                    break
                self._armed = True
            if stop.is_set():
                return

    def close(self) -> None:
        """Print whatever is left, rendered, and end the live tail."""
        self._end_live()
        pending = self._take()
        self._parts = []
        self._tail = ""
        if pending.strip():
            self._commit(pending)

    def _end_live(self) -> None:
        """Stop the watcher and take the live tail off the screen (the next tick brings
        both back if there is a tail to show)."""
        self._stop.set()
        self._wake.set()
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None
        try:
            with self._drawing:  # the watcher has stopped; a commit may not have
                if self._live is not None:
                    self._live.stop()
                    self._live = None
        finally:  # even when a second Ctrl-C lands here
            if self._echo_on is not None:
                self._echo_on()
                self._echo_on = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._armed = False

    def _take(self) -> str:
        return "".join(self._parts)

    def _finished(self, text: str) -> tuple[int, list[Token]]:
        """Where the finished top-level blocks end (a later block has begun), and their
        tokens, so they are not parsed again to be printed.

        Only whole lines are parsed, so a half-arrived line never splits a block.
        """
        complete = text[: text.rfind("\n") + 1]
        if not complete:
            return 0, []
        tokens = PARSER.parse(complete)
        starts = [
            (index, token.map[0])
            for index, token in enumerate(tokens)
            if token.level == 0 and token.map is not None and token.nesting >= 0
        ]
        if len(starts) < 2 or starts[-1][1] == 0:
            return 0, []
        index, line = starts[-1]
        return _line_offset(complete, line), tokens[:index]

    def _commit(self, text: str, parsed: list[Token] | None = None) -> None:
        # One print per commit: while the live tail is shown, each print redraws it.
        with self._drawing:
            print_markdown(self.console, self.markdown, text, parsed, blank_before=self._printed)
        self._printed = True

    def tail_renderable(self, height: int) -> Trimmed | Text:
        tail = self._tail
        if not tail.strip():
            return Text("")
        return Trimmed(self._tail_markdown(agreed(tail_source(tail, height))), keep_last=height)


def _line_offset(text: str, line: int) -> int:
    """Where line `line` (from 0) of `text` begins."""
    offset = 0
    for _ in range(line):
        offset = text.index("\n", offset) + 1
    return offset


class _LiveTail:
    """The live display's renderable: the stream's current tail, drawn at refresh time.

    Rendered lines are kept until the tail or the width changes: every print above the
    live display and every timed refresh draws it again, most often unchanged.
    """

    def __init__(self, stream: MarkdownStream) -> None:
        self.stream = stream
        self._key: tuple[str, int, int] | None = None
        self._lines: list[list[Segment]] = []

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = max(3, console.size.height - 2)
        key = (self.stream._tail, options.max_width, height)
        if key != self._key:
            self._lines = console.render_lines(self.stream.tail_renderable(height), options, pad=False)
            self._key = key
        newline = Segment.line()
        for line in self._lines:
            yield from line
            yield newline


def tail_source(pending: str, height: int) -> str:
    """The last `height` lines of the tail, reopening a code fence cut off above them."""
    lines = pending.split("\n")
    if len(lines) <= height:
        return pending
    fence = None
    for line in lines[:-height]:
        stripped = line.lstrip()
        if stripped.startswith(_FENCES):
            fence = None if fence else stripped
    kept = lines[-height:]
    if fence:
        kept.insert(0, fence)
    return "\n".join(kept)
