"""columns: a comparison's answers on a terminal, side by side or stacked, each line once."""

from __future__ import annotations

import io
import sys
import threading
import time
from pathlib import Path

import pexpect
import pyte
from rich.console import Console

from otchat.models import Error, ReasoningDelta, TextDelta, ToolCall, ToolResult, TurnResult, Usage
from otchat.term.columns import ColumnsView
from otchat.term.grid import Column, Layout
from otchat.term.sinks import speed_line

A = "\n\n".join(f"Alpha line {n}: the first model explains." for n in range(1, 9)) + "\n"
B = "\n\n".join(f"Beta line {n}: the second one too." for n in range(1, 9)) + "\n"
ROOT = Path(__file__).resolve().parent.parent
LONG = "\n\n".join(f"Gamma line {n} of a long answer." for n in range(1, 61)) + "\n"


class Screen:
    """A terminal of `width` x `height` fed what the console wrote; `lines()` is the
    scrollback (what scrolled off the top) and the screen, as a person reads them."""

    def __init__(self, width: int, height: int) -> None:
        self.screen = pyte.HistoryScreen(width, height, history=5000)
        self.width = width

    def feed(self, raw: str) -> Screen:
        pyte.Stream(self.screen).feed(raw.replace("\n", "\r\n"))  # the tty's onlcr
        return self

    def lines(self) -> list[str]:
        top = ["".join(line[x].data for x in range(self.width)).rstrip() for line in self.screen.history.top]
        return top + [line.rstrip() for line in self.screen.display]


def board(width, height=30, models=("model/a", "model/b"), clock=None, **kwargs):
    out = io.StringIO()
    console = Console(file=out, width=width, height=height, force_terminal=True, color_system="standard")
    return ColumnsView(console, list(models), clock=clock or (lambda: 0.0), interval=0.001, **kwargs), out


def stream(view, index, text, *, size=5, result=None, error=None):
    sink = view.sink(index)
    for at in range(0, len(text), size):
        sink.handle(TextDelta(text[at:at + size]))
        sink.flush()
    view.done(index, result or TurnResult(content=text, usage=Usage(10, 20), elapsed=2.0), error)


def in_threads(view, *jobs):
    """Each job (index, text, options) streamed by a thread of its own, all at once."""
    workers = [threading.Thread(target=stream, args=(view, index, text), kwargs=options)
               for index, text, options in jobs]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def shown(out, width, height=30):
    return Screen(width, height).feed(out.getvalue()).lines()


def row_of(lines, text):
    rows = [n for n, line in enumerate(lines) if text in line]
    assert len(rows) == 1, (text, rows)
    return rows[0]


def test_wide_answers_sit_side_by_side_line_for_line():
    view, out = board(120)
    in_threads(view, (0, A, {}), (1, B, {"size": 3}))
    view.close(interrupted=False)
    lines = shown(out, 120)
    header = row_of(lines, "model/a")
    assert "model/b" in lines[header] and lines[header].index("model/b") > 60
    for n in range(1, 9):
        row = lines[row_of(lines, f"Alpha line {n}:")]
        assert f"Beta line {n}:" in row  # the same row
        assert row.index("Alpha") == 0 and row.index("Beta") > 60


def test_narrow_answers_are_stacked_each_under_its_header():
    view, out = board(60)
    in_threads(view, (0, A, {}), (1, B, {}))
    view.close(interrupted=False)
    lines = shown(out, 60)
    alpha = [row_of(lines, f"Alpha line {n}:") for n in range(1, 9)]
    beta = [row_of(lines, f"Beta line {n}:") for n in range(1, 9)]
    assert row_of(lines, "model/a") < alpha[0] and alpha[-1] < row_of(lines, "model/b") < beta[0]
    assert all("Beta" not in lines[row] for row in alpha)


def test_every_line_of_a_long_answer_is_in_the_scrollback_once():
    # The long answer is twice the screen's height: the live display shows its last lines
    # only, so it never scrolls, and the final board leaves each line once.
    view, out = board(120, height=24)
    in_threads(view, (0, LONG, {"size": 4}), (1, B, {"size": 2}))
    view.close(interrupted=False)
    lines = shown(out, 120, height=24)
    for n in range(1, 61):
        row_of(lines, f"Gamma line {n} of")
    for n in range(1, 9):
        row_of(lines, f"Beta line {n}:")
    assert sum("model/a" in line for line in lines) == 1


def test_the_live_display_is_never_taller_than_the_screen():
    layout = Layout()
    columns = [Column("model/a", (LONG,), (), False, 1), Column("model/b", (B,), (), False, 1)]
    for width in (120, 60):  # side by side, and stacked
        console = Console(file=io.StringIO(), width=width, height=20)
        frame = console.render_lines(layout.cropped(lambda: columns), console.options, pad=False)
        text = "\n".join("".join(seg.text for seg in line) for line in frame)
        assert len(frame) <= 18
        # Both headers, and the last lines of each answer: the long one cropped from the top.
        assert "model/a" in text and "model/b" in text and "Beta line 8:" in text
        assert "Gamma line 60 of" in text and "Gamma line 1 of" not in text


def test_stacked_a_short_answer_leaves_its_rows_to_a_long_one():
    columns = [Column("model/a", (LONG,), (), False, 1), Column("model/b", ("Beta line 1.\n\nBeta line 2.\n",), (), False, 1)]
    console = Console(file=io.StringIO(), width=60, height=20)
    frame = console.render_lines(Layout().cropped(lambda: columns), console.options, pad=False)
    text = "\n".join("".join(seg.text for seg in line) for line in frame)
    assert len(frame) == 18 and "Beta line 1." in text  # all of b, and a fills the rest
    assert "Gamma line 55 of" in text and "Gamma line 54 of" not in text


def test_only_the_drawer_and_the_main_thread_write_to_the_terminal():
    writers = set()

    class Recording(io.StringIO):
        def write(self, text):
            writers.add(threading.current_thread().name)
            return super().write(text)

    console = Console(file=Recording(), width=120, height=20, force_terminal=True)
    view = ColumnsView(console, ["model/a", "model/b"], clock=lambda: 0.0, interval=0.001)
    in_threads(view, (0, LONG, {"size": 2}), (1, B, {"size": 1}))
    view.close(interrupted=False)
    assert writers <= {"otchat-columns", threading.main_thread().name} and threading.main_thread().name in writers


def test_each_column_has_its_usage_line_under_it():
    now = [100.0]
    view, out = board(120, clock=lambda: now[0])
    now[0] = 100.31
    stream(view, 0, "Alpha answer.\n", result=TurnResult(content="x", usage=Usage(120, 340), elapsed=2.41))
    now[0] = 101.0
    stream(view, 1, "Beta answer.\n", result=TurnResult(content="y", usage=None, elapsed=3.0))
    view.close(interrupted=False)
    lines = shown(out, 120)
    row = lines[row_of(lines, "0.31s to first token · 2.4s · 120 in / 340 out · 162 tok/s")]
    assert row.index("0.31s") == 0 and row_of(lines, "0.31s") > row_of(lines, "Alpha answer.")
    assert row.index("1.00s to first token · 3.0s · tokens not reported") > 60


def test_time_to_first_token_counts_from_when_the_request_left():
    now = [100.0]
    view, out = board(120, clock=lambda: now[0])
    sink = view.sink(0)
    now[0] = 100.2  # the question was logged, the request built and sent
    sink.sent()
    now[0] = 100.31
    sink.handle(TextDelta("Alpha answer.\n"))
    view.done(0, TurnResult(content="x", usage=Usage(120, 340), elapsed=2.41), None)
    view.done(1, TurnResult(interrupted=True), Error("refused", 4))
    view.close(interrupted=False)
    assert "0.11s to first token · 2.4s" in "\n".join(shown(out, 120))


def test_speed_line():
    result = TurnResult(usage=Usage(1200, 340), elapsed=2.41)
    assert speed_line(result, 0.31) == "0.31s to first token · 2.4s · 1,200 in / 340 out · 162 tok/s"
    assert speed_line(result, None) == "2.4s · 1,200 in / 340 out"  # no text came: no speed
    assert speed_line(TurnResult(usage=Usage(completion_tokens=5), elapsed=1.0, requests=2), 0.5) == \
        "0.50s to first token · 1.0s · 5 out · 10 tok/s · 2 requests"
    # An answer written all at once (one read) has no rate worth showing.
    assert speed_line(TurnResult(usage=Usage(11, 22), elapsed=0.03), 0.01) == "0.01s to first token · 0.0s · 11 in / 22 out"


def test_a_failed_model_shows_its_error_in_red_and_the_other_goes_on():
    view, out = board(120)
    in_threads(view, (0, A, {}), (1, "", {"result": TurnResult(interrupted=True, elapsed=0.2),
                                          "error": Error("404 Not Found: no such model", 4)}))
    view.close(interrupted=False)
    screen = Screen(120, 30).feed(out.getvalue())
    lines = screen.lines()
    row = row_of(lines, "error: 404 Not Found: no such model")
    column = lines[row].index("error:")
    assert column > 60 and screen.screen.buffer[row - len(screen.screen.history.top)][column].fg == "red"
    assert all(f"Alpha line {n}:" in "\n".join(lines) for n in range(1, 9))
    assert sum("tok/s" in line or "tokens not reported" in line for line in lines) == 1  # b had no reply
    assert "[interrupted]" not in "\n".join(lines)


def test_ctrl_c_keeps_what_arrived_and_marks_each_unfinished_column_once():
    view, out = board(120, models=("model/a", "model/b", "model/c"))
    stream(view, 0, "Alpha finished.\n")
    view.sink(1).handle(TextDelta("Beta was cut off in the mid"))
    view.sink(2).handle(TextDelta("Gamma got this far"))
    view.done(2, TurnResult(content="Gamma got this far", elapsed=1.0, interrupted=True), None)
    view.close(interrupted=True)
    view.sink(1).handle(TextDelta("dle: after the close"))  # a worker not yet stopped: not shown
    lines = shown(out, 120)
    text = "\n".join(lines)
    row = lines[row_of(lines, "Beta was cut off in the mid")]
    assert "Alpha finished." in row and "Gamma got this far" in row
    assert text.count("[interrupted]") == 2 and "after the close" not in text
    assert all(line.index("[interrupted]") > 30 for line in lines if "[interrupted]" in line)  # b and c, not a
    assert lines[row_of(lines, "Alpha finished.") + 1].startswith("0.00s to first token")


def test_reasoning_is_one_dim_line_and_tools_one_line_each():
    view, out = board(120)
    sink = view.sink(0)
    for event in [ReasoningDelta("Let me th"), ReasoningDelta("ink about it\nfor a while"),
                  ToolCall(0, "c1", "search", '{"query": "otters"}'), ToolResult("c1", "search", "found\nthree"),
                  TextDelta("The answer.\n")]:
        sink.handle(event)
    view.done(0, TurnResult(elapsed=1.0), None)
    stream(view, 1, "Beta.\n")
    view.close(interrupted=False)
    lines = shown(out, 120)
    assert row_of(lines, "(reasoning · 8 words, not shown)") < row_of(lines, 'tool call · search {"query":"otters"}')
    assert row_of(lines, "↳ search: found three") < row_of(lines, "The answer.")
    assert "Let me" not in "\n".join(lines)


def test_the_terminal_does_not_echo_while_the_live_display_is_drawn():
    calls = []

    def echo_off():
        calls.append("off")
        return lambda: calls.append("on")

    view, _ = board(120, echo_off=echo_off)
    in_threads(view, (0, A, {}), (1, B, {}))
    for _ in range(500):  # the drawer puts the live display up on its own thread, soon after
        if calls:
            break
        time.sleep(0.01)
    assert calls == ["off"]  # while drawn
    view.close(interrupted=False)
    assert calls == ["off", "on"]


def test_on_a_real_terminal_both_answers_share_rows_and_nothing_is_left_twice():
    rows, cols = 24, 120
    child = pexpect.spawn(sys.executable, ["-m", "tests.columns_driver", "--paragraphs", "30", "--delay", "0.002"],
                          env={"TERM": "xterm-256color", "PATH": "/usr/bin:/bin"}, dimensions=(rows, cols),
                          timeout=60, cwd=ROOT)
    raw = child.read()
    child.close()
    assert child.exitstatus == 0, raw[-2000:]
    screen = pyte.HistoryScreen(cols, rows, history=5000)
    pyte.ByteStream(screen).feed(raw)
    lines = ["".join(line[x].data for x in range(cols)).rstrip() for line in screen.history.top]
    lines += [line.rstrip() for line in screen.display]
    shown_lines = [line for line in lines if line.strip()]
    assert len(shown_lines) == len(set(shown_lines))  # nothing left twice by a redraw
    row = row_of(lines, "Model A says")
    assert "Model B says" in lines[row]
    assert "Point 1: the second model" in lines[row_of(lines, "Sunlight is scattered by the air")]
    for n in range(1, 31):
        row_of(lines, f"Point {n}: the second model")
    row_of(lines, "Rayleigh scattering, in short.")


def test_a_narrow_columns_usage_line_breaks_between_its_pieces_never_inside_one():
    result = TurnResult(content="x", usage=Usage(1200, 340), elapsed=2.41)
    now = [100.0]
    for width in (40, 80):  # stacked; side by side, 38 columns each
        now[0] = 100.0
        view, out = board(width, clock=lambda: now[0])
        now[0] = 100.31
        stream(view, 0, "Alpha answer.\n", result=result)
        stream(view, 1, "Beta answer.\n", result=result)
        view.close(interrupted=False)
        lines = shown(out, width)
        column = (width - 3) // 2 if width == 80 else width
        usage = [line for line in lines if "to first token" in line or "in / 340" in line or "tok/s" in line]
        assert len(usage) == (4 if width == 40 else 2), lines  # two lines each (side by side: the same two)
        pieces = ["0.31s to first token", "2.4s", "1,200 in / 340 out", "162 tok/s"]
        for line in usage:
            for half in ([line] if width == 40 else [line[:column], line[column + 3:]]):
                if half.strip():
                    assert len(half.rstrip()) <= column
                    assert all(piece.strip() in pieces for piece in half.strip().split(" · ")), (half, lines)


def test_a_warning_is_a_dim_line_in_its_column_and_v_lines_are_handed_on_after_the_board():
    logged = []
    view, out = board(120, log=lambda line: logged.append((line, out.getvalue().count("model/b"))))
    view.log(1, "> POST http://x/v1/chat/completions")
    view.warn(1, "500 Internal Server Error: busy; retrying in 0.5 s (1/2)")
    stream(view, 0, "Alpha answer.\n")
    stream(view, 1, "Beta answer.\n")
    view.close(interrupted=False)
    lines = shown(out, 120)
    row = row_of(lines, "warning: 500 Internal Server Error: busy; retrying in")
    assert lines[row].index("warning:") > 60 and row < row_of(lines, "Beta answer.")
    assert logged and logged[0][0] == "model/b: > POST http://x/v1/chat/completions" and logged[0][1] >= 1
