"""What a person sees: otchat in a real pseudo-terminal, its screen read back with pyte."""

import re
import socket
import time

import pexpect
import pyte
import pytest

from tests.conftest import KEY, OTCHAT, clean_environ
from tests.fakeserver import Stream, error, paused_text, text_chunks, tool_call_chunks
from tests.helpers import drawn, run_in_pty

ANSWER = """## Why the sky is blue

Sunlight is **scattered** by the air; blue light scatters the most.

1. Light enters the atmosphere.
2. Short wavelengths scatter.

```python
def colour(wavelength):
    return "blue" if wavelength < 500 else "red"
```

## In short

Rayleigh scattering.
"""

ROWS, COLS = 60, 90  # run_in_pty's terminal


def test_markdown_is_rendered_not_shown_raw(server, home):
    server.enqueue(Stream(text_chunks(ANSWER, 3), piece_delay=0.001))
    code, lines, raw = run_in_pty(server, home, "why is the sky blue")
    text = "\n".join(lines)
    assert code == 0
    assert "Why the sky is blue" in text and "In short" in text
    assert "return \"blue\" if wavelength < 500" in text
    assert "##" not in text and "```" not in text and "**" not in text
    assert text.count("Rayleigh scattering.") == 1 and text.count("Short wavelengths scatter.") == 1
    assert "11 in · 22 out" in text  # the dim usage line
    assert KEY.encode() not in raw


def test_tool_calls_are_panels(server, home):
    server.enqueue(Stream(tool_call_chunks([("firecrawl_scrape", '{"url": "https://example.com"}')],
                                           text="Let me look.")))
    code, lines, _ = run_in_pty(server, home, "-t", "firecrawl", "look")
    text = "\n".join(lines)
    assert code == 9
    assert "tool call · firecrawl_scrape" in text and '"url": "https://example.com"' in text
    assert "╭" in text  # drawn as a panel


def test_term_dumb_gets_plain_text(server, home):
    server.enqueue(Stream(text_chunks("## Raw heading\n", 3)))
    code, lines, raw = run_in_pty(server, home, "hi", env={"TERM": "dumb"})
    assert code == 0 and "## Raw heading" in "\n".join(lines) and b"\x1b[" not in raw


def test_term_dumb_shows_the_reasoning_set_apart_before_the_answer(server, home):
    server.enqueue(Stream(text_chunks("The answer.", 3, reasoning="First this.\nThen that.")))
    code, lines, raw = run_in_pty(server, home, "hi", env={"TERM": "dumb"})
    assert code == 0 and b"\x1b[" not in raw
    start = lines.index("> First this.")
    assert lines[start:start + 4] == ["> First this.", "> Then that.", "", "The answer."]


def test_a_silent_server_gets_a_waiting_line_that_the_answer_replaces(server, home):
    server.enqueue(Stream(text_chunks("Here at last."), first_byte_delay=1.5))
    code, lines, raw = run_in_pty(server, home, "hi")
    assert code == 0
    assert not any("waiting" in line for line in lines)  # replaced: not on the final screen
    assert "Here at last." in "\n".join(lines)
    assert re.search(rb"waiting for [\w/.-]+ \xc2\xb7 [01]\.\d+s", raw)


def test_a_quick_answer_and_a_pipe_get_no_waiting_line(server, home, otchat):
    code, lines, raw = run_in_pty(server, home, "hi")
    assert code == 0 and b"waiting" not in raw
    server.enqueue(Stream(text_chunks("late"), first_byte_delay=1.0))
    r = otchat("hi")
    assert r.stdout == "late\n" and "waiting" not in r.stderr


def test_skin_tone_emoji_never_leave_a_copy_of_the_answer_on_screen(server, home):
    """rich counts 👋🏽 as 2 cells, a terminal with wcwidth (tmux 3.3a; pyte here) as 4: the live
    tail's redraws must not move up over fewer lines than the terminal drew."""
    answer = " ".join(f"wave{n} 👋🏽👋🏽" for n in range(40)) + "\n\nThe end."
    server.enqueue(Stream(text_chunks(answer, 6), piece_delay=0.004))
    code, lines, raw = run_in_pty(server, home, "wave", dimensions=(50, 40))
    assert code == 0
    # Joined without separators: a word the terminal itself wrapped (rich laid the committed
    # lines out narrower than they are drawn) still reads whole; a copy would read twice.
    text = "".join(lines)
    assert [len(re.findall(rf"wave{n}(?!\d)", text)) for n in range(40)] == [1] * 40, "\n".join(lines)
    assert text.count("The end.") == 1


def test_input_placeholder_with_a_terminal_on_stdin_is_refused(server, home):
    code, lines, _ = run_in_pty(server, home, "translate {input} to French")
    text = "\n".join(lines)
    assert code == 2 and "otchat: error: the prompt has {input}" in text and server.requests == []


def closed_port():
    """A local port nothing listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("kind, code, message", [
    ("refused", 6, "cannot connect to 127.0.0.1:"),
    ("401", 3, "401 Unauthorized: bad key"),
    ("404", 4, "404 Not Found: no such model"),
    ("500", 5, "500 Internal Server Error: overloaded"),
])
def test_a_request_that_fails_before_a_reply_is_one_error_line(server, home, kind, code, message):
    args = ["--retries", "0"]
    if kind == "refused":
        args += ["--base-url", f"http://127.0.0.1:{closed_port()}/v1"]
    else:
        server.enqueue(error(int(kind), {"error": {"message": message.split(": ")[1]}}))
    exit_code, lines, raw = run_in_pty(server, home, *args, "hello")
    text = "\n".join(lines)
    assert exit_code == code
    # Nothing was interrupted and no reply exists: no "[interrupted]", no usage line.
    assert "[interrupted]" not in text and "tokens not reported" not in text
    shown = [line for line in lines if line]
    assert shown[0].startswith(f"otchat: error: {message}")
    assert raw.count(b"\n") == 1  # the one line is all there is


PARAGRAPHS = [f"Paragraph {n}: the model explains one more thing about the sky here." for n in range(1, 6)]
BEFORE_PAUSE = "".join(f"{p}\n\n" for p in PARAGRAPHS) + "The sixth paragraph has begun and"


def paused_reply():
    return paused_text(BEFORE_PAUSE, " it ends after the pause.\n", 30.0, piece_delay=0.02)


def test_ctrl_c_mid_markdown_leaves_every_shown_line_once(server, home):
    server.enqueue(paused_reply())
    extra = {"OTCHAT_BASE_URL": server.url, "OPENTOOLS_API_KEY": KEY, "TERM": "xterm-256color"}
    child = pexpect.spawn(str(OTCHAT), ["tell me about the sky"], env=clean_environ(home, **extra),
                          dimensions=(ROWS, COLS), timeout=30)
    child.expect("The sixth paragraph has begun and")  # the live tail is on the screen
    time.sleep(0.3)  # let its repaint settle, as a person would read before pressing Ctrl-C
    child.sendintr()  # the terminal echoes "^C" unless told not to
    raw = child.before + child.after + child.read()
    child.close()
    shown = [line for line in drawn(raw, COLS, ROWS) if line]
    assert child.exitstatus == 130
    assert shown[:-1] == [*PARAGRAPHS, "The sixth paragraph has begun and", "[interrupted]"]
    assert shown[-1].startswith("tokens not reported · ")


def test_the_terminal_echoes_again_after_a_reply(server, home):
    server.enqueue(Stream(text_chunks("Some *markdown* reply.\n\nIn two paragraphs.\n", 3), piece_delay=0.01))
    extra = {"OTCHAT_BASE_URL": server.url, "OPENTOOLS_API_KEY": KEY, "TERM": "xterm-256color"}
    child = pexpect.spawn("sh", ["-c", f"'{OTCHAT}' hello; stty -a"], env=clean_environ(home, **extra),
                          dimensions=(ROWS, COLS), timeout=30)
    raw = child.read()
    child.close()
    assert b"In two paragraphs." in raw
    assert re.search(rb"(^|\s)echo(\s|$)", raw.rsplit(b"In two paragraphs.", 1)[1])  # not "-echo"


def test_schema_shows_a_spinner_then_only_the_indented_json(server, home):
    server.enqueue(Stream(text_chunks('{"name": 7}', 3)), Stream(text_chunks('{"name": "Otto", "age": 3}', 3)))
    code, lines, raw = run_in_pty(server, home, "--schema", "name, age int", "an otter")
    assert code == 0
    assert b"attempt 1 of 3" in raw and b"attempt 2 of 3" in raw  # the spinner said which attempt ran
    assert [line for line in lines if line] == ["{", '  "name": "Otto",', '  "age": 3', "}"]
    assert b'"name": 7' not in raw  # the invalid reply was never shown


def test_a_comparison_on_a_wide_terminal_shows_the_answers_side_by_side(server, home):
    server.per_model["a/one"] = Stream(text_chunks("## Otters\n\nOtters hold hands asleep.\n", 3), piece_delay=0.01)
    server.per_model["b/two"] = Stream(text_chunks("## Beavers\n\nBeavers build dams.\n", 3), piece_delay=0.01)
    extra = {"OTCHAT_BASE_URL": server.url, "OPENTOOLS_API_KEY": KEY, "TERM": "xterm-256color"}
    child = pexpect.spawn(str(OTCHAT), ["-m", "a/one", "-m", "b/two", "tell me"], env=clean_environ(home, **extra),
                           dimensions=(ROWS, 100), timeout=30)
    raw = child.read()
    child.close()
    screen = pyte.Screen(100, ROWS)
    pyte.ByteStream(screen).feed(raw)
    lines = [line.rstrip() for line in screen.display]
    assert child.exitstatus == 0
    both = [line for line in lines if "a/one" in line and "b/two" in line]  # the headers share a row
    assert len(both) == 1
    row = next(line for line in lines if "Otters hold hands asleep." in line)
    assert "Beavers build dams." in row  # the answers too
    assert sum("Otters hold hands asleep." in line for line in lines) == 1  # each line once
    assert sum(line.count("to first token") for line in lines) == 2  # a usage line under each
