"""Boards that show a comparison's answers away from the side-by-side columns: stacked plain text,
a JSON array, tagged JSONL; and `make_board`, the one place that picks a board."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, Protocol

from ..env import Env
from ..models import PROSE, Error, Event, Prose, TurnResult
from ..plan import Format, Output
from ..seams import Board
from .output import TYPING_FRAME, choose_format
from .sinks import PlainSink, event_json, turn_json


def make_board(env: Env, models: list[str], output: Output, clock: Callable[[], float], *,
               prose: Prose = PROSE) -> Board:
    """The board for `output` on this Env's streams (`clock` times the terminal view's usage lines)."""
    fmt = choose_format(output.format, env.stdout_isatty, env.environ.get("TERM"))
    if fmt == Format.json:
        return JsonBoard(env, models)
    if fmt == Format.jsonl:
        return JsonlBoard(env, models)
    if fmt == Format.markdown:  # side by side, or stacked under headers when the terminal is narrow
        from .columns import ColumnsView
        from .console import console_for

        return ColumnsView(console_for(env), models, clock=clock, prose=prose, echo_off=env.echo_off, log=env.log)
    return StackedBoard(env, models, usage=output.usage, verbose=output.verbose,
                        frame=TYPING_FRAME if env.stdout_isatty else 0.0)


class _Tagged(Protocol):
    def handle(self, index: int, event: Event) -> None: ...

    def flush(self, index: int) -> None: ...


class _Held:
    """The models' warnings and -v lines, each model's kept until it can be written whole, on
    stderr, after what the board wrote of that model (never from within a worker's diversion)."""

    def __init__(self, env: Env, models: list[str]) -> None:
        self.env = env
        self.models = models
        self.lock = threading.Lock()
        self.lines: list[list[tuple[bool, str]]] = [[] for _ in models]

    def warn(self, index: int, message: str) -> None:
        with self.lock:
            self.lines[index].append((True, message))

    def log(self, index: int, line: str) -> None:
        with self.lock:
            self.lines[index].append((False, line))

    def write(self, index: int) -> None:
        """Model `index`'s lines, each naming it."""
        with self.lock:
            lines, self.lines[index] = self.lines[index], []
        model = self.models[index]
        for warning, line in lines:
            if warning:
                self.env.warn(f"{model}: {line}")
            else:
                self.env.log(f"{model}: {line}")


class _Lane:
    """The sink of one model on a board: events go to the board, tagged with the model's index."""

    def __init__(self, board: _Tagged, index: int, frame: float = 0.0) -> None:
        self.board = board
        self.index = index
        self.frame = frame

    def sent(self) -> None:
        pass

    def handle(self, event: Event) -> None:
        self.board.handle(self.index, event)

    def flush(self) -> None:
        self.board.flush(self.index)


class StackedBoard:
    """Each answer whole, in the order named, under `== MODEL ==`, a blank line between answers;
    nothing interleaved. The first answer not yet shown streams as it arrives; the others are kept
    until their turn. Each is drawn as a pipe draws one answer (tool calls, usage with -u and
    reasoning with -v on stderr); a model's warnings, -v lines and error follow its answer on
    stderr, each naming the model."""

    def __init__(self, env: Env, models: list[str], *, usage: bool = False, verbose: bool = False,
                 frame: float = 0.0) -> None:
        self.env = env
        self.models = models
        self.frame = frame
        self.lock = threading.Lock()
        self.held = _Held(env, models)
        self.sinks = [PlainSink(env.stdout, env.stderr, show_usage=usage, verbose=verbose) for _ in models]
        self.waiting: list[list[Event]] = [[] for _ in models]
        self.finished: dict[int, tuple[TurnResult, Error | None]] = {}
        self.head = 0  # the answer on show: earlier ones are whole, later ones wait
        self.opened = -1  # the last answer whose header is out

    def sink(self, index: int) -> _Lane:
        return _Lane(self, index, self.frame)

    def warn(self, index: int, message: str) -> None:
        self.held.warn(index, message)

    def log(self, index: int, line: str) -> None:
        self.held.log(index, line)

    def handle(self, index: int, event: Event) -> None:
        with self.lock:
            if index == self.head:
                self._open(index)
                self.sinks[index].handle(event)
            else:
                self.waiting[index].append(event)

    def flush(self, index: int) -> None:
        with self.lock:
            if index == self.head:
                self.sinks[index].flush()

    def done(self, index: int, result: TurnResult, error: Error | None) -> None:
        with self.lock:
            self.finished[index] = (result, error)
            self._advance()

    def close(self, interrupted: bool) -> None:
        with self.lock:
            for index in range(self.head, len(self.models)):  # not reported done: cut short
                self.finished.setdefault(index, (TurnResult(interrupted=True), None))
            self._advance()

    def _advance(self) -> None:
        """Show every answer that is whole, in order; the next one starts streaming."""
        while self.head in self.finished:
            index = self.head
            self._open(index)
            result, error = self.finished[index]
            self.sinks[index].end(result)
            self.held.write(index)
            if error is not None:
                self.env.error(f"{self.models[index]}: {error.message}")
            self.head += 1
        if self.head < len(self.models) and self.waiting[self.head]:
            self._open(self.head)

    def _open(self, index: int) -> None:
        """The header of answer `index`, then what it has sent so far."""
        if self.opened >= index:
            return
        self.opened = index
        self.env.stdout.write(("\n" if index else "") + f"== {self.models[index]} ==\n")
        sink, events, self.waiting[index] = self.sinks[index], self.waiting[index], []
        for event in events:
            sink.handle(event)
        sink.flush()


class JsonBoard:
    """With --json: one array, in the order named, of each answer's one-shot JSON object."""

    def __init__(self, env: Env, models: list[str]) -> None:
        self.env = env
        self.models = models
        self.finished: dict[int, tuple[TurnResult, Error | None]] = {}
        self.lock = threading.Lock()
        self.held = _Held(env, models)

    def sink(self, index: int) -> _Lane:
        return _Lane(self, index)

    def warn(self, index: int, message: str) -> None:
        self.held.warn(index, message)

    def log(self, index: int, line: str) -> None:
        self.held.log(index, line)

    def handle(self, index: int, event: Event) -> None:
        pass

    def flush(self, index: int) -> None:
        pass

    def done(self, index: int, result: TurnResult, error: Error | None) -> None:
        with self.lock:
            self.finished[index] = (result, error)

    def close(self, interrupted: bool) -> None:
        cut = (TurnResult(interrupted=True), None)
        items = [turn_json(*self.finished.get(i, cut), model=model) for i, model in enumerate(self.models)]
        self.env.stdout.write(json.dumps(items, ensure_ascii=False) + "\n")
        self.env.stdout.flush()
        for index in range(len(self.models)):  # after the array
            self.held.write(index)


class JsonlBoard:
    """With --format jsonl: every model's events as they arrive, each line tagged with its `model`."""

    def __init__(self, env: Env, models: list[str]) -> None:
        self.env = env
        self.models = models
        self.lock = threading.Lock()
        self.held = _Held(env, models)

    def sink(self, index: int) -> _Lane:
        return _Lane(self, index)

    def warn(self, index: int, message: str) -> None:
        self.held.warn(index, message)

    def log(self, index: int, line: str) -> None:
        self.held.log(index, line)

    def handle(self, index: int, event: Event) -> None:
        data = event_json(event)
        if data is not None:
            self._write(index, data)

    def flush(self, index: int) -> None:
        with self.lock:
            self.env.stdout.flush()

    def done(self, index: int, result: TurnResult, error: Error | None) -> None:
        if error is not None:
            self.handle(index, error)
        self.flush(index)
        self.held.write(index)  # after its last line

    def close(self, interrupted: bool) -> None:
        self.env.stdout.flush()
        for index in range(len(self.models)):  # those cut short
            self.held.write(index)

    def _write(self, index: int, data: dict[str, Any]) -> None:
        line = json.dumps({"type": data.pop("type"), "model": self.models[index], **data}, ensure_ascii=False)
        with self.lock:
            self.env.stdout.write(line + "\n")
