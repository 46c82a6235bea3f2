"""Which sink draws a run's output: the format asked for, where stdout goes, how often to read."""

from __future__ import annotations

from collections.abc import Callable

from ..env import Env
from ..models import PROSE, Event, Prose, TurnResult
from ..plan import Format
from ..seams import TurnSink
from .sinks import JsonlSink, JsonSink, PlainSink


def choose_format(requested: Format, stdout_isatty: bool, term: str | None) -> Format:
    """`auto` is markdown on a capable terminal, plain everywhere else."""
    if requested != Format.auto:
        return requested
    return Format.markdown if stdout_isatty and term != "dumb" else Format.plain


# Text typed straight onto a terminal is read in frames of 40 ms (25 a second): a person
# sees no difference, and a reply streamed at 100 tokens a second wakes otchat a quarter
# as often. (Into a pipe every piece is written as it arrives.)
TYPING_FRAME = 0.04


def make_sink(env: Env, format: Format, *, usage: bool = False, verbose: bool = False,
              prose: Prose = PROSE, model: str | None = None) -> TurnSink:
    """The sink for `format` (auto, markdown, plain, json, jsonl) on this Env's streams."""
    fmt = choose_format(format, env.stdout_isatty, env.environ.get("TERM"))
    if fmt == Format.json:
        return JsonSink(env.stdout)
    if fmt == Format.jsonl:
        return JsonlSink(env.stdout)
    if fmt == Format.plain:
        return PlainSink(env.stdout, env.stderr, show_usage=usage, verbose=verbose,
                         frame=TYPING_FRAME if env.stdout_isatty else 0.0, reasoning=env.stdout_isatty)

    def markdown() -> TurnSink:
        from .console import console_for
        from .live import MarkdownSink

        return MarkdownSink(console_for(env), clock=env.clock, show_usage=True, echo_off=env.echo_off, prose=prose,
                            visible=env.stdout_isatty, waiting=(model or "") if env.stdout_isatty else None)

    return Deferred(markdown)


class Deferred:
    """A sink made when first needed: rich and the markdown parser (~100 ms of imports)
    load in `sent`, which the engine runs while the server thinks, not before the
    request leaves. Until then nothing is drawn, so output is the made sink's own."""

    def __init__(self, make: Callable[[], TurnSink]) -> None:
        import threading

        self._make = make
        self._sink: TurnSink | None = None
        # `sent` runs on the engine's thread while the reader may already ask for the
        # sink (its `frame`): made twice, events would go to one and `end` to the other.
        self._lock = threading.Lock()

    def sent(self) -> None:
        self.sink.sent()

    @property
    def sink(self) -> TurnSink:
        with self._lock:
            if self._sink is None:
                self._sink = self._make()
            return self._sink

    @property
    def frame(self) -> float:
        return self.sink.frame

    def handle(self, event: Event) -> None:
        self.sink.handle(event)

    def flush(self) -> None:
        self.sink.flush()

    def end(self, result: TurnResult) -> None:
        self.sink.end(result)
