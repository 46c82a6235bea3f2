"""A comparison on a real terminal, against the fake server: the board owns the screen while it
is drawn (a model's retry notice is a line in its column, -v lines follow the board), and the
final screen holds each header once."""

from __future__ import annotations

import pyte

from tests.fakeserver import Stream, error, text_chunks
from tests.helpers import run_in_pty

ROWS = 40
FAIL = error(500, {"error": {"message": "overloaded, try later"}})


def answer(name: str, lines: int = 20) -> Stream:
    text = "\n\n".join(f"{name} line {n} of its answer." for n in range(1, lines + 1)) + "\n"
    return Stream(text_chunks(text, 6), piece_delay=0.02)  # about two seconds: the board is live meanwhile


def scrollback(raw: bytes, cols: int) -> list[str]:
    """Every line that scrolled off the top, then the screen: what a person can scroll back to."""
    screen = pyte.HistoryScreen(cols, ROWS, history=5000)
    pyte.ByteStream(screen).feed(raw)
    top = ["".join(line[x].data for x in range(cols)).rstrip() for line in screen.history.top]
    return top + [line.rstrip() for line in screen.display]


def headers(lines: list[str], model: str) -> list[int]:
    """The rows where `model`'s header is (a rule: its name, then a line)."""
    return [n for n, line in enumerate(lines) for _ in range(line.count(model + " ─"))]


def three_models(server, *, fails: bool = True) -> None:
    server.per_model["a/one"] = lambda body: answer("Alpha")
    server.per_model["b/five"] = (lambda body: FAIL) if fails else [FAIL, answer("Beta", 4)]
    server.per_model["c/three"] = lambda body: answer("Gamma")


def test_a_retry_notice_is_a_line_in_its_models_column_and_each_header_shows_once(server, home):
    three_models(server)
    for cols in (100, 130):  # stacked (100 // 3 < 40), and side by side
        # Two retries: the second notice comes while the live display is up.
        code, _, raw = run_in_pty(server, home, "-m", "a/one", "-m", "b/five", "-m", "c/three", "--retries", "2",
                                  "hi", dimensions=(ROWS, cols))
        lines = scrollback(raw, cols)
        text = "\n".join(lines)
        assert code == 5, text
        assert "otchat: warning" not in text  # nothing written behind the live display's back
        for model in ("a/one", "b/five", "c/three"):
            assert len(headers(lines, model)) == 1, (model, text)
        notices = [n for n, line in enumerate(lines) if "warning: 500 Internal Server Error" in line]
        assert len(notices) == 2 and "retrying" in text, text
        if cols == 100:  # in b/five's block, under its header
            assert headers(lines, "b/five")[0] < notices[0] < notices[1] < headers(lines, "c/three")[0], text
            assert all(lines[n].startswith("warning: 500 Internal Server Error: overloaded") for n in notices)
            assert "retrying in" in lines[notices[0]] and "(2/2)" in lines[notices[1]]
            block = "\n".join(lines[headers(lines, "b/five")[0]:headers(lines, "c/three")[0]])
            assert "error: 500" in block and "tokens not reported" not in block  # no reply, no usage line
        else:  # in b/five's column
            column = lines[headers(lines, "a/one")[0]].index("b/five")
            assert all(lines[n].index("warning: 500") == column for n in notices)
        for n in (1, 20):  # every line of the answers once: no stale frame left behind
            assert sum(f"Alpha line {n} of" in line for line in lines) == 1, text
            assert sum(f"Gamma line {n} of" in line for line in lines) == 1, text


def test_verbose_request_logs_follow_the_board_each_naming_its_model(server, home):
    three_models(server, fails=False)
    code, _, raw = run_in_pty(server, home, "-v", "-m", "a/one", "-m", "b/five", "-m", "c/three", "--retries", "1",
                              "hi", dimensions=(ROWS, 100))
    lines = scrollback(raw, 100)
    text = "\n".join(lines)
    assert code == 0, text
    last = max(n for n, line in enumerate(lines) if "to first token" in line)  # the board's last line
    logs = [n for n, line in enumerate(lines) if "> POST " in line or "< 200" in line]
    assert logs and all(n > last for n in logs), text
    for model in ("a/one", "b/five", "c/three"):
        assert any(lines[n].startswith(f"{model}: > POST ") for n in logs), text
    for model in ("a/one", "b/five", "c/three"):
        assert len(headers(lines, model)) == 1, (model, text)
