"""A leading <think> block is reasoning, however the stream cuts it; everything else is the answer."""

import io
import itertools
import json

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from otchat.engine import run_turn
from otchat.models import ReasoningDelta, TextDelta
from otchat.term.sinks import JsonlSink, JsonSink, PlainSink
from otchat.wire.thinking import ThinkSplitter
from otchat.wire.transport import Transport
from tests.fakeserver import Stream, completion, text_chunks
from tests.helpers import drawn
from tests.test_engine import REQUEST, Recorder, Script, sse_bytes, streamed


def split(text, cuts):
    """Feed `text` cut at `cuts` through a splitter, as the engine does; (reasoning, answer)."""
    splitter, events = ThinkSplitter(), []
    bounds = [0, *sorted(set(cuts)), len(text)]
    for start, stop in itertools.pairwise(bounds):
        if start < stop:
            events += splitter.feed(text[start:stop])
    events += splitter.end()
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    answer = "".join(e.text for e in events if isinstance(e, TextDelta))
    return reasoning, answer


CASES = [
    ("<think>pondering</think>The answer is 42.", ("pondering", "The answer is 42.")),
    ("<think>\nstep one\nstep two\n</think>\n\nThe answer.", ("step one\nstep two\n", "The answer.")),
    ("\n<thinking>hmm</thinking>\n\n    indented code\n", ("hmm", "    indented code\n")),
    ("<think>\n\n</think>\n\nJust the answer.", ("", "Just the answer.")),
    ("<think>cut off mid-thought </thi", ("cut off mid-thought </thi", "")),
    ("<b>bold</b> is HTML, not thinking", ("", "<b>bold</b> is HTML, not thinking")),
    ("The tag <think> later in a reply is text.", ("", "The tag <think> later in a reply is text.")),
    ("<thin", ("", "<thin")),
    ("<THINK>", ("", "<THINK>")),  # a block that never closed and holds nothing was no block
    ("\n<think>  \n", ("", "\n<think>  \n")),
    ("  ", ("", "  ")),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_every_cut_of_the_stream_gives_the_same_split(text, expected):
    for size in range(1, len(text) + 1):
        assert split(text, range(size, len(text), size)) == expected, size


@given(st.sampled_from([c[0] for c in CASES]), st.lists(st.integers(0, 60), max_size=8))
def test_any_cuts_give_the_same_split(text, cuts):
    assert split(text, [c for c in cuts if c < len(text)]) == split(text, [])


def run(script):
    transport = Transport(timeout=5, connect_timeout=1, retries=0, httpx_transport=httpx2.MockTransport(script),
                          sleep=lambda s: None)
    sink = Recorder()
    try:
        return run_turn(REQUEST, transport, sink), sink
    finally:
        transport.close()


REPLY = "<think>\nThe user wants a number.\n</think>\n\nThe answer is **42**."


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 100])
def test_a_streamed_think_block_becomes_reasoning_events(size):
    result, sink = run(Script(streamed([sse_bytes(text_chunks(REPLY, size))])))
    assert result.content == "The answer is **42**." == sink.text()
    assert result.reasoning == "The user wants a number.\n"
    kinds = [type(e) for e in sink.events if isinstance(e, (TextDelta, ReasoningDelta))]
    assert kinds.index(TextDelta) > max(i for i, k in enumerate(kinds) if k is ReasoningDelta)


def test_a_whole_completion_with_a_think_block_is_split_too():
    result, sink = run(Script(httpx2.Response(200, json=completion(REPLY))))
    assert result.content == "The answer is **42**." and result.reasoning == "The user wants a number.\n"


def test_sinks_keep_the_answer_alone():
    events = ThinkSplitter().feed(REPLY)
    out, err = io.StringIO(), io.StringIO()
    sink = PlainSink(out, err, verbose=True)
    for event in events:
        sink.handle(event)
    from otchat.models import TurnResult

    sink.end(TurnResult(content="The answer is **42**."))
    assert out.getvalue() == "The answer is **42**.\n"
    assert err.getvalue() == "The user wants a number.\n"
    jsonl = io.StringIO()
    for event in events:
        JsonlSink(jsonl).handle(event)
    assert [json.loads(line)["type"] for line in jsonl.getvalue().splitlines()] == ["reasoning", "text"]
    out = io.StringIO()
    JsonSink(out).end(TurnResult(content="The answer is **42**.", reasoning="The user wants a number.\n"))
    data = json.loads(out.getvalue())
    assert data["content"] == "The answer is **42**." and data["reasoning"] == "The user wants a number.\n"


# End to end: the executable against the fake server ---------------------------------------


def test_a_pipe_gets_the_answer_alone_and_verbose_the_reasoning_on_stderr(otchat, server):
    server.enqueue(Stream(text_chunks(REPLY, 3)))
    r = otchat("hi")
    assert r.code == 0 and r.stdout == "The answer is **42**.\n" and "number" not in r.stderr
    server.enqueue(Stream(text_chunks(REPLY, 3)))
    r = otchat("-v", "hi")
    assert r.stdout == "The answer is **42**.\n" and "The user wants a number.\n" in r.stderr


def test_json_has_the_reasoning_apart_from_the_content(otchat, server):
    server.enqueue(Stream(text_chunks(REPLY, 2)))
    data = json.loads(otchat("--json", "hi").stdout)
    assert data["content"] == "The answer is **42**." and data["reasoning"] == "The user wants a number.\n"


def test_the_log_keeps_the_reasoning_and_later_requests_never_send_it(otchat, server, home):
    import sqlite3

    server.enqueue(Stream(text_chunks(REPLY, 4)))
    assert otchat("what number").code == 0
    with sqlite3.connect(home / "data" / "history.db") as db:
        stored = db.execute("SELECT content, reasoning FROM messages WHERE role = 'assistant'").fetchall()
    assert stored == [("The answer is **42**.", "The user wants a number.\n")]
    assert otchat("-c", "and why").code == 0
    sent = server.last_body["messages"]
    assert sent[1] == {"role": "assistant", "content": "The answer is **42**."}
    assert "number." not in json.dumps(sent)
    cid = json.loads(otchat("history", "list", "--json").stdout)[0]["id"]
    shown = otchat("history", "show", cid).stdout
    assert "> *reasoning*\n>\n> The user wants a number.\n\nThe answer is **42**." in shown


def test_reasoning_on_a_terminal_is_set_apart_from_what_follows():
    from rich.console import Console

    from otchat.models import ToolCall, TurnResult
    from otchat.term.live import MarkdownSink

    def screen(events):
        buf = io.StringIO()
        sink = MarkdownSink(Console(file=buf, width=60, force_terminal=True, color_system=None), show_usage=False)
        for event in events:
            sink.handle(event)
            sink.flush()
        sink.end(TurnResult())
        return drawn(buf.getvalue(), 60, 20, onlcr=True)

    assert screen([ReasoningDelta("hmm"), TextDelta("Answer.\n")])[:3] == ["hmm", "", "Answer."]
    assert screen([ReasoningDelta("hmm\n"), TextDelta("Answer.\n")])[:3] == ["hmm", "", "Answer."]
    lines = screen([ReasoningDelta("hmm"), ToolCall(0, "c", "search", "{}")])
    assert lines[0] == "hmm" and lines[1].startswith("╭")
