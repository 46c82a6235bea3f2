"""A comparison's answers laid out as lines: side by side or stacked, whole or cropped to the screen."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.rule import Rule
from rich.segment import Segment
from rich.text import Text

from ..models import PROSE, Prose
from .live import tail_source
from .markdown import CommitMarkdown, StreamMarkdown, TailMarkdown, Trimmed, with_links
from .widths import agreed

MIN_WIDTH = 40  # columns each answer needs to sit beside the others
GAP = 3  # spaces between two columns

Lines = list[list[Segment]]


@dataclass(frozen=True, slots=True)
class Column:
    """What one model's column shows at one moment: taken under the board's lock, drawn outside it."""

    model: str
    pieces: tuple[str | Text, ...]  # markdown runs and dim one-line notes, in the order they came
    footer: tuple[Text | Parts, ...]  # its error, "[interrupted]", its usage line
    waiting: bool  # nothing arrived yet and it is not done
    version: int  # changes whenever anything above does


class Parts:
    """Pieces of one line joined by ` · `: a line too narrow for them all breaks between two
    pieces, never inside one (a column's usage line: "1,200 in / 340 out" stays together)."""

    def __init__(self, parts: Sequence[str], style: str = "") -> None:
        self.parts = parts
        self.style = style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines: list[str] = []
        for part in self.parts:
            joined = f"{lines[-1]} · {part}" if lines else part
            if lines and cell_len(joined) <= options.max_width:
                lines[-1] = joined
            else:
                lines.append(part)
        yield Text("\n".join(lines), style=self.style)


def side_by_side(width: int, count: int) -> bool:
    return width // max(count, 1) >= MIN_WIDTH


class Layout:
    """Renders the columns: `whole` for the final print, `cropped` for the live display.

    A live frame renders only the lines that fit: the last source lines of each answer's
    markdown (about as many as there are rows), so a frame costs the screen, not the
    answer; a column that did not change since the last frame is not rendered again."""

    def __init__(self, prose: Prose = PROSE) -> None:
        self.commit = with_links(CommitMarkdown, prose)
        self.tail = with_links(TailMarkdown, prose)
        self._cache: dict[int, tuple[tuple[int, int, int], Lines]] = {}

    def whole(self, columns: Sequence[Column]) -> Board:
        return Board(self, columns)

    def cropped(self, columns: Callable[[], Sequence[Column]]) -> LiveBoard:
        return LiveBoard(self, columns)

    def body(self, console: Console, options: ConsoleOptions, index: int, column: Column,
             keep: int | None) -> Lines:
        """The rendered lines of a column's answer: all of them, or only the last `keep`."""
        if keep is None:
            return self._render(console, options, column, None, self.commit)
        key = (column.version, options.max_width, keep)
        cached = self._cache.get(index)
        if cached is not None and cached[0] == key:
            return cached[1]
        lines = self._render(console, options, column, keep, self.tail)
        self._cache[index] = (key, lines)
        return lines

    def _render(self, console: Console, options: ConsoleOptions, column: Column, keep: int | None,
                markdown: Callable[[str], StreamMarkdown]) -> Lines:
        if keep is not None and column.waiting:
            return console.render_lines(Text("…", style="dim"), options, pad=False)
        lines: Lines = []
        for piece in reversed(column.pieces):  # from the end: a live frame wants the last lines only
            if keep is not None and len(lines) >= keep:
                break
            if isinstance(piece, Text):
                part = console.render_lines(piece, options, pad=False)
            else:
                source = piece if keep is None else agreed(tail_source(piece, keep - len(lines)))
                if not source.strip():
                    continue
                part = console.render_lines(Trimmed(markdown(source)), options, pad=False)
            lines[:0] = part
        return lines if keep is None else lines[-keep:]


class Board:
    """Every line of every answer, each column under its header, its footer below it."""

    def __init__(self, layout: Layout, columns: Sequence[Column]) -> None:
        self.layout = layout
        self.columns = columns

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.lines(console, options, None)

    def lines(self, console: Console, options: ConsoleOptions, rows: int | None) -> RenderResult:
        """The board's lines, at most `rows` of them when given (each answer cropped from the top)."""
        count = len(self.columns)
        if not count:
            return
        wide = side_by_side(options.max_width, count)
        width = (options.max_width - GAP * (count - 1)) // count if wide else options.max_width
        narrow = options.update_width(width)
        footers = [_render_all(console, narrow, column.footer) for column in self.columns]
        keep: int | None = None
        if rows is not None:
            fixed = 1 + max(len(footer) for footer in footers) if wide else \
                count + sum(len(footer) for footer in footers) + count - 1  # headers, footers, blank lines
            keep = max(1, rows - fixed)
        bodies = [self.layout.body(console, narrow, index, column, keep) for index, column in enumerate(self.columns)]
        if keep is not None and not wide:  # stacked: one screen shared out, short answers first
            bodies = [body[len(body) - share:] for body, share in zip(bodies, _shares(bodies, keep), strict=True)]
        blocks = [[*console.render_lines(_header(column.model), narrow, pad=False), *body, *footer]
                  for column, body, footer in zip(self.columns, bodies, footers, strict=True)]
        newline = Segment.line()
        if not wide:
            for index, block in enumerate(blocks):
                if index:
                    yield newline
                for line in block:
                    yield from line
                    yield newline
            return
        blank, gap = Segment(" " * width), Segment(" " * GAP)
        for row in range(max(len(block) for block in blocks)):
            for index, block in enumerate(blocks):
                last = index == count - 1
                if index:
                    yield gap
                if row < len(block):
                    # Padded to the column's width, but the last: no spaces at the ends of lines.
                    yield from block[row] if last else Segment.adjust_line_length(block[row], width)
                elif not last:
                    yield blank
            yield newline


class LiveBoard:
    """The live display's renderable: the columns as they are now, no taller than the screen
    (a live region taller than the screen scrolls, and what scrolled off is left twice)."""

    def __init__(self, layout: Layout, columns: Callable[[], Sequence[Column]]) -> None:
        self.layout = layout
        self.columns = columns

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rows = max(3, console.size.height - 2)
        yield from Board(self.layout, self.columns()).lines(console, options, rows)


def _shares(bodies: Sequence[Lines], rows: int) -> list[int]:
    """How many of `rows` each body gets: all it has when that is under an even share,
    the rest evenly among the longer ones (at least one line each)."""
    shares = [0] * len(bodies)
    left, waiting = rows, sorted(range(len(bodies)), key=lambda index: len(bodies[index]))
    while waiting:
        even = max(1, left // len(waiting))
        index = waiting.pop(0)
        shares[index] = min(len(bodies[index]), even)
        left -= shares[index]
    return shares


def _header(model: str) -> Rule:
    return Rule(Text(model, style="bold"), align="left", style="dim")


def _render_all(console: Console, options: ConsoleOptions, texts: Sequence[RenderableType]) -> Lines:
    return [line for text in texts for line in console.render_lines(text, options, pad=False)]
