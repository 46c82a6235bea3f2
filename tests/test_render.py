"""render and live: what each sink prints for a stream of events."""

import io
import json
import os
import re

from rich.console import Console

from otchat.models import Error, Finish, ReasoningDelta, TextDelta, ToolCall, TurnResult, Usage
from otchat.term.live import MarkdownSink, tail_source
from otchat.term.output import choose_format
from otchat.term.sinks import JsonlSink, JsonSink, PlainSink, usage_line
from tests.helpers import Tick, drawn

CALL = ToolCall(0, "call_1", "search", '{"query": "otters"}')
RESULT = TurnResult(id="g", model="m", content="Hello world", tool_calls=[CALL], finish_reason="stop",
                    usage=Usage(3, 4, 7, {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}),
                    elapsed=1.25)


def feed(sink, events, result=RESULT):
    for event in events:
        sink.handle(event)
        sink.flush()
    sink.end(result)


EVENTS = [ReasoningDelta("hmm"), TextDelta("Hello"), TextDelta(" world"), CALL, RESULT.usage, Finish("stop")]


def test_plain_is_exactly_the_text_plus_one_newline():
    out, err = io.StringIO(), io.StringIO()
    feed(PlainSink(out, err), EVENTS)
    assert out.getvalue() == "Hello world\n"
    assert err.getvalue() == 'tool call: search {"query":"otters"}\n'


def test_plain_does_not_double_a_final_newline():
    out = io.StringIO()
    feed(PlainSink(out, io.StringIO()), [TextDelta("line\n")])
    assert out.getvalue() == "line\n"


def test_plain_usage_and_reasoning_go_to_stderr_when_asked():
    out, err = io.StringIO(), io.StringIO()
    feed(PlainSink(out, err, show_usage=True, verbose=True), EVENTS)
    assert out.getvalue() == "Hello world\n"
    assert err.getvalue().startswith("hmm")
    assert "usage: 3 in · 4 out · 1.2 s · m" in err.getvalue()


def test_json_is_one_final_object():
    out = io.StringIO()
    feed(JsonSink(out), EVENTS)
    data = json.loads(out.getvalue())
    assert data == {"id": "g", "model": "m", "content": "Hello world", "finish_reason": "stop",
                    "tool_calls": [{"id": "call_1", "type": "function",
                                    "function": {"name": "search", "arguments": '{"query": "otters"}'}}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}, "latency": 1.25}


def test_json_of_a_failed_turn_keeps_the_partial_content():
    out = io.StringIO()
    sink = JsonSink(out)
    feed(sink, [TextDelta("part"), Error("boom", 7)], TurnResult(content="part", interrupted=True))
    data = json.loads(out.getvalue())
    assert data["content"] == "part" and data["interrupted"] and data["error"]["exit_code"] == 7


def test_jsonl_is_typed_events_in_order():
    out = io.StringIO()
    feed(JsonlSink(out), EVENTS + [Error("x", 5)])
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["type"] for line in lines] == ["reasoning", "text", "text", "tool_call", "usage", "finish", "error"]
    assert lines[3] == {"type": "tool_call", "id": "call_1", "name": "search", "arguments": '{"query": "otters"}'}


def test_choose_format():
    assert choose_format("auto", True, "xterm") == "markdown"
    assert choose_format("auto", True, "dumb") == "plain"
    assert choose_format("auto", False, "xterm") == "plain"
    assert choose_format("markdown", False, None) == "markdown"


def test_usage_line_without_usage():
    assert usage_line(TurnResult(elapsed=2)) == "tokens not reported · 2.0 s"


MARKDOWN = """# Release notes

Some **bold** intro text that is long enough to wrap a little on a narrow terminal.

- first item
- second item

```python
def f():
    return 1
```

| a | b |
|---|---|
| 1 | 2 |

> a quote

Final paragraph.
"""


def render_streamed(text, step, width=60, height=200):
    buf = io.StringIO()
    console = Console(file=buf, width=width, height=height, force_terminal=True, color_system=None,
                      legacy_windows=False)
    sink = MarkdownSink(console, clock=Tick(), show_usage=False)
    for i in range(0, len(text), step):
        sink.handle(TextDelta(text[i : i + step]))
        sink.flush()
    sink.end(TurnResult(content=text))
    return buf.getvalue()


def screen_of(raw, width=60, height=200):
    return drawn(raw, width, height, onlcr=True)


def render_whole(text, width=60):
    from rich.markdown import Markdown

    buf = io.StringIO()
    Console(file=buf, width=width, force_terminal=True, color_system=None).print(Markdown(text))
    return [line.rstrip() for line in buf.getvalue().splitlines()]


def nonblank(lines):
    return [line for line in lines if line.strip()]


def test_streamed_markdown_screen_equals_a_whole_render():
    for step in (1, 3, 17, len(MARKDOWN)):
        screen = screen_of(render_streamed(MARKDOWN, step))
        assert nonblank(screen) == nonblank(render_whole(MARKDOWN)), step
        text = "\n".join(screen)
        assert "# Release" not in text and "```" not in text and "**" not in text


def paragraphs(n):
    return "".join(f"Paragraph {i} with a few words of text.\n\n" for i in range(n))


def test_finished_blocks_are_printed_once():
    raw = render_streamed(paragraphs(400), 7)
    # A block is redrawn while it is the tail (until the next block's first whole line
    # arrives: ~6 ticks here), then printed once and never again; a naive live renderer
    # would redraw it on every one of the ~2,300 ticks.
    assert raw.count("Paragraph 0 with a few words of text.") <= 8
    assert nonblank(screen_of(raw, height=1000)).count("Paragraph 0 with a few words of text.") == 1


def test_each_finished_block_is_rendered_once():
    """Count the markdown renders of a scripted long stream: every paragraph is rendered
    once when it is committed, and at most once more as part of the unfinished tail."""
    from otchat.term.live import MarkdownStream
    from otchat.term.markdown import CommitMarkdown

    rendered: list[str] = []

    class Counting(CommitMarkdown):
        def __init__(self, markup, parsed=None):
            rendered.append(markup)
            super().__init__(markup, parsed)

    text = paragraphs(300)
    console = Console(file=io.StringIO(), width=60, height=40, force_terminal=True, color_system=None)
    stream = MarkdownStream(console, clock=Tick(), interval=0.08, paint_interval=1e9, markdown=Counting)
    for i in range(0, len(text), 7):
        stream.feed(text[i : i + 7])
        stream.tick()
    stream.close()
    for i in range(300):
        line = f"Paragraph {i} with a few words of text."
        assert 1 <= sum(line in r for r in rendered) <= 2, i
    assert len(rendered) < 2 * 300 + 5  # no render per tick (there were ~2,300 ticks)


def test_render_cost_is_linear_not_quadratic():
    small, large = len(render_streamed(paragraphs(200), 7)), len(render_streamed(paragraphs(400), 7))
    assert large < 2.3 * small  # doubling the answer doubles the output; quadratic would quadruple


def test_long_code_block_tail_shows_only_what_fits():
    source = "```\n" + "".join(f"line {i}\n" for i in range(100))
    tail = tail_source(source, 10)
    assert tail.startswith("```\n") and tail.count("\n") == 10 and "line 99" in tail


def test_tool_call_panel_and_usage_line():
    buf = io.StringIO()
    console = Console(file=buf, width=60, force_terminal=True, color_system=None)
    sink = MarkdownSink(console, clock=Tick())
    feed(sink, [TextDelta("Looking it up."), CALL])
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buf.getvalue())
    assert "tool call · search" in text and '"query": "otters"' in text
    assert "3 in · 4 out · 1.2 s · m" in text


def test_a_long_text_is_rendered_whole_in_this_process():
    # It once went half to a forked child (fork without exec); now one render, here.
    from otchat.term.markdown import CommitMarkdown, print_markdown

    calls = []

    def make(markup, parsed=None):
        calls.append((os.getpid(), markup))
        return CommitMarkdown(markup, parsed)

    text = paragraphs(2000)  # ~80,000 characters
    buf = io.StringIO()
    console = Console(file=buf, width=60, force_terminal=True, color_system=None)
    print_markdown(console, make, text, None, blank_before=False)
    assert calls == [(os.getpid(), text)]
    lines = [line.rstrip() for line in buf.getvalue().splitlines() if line.strip()]
    assert lines == [f"Paragraph {i} with a few words of text." for i in range(2000)]


def test_a_long_streamed_answer_shows_every_block_once():
    # Long commits (tens of thousands of characters at once) beside the live tail.
    text = paragraphs(3000)  # ~120,000 characters
    assert len(text) > 100_000
    screen = screen_of(render_streamed(text, 30_011), height=7000)
    assert nonblank(screen) == [f"Paragraph {i} with a few words of text." for i in range(3000)]


def test_the_terminal_echoes_no_keys_while_the_live_tail_is_drawn():
    # A key echoed under the live tail (Ctrl-C's "^C" at a full-width line wraps to a new
    # row) moves the cursor rich moves back up from: the tail's top lines would stay twice.
    from otchat.term.live import MarkdownStream

    log = []

    def echo_off():
        log.append("off")
        return lambda: log.append("on")

    console = Console(file=io.StringIO(), width=60, height=40, force_terminal=True, color_system=None)
    stream = MarkdownStream(console, clock=Tick(), interval=0.1, echo_off=echo_off)
    stream.feed("First paragraph.\n\nSecond")
    stream.tick()
    assert log == ["off"] and stream._live is not None
    stream.close()
    assert log == ["off", "on"]


def markdown_sink():
    buf = io.StringIO()
    return buf, MarkdownSink(Console(file=buf, width=60, force_terminal=True, color_system=None), clock=Tick())


def shown(buf):
    return nonblank(screen_of(buf.getvalue()))


def test_a_request_that_failed_before_a_reply_shows_nothing_but_its_error():
    buf, sink = markdown_sink()  # the error line itself is printed by the caller, on stderr
    feed(sink, [Error("401 Unauthorized", 3)], TurnResult(elapsed=0.01, interrupted=True))
    assert shown(buf) == []
    out, err = io.StringIO(), io.StringIO()
    feed(PlainSink(out, err, show_usage=True), [Error("401 Unauthorized", 3)], TurnResult(interrupted=True))
    assert out.getvalue() == "" and err.getvalue() == ""


def test_ctrl_c_before_a_reply_is_interrupted_without_a_usage_line():
    buf, sink = markdown_sink()
    feed(sink, [], TurnResult(elapsed=0.5, interrupted=True))
    assert shown(buf) == ["[interrupted]"]


def test_a_reply_cut_by_an_error_is_interrupted_with_its_usage_line():
    buf, sink = markdown_sink()
    feed(sink, [TextDelta("Half an answer"), Error("the stream broke off", 7)],
         TurnResult(content="Half an answer", elapsed=1.0, interrupted=True))
    assert shown(buf) == ["Half an answer", "[interrupted]", "tokens not reported · 1.0 s"]
    out, err = io.StringIO(), io.StringIO()
    feed(PlainSink(out, err, show_usage=True), [TextDelta("Half")], TurnResult(elapsed=1.0, interrupted=True))
    assert out.getvalue() == "Half\n" and err.getvalue() == "usage: tokens not reported · 1.0 s\n"
