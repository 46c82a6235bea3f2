"""Untrusted text never writes a control sequence to a terminal; pipes and files get it exact."""

import io
import json

import pexpect
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from otchat.env import Env, Terminal
from otchat.models import ReasoningDelta, TextDelta, ToolCall, ToolResult, TurnResult
from otchat.term.console import console_for
from otchat.term.live import MarkdownSink
from otchat.text import visible
from tests.conftest import KEY, OTCHAT, clean_environ
from tests.fakeserver import Stream, error, text_chunks, tool_call_chunks

HOSTILE = "before \x1b[31mRED\x1b[0m and \x1b]0;TITLE\x07 and clear:\x1b[2J end \x9b2J \x7f"
CONTROLS = {chr(c) for c in range(0x20) if chr(c) not in "\t\n"} | {"\x7f"} | {chr(c) for c in range(0x80, 0xA0)}


def controls_in(text: str) -> set[str]:
    return set(text) & CONTROLS


@given(st.text())
def test_visible_leaves_no_control_character_in_any_text(text):
    shown = visible(text)
    assert controls_in(shown) == set()
    assert visible(shown) == shown  # what is shown once shows the same again
    assert shown.count("\n") == text.count("\n") and shown.count("\t") == text.count("\t")


@given(st.text().filter(lambda t: not controls_in(t)))
def test_visible_keeps_text_without_controls_exactly(text):
    assert visible(text) == text


@given(st.text(st.sampled_from(sorted(CONTROLS - {"\r"}))))
def test_every_control_character_is_shown_by_something(text):
    """Nothing is dropped: each control becomes at least one visible character."""
    assert len(visible(text)) >= len(text)


def test_the_pictures_read_as_what_they_stand_for():
    assert visible("a\x1b[2Jb\x07\x00\x7f\x9b1m\r\n") == "a␛[2Jb␇␀␡␛[1m\n"
    assert visible("over\rwrite") == "over␍write"  # a lone CR would draw over the line


def test_a_terminal_stream_shows_controls_and_a_pipe_gets_them_exact():
    out, err = io.StringIO(), io.StringIO()
    env = Env(stdin=None, stdout=out, stderr=err, stdout_isatty=True, stderr_isatty=False)
    env.stdout.write(HOSTILE)
    env.stderr.write(HOSTILE)
    assert isinstance(env.stdout, Terminal) and controls_in(out.getvalue()) == set()
    assert err.getvalue() == HOSTILE


def test_the_markdown_sink_on_a_terminal_draws_only_its_own_codes():
    screen = io.StringIO()
    env = Env(stdin=None, stdout=screen, stderr=io.StringIO(), stdout_isatty=True, environ={"COLUMNS": "100"})
    sink = MarkdownSink(console_for(env), visible=True)
    for event in (ReasoningDelta("think \x1b]0;T\x07"), ToolCall(0, "c1", "t\x1b[2J", '{"q": "\\u001b[2J\x7f"}'),
                  ToolResult("c1", "t", "result \x1b[31mred"), TextDelta(HOSTILE)):
        sink.handle(event)
    sink.end(TurnResult(content=HOSTILE, model="m\x1b]0;X\x07"))
    drawn = screen.getvalue()
    for raw in ("\x1b]0;", "\x1b[2J", "\x9b", "\x7f", "\x07"):
        assert raw not in drawn
    assert "␛]0;TITLE␇" in drawn and "␛[2J" in drawn and "m␛]0;X␇" in drawn
    assert "\x1b[" in drawn  # rich still colours: its own codes are not shown


def test_rich_on_a_terminal_is_guarded_even_where_a_caller_forgot():
    screen = io.StringIO()
    env = Env(stdin=None, stdout=screen, stderr=io.StringIO(), stdout_isatty=True)
    console_for(env).print(HOSTILE, markup=False, style="bold")
    assert controls_in(screen.getvalue().replace("\x1b[1m", "").replace("\x1b[0m", "")) == set()
    pipe = io.StringIO()
    Console(file=pipe).print(HOSTILE, markup=False)  # a plain Console into a file: as rich does
    assert "\x1b[2J" in pipe.getvalue()


@pytest.mark.parametrize("args", [["hi"], ["--raw", "hi"]])
def test_a_hostile_reply_on_a_terminal_leaves_screen_and_title_alone(server, home, args):
    server.enqueue(Stream(text_chunks(HOSTILE, 5)))
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY, TERM="xterm-256color")
    child = pexpect.spawn(str(OTCHAT), args, env=env, dimensions=(24, 100), timeout=20)
    raw = child.read()
    child.close()
    assert child.exitstatus == 0
    for sequence in (b"\x1b]0;", b"\x1b[2J", b"\x1b[31m", b"\xc2\x9b", b"\x7f"):
        assert sequence not in raw
    assert "␛]0;TITLE␇".encode() in raw and "clear:␛[2J end".encode() in raw


def test_a_hostile_error_body_and_tool_call_on_a_terminal_are_shown_visibly(server, home):
    server.enqueue(Stream(tool_call_chunks([("evil\x1b]0;T\x07", '{"a": 1}')])))
    server.enqueue(error(400, {"error": {"message": "bad \x1b[2J\x1b]0;PWNED\x07 request"}}))
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY, TERM="xterm-256color")
    child = pexpect.spawn(str(OTCHAT), ["hi"], env=env, dimensions=(24, 100), timeout=20)
    raw = child.read()
    child.close()
    assert b"\x1b]0;" not in raw and "evil␛]0;T␇".encode() in raw
    child = pexpect.spawn(str(OTCHAT), ["again"], env=env, dimensions=(24, 100), timeout=20)
    raw = child.read()
    child.close()
    assert child.exitstatus == 4
    assert b"\x1b[2J" not in raw and b"\x1b]0;" not in raw and "bad ␛[2J␛]0;PWNED␇ request".encode() in raw


def test_into_a_pipe_the_reply_and_the_json_are_byte_exact(otchat, server):
    server.enqueue(Stream(text_chunks(HOSTILE, 5)))
    assert otchat("hi").stdout == HOSTILE + "\n"
    server.enqueue(Stream(text_chunks(HOSTILE, 5)))
    assert json.loads(otchat("--json", "hi").stdout)["content"] == HOSTILE


def test_history_show_on_a_terminal_shows_stored_controls_visibly(otchat, server, home):
    server.enqueue(Stream(text_chunks(HOSTILE, 5)))
    assert otchat("remember this").code == 0
    from otchat.store.db import Store

    with Store.open(home / "data") as store:
        cid = store.latest()
    env = clean_environ(home, TERM="xterm-256color")
    child = pexpect.spawn(str(OTCHAT), ["history", "show", cid], env=env, dimensions=(24, 100), timeout=20)
    raw = child.read()
    child.close()
    assert child.exitstatus == 0, raw
    assert b"\x1b]0;" not in raw and b"\x1b[2J" not in raw and "␛]0;TITLE␇".encode() in raw
    piped = otchat("history", "show", cid)
    assert HOSTILE in piped.stdout  # a pipe gets the stored text exactly
