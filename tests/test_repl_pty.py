"""The REPL in a real pseudo-terminal against the fake server, as a person uses it."""

import json
import re
import time

import pexpect
import pytest

from tests.conftest import KEY, OTCHAT, clean_environ
from tests.fakeserver import Stream, error, text_chunks
from tests.helpers import screen
from tests.test_pty import BEFORE_PAUSE, PARAGRAPHS, closed_port, paused_reply

PROMPT = "›"  # the space after it is drawn by a cursor move


@pytest.fixture
def spawn(spawn_pty):
    """`otchat ARGS` (default: chat) in a 40 x 120 terminal, once it shows its first prompt."""

    def start(*args, env=None, dimensions=(40, 120)):
        child = spawn_pty(list(args) or ["chat"], env=env, dimensions=dimensions)
        child.expect("Ctrl-D leaves")
        child.expect(PROMPT)
        return child

    return start


def say(child, text):
    child.send(text + "\r")


def leave(child):
    """Ctrl-D at the prompt. A Ctrl-D typed while a reply is still being finished reaches a
    terminal in cooked mode, where it is an end-of-file for nobody: press it again, as a
    person would, until the REPL has drawn its prompt and takes it."""
    for _ in range(10):
        child.send("\x04")
        if child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=2) == 0:
            break
    child.close()
    return child.exitstatus


def after(lines, typed):
    """The lines shown between the prompt line with `typed` and the next prompt."""
    start = lines.index(f"{PROMPT} {typed}") + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith(PROMPT))
    return lines[start:end]


def wait_requests(server, n, timeout=10):
    end = time.monotonic() + timeout
    while len(server.requests) < n and time.monotonic() < end:
        time.sleep(0.02)
    return server.requests


def test_two_turns_and_ctrl_d(spawn, server):
    child = spawn()
    say(child, "first question")
    child.expect("You said: first question")
    child.expect(PROMPT)
    say(child, "second question")
    child.expect("You said: second question")
    child.expect(PROMPT)
    assert server.last_body["messages"] == [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "You said: first question"},
        {"role": "user", "content": "second question"},
    ]
    assert leave(child) == 0


def test_model_and_system_changes_reach_the_next_request(spawn, server):
    child = spawn()
    say(child, "/model other/model")
    child.expect("model: other/model")
    say(child, "/system answer in French")
    child.expect("system prompt: answer in French")
    say(child, "bonjour")
    child.expect("You said: bonjour")
    body = server.last_body
    child.expect(PROMPT)
    assert body["model"] == "other/model"
    assert body["messages"][0] == {"role": "system", "content": "answer in French"}
    assert leave(child) == 0


def test_pasted_block_is_one_message(spawn, server):
    child = spawn()
    child.send("\x1b[200~line one\nline two\nline three\x1b[201~")
    child.send("\r")
    child.expect("line three")
    child.expect("You said: line one")
    child.expect(PROMPT)
    wait_requests(server, 1)
    assert len(server.requests) == 1
    assert server.last_body["messages"][-1]["content"] == "line one\nline two\nline three"
    assert leave(child) == 0


def test_ctrl_c_stops_a_reply_and_keeps_it(spawn, server):
    # Five 5-character deltas arrive, then the server goes quiet for 30 s.
    server.enqueue(Stream(text_chunks("Partial answer before the pause and more", 5), gap=(6, 30.0)))
    child = spawn()
    say(child, "tell me a long story")
    child.expect("Partial answer before the")
    start = time.monotonic()
    child.send("\x03")
    child.expect("interrupted")
    child.expect(PROMPT)
    assert time.monotonic() - start < 5
    say(child, "go on")
    child.expect("You said: go on")
    child.expect(PROMPT)
    messages = server.last_body["messages"]
    assert messages[1] == {"role": "assistant", "content": "Partial answer before the"}
    assert messages[2] == {"role": "user", "content": "go on"}
    assert leave(child) == 0


def test_ctrl_c_at_the_prompt_clears_the_line(spawn, server):
    child = spawn()
    child.send("half typed")
    child.send("\x03")
    child.expect(PROMPT)
    say(child, "fresh")
    child.expect("You said: fresh")
    child.expect(PROMPT)
    assert server.last_body["messages"][-1]["content"] == "fresh"
    assert leave(child) == 0


def test_error_mid_session_keeps_the_session(spawn, server):
    server.enqueue(error(400, {"error": {"message": "model not found"}}))
    child = spawn()
    say(child, "this fails")
    child.expect("model not found")
    child.expect(PROMPT)
    say(child, "this works")
    child.expect("You said: this works")
    child.expect(PROMPT)
    assert server.last_body["messages"] == [{"role": "user", "content": "this works"}]
    assert leave(child) == 0


def test_input_history_survives_a_restart(spawn, server):
    child = spawn()
    say(child, "remember this line")
    child.expect("You said: remember this line")
    child.expect(PROMPT)
    assert leave(child) == 0
    child = spawn()
    child.send("\x1b[A")  # Up: the previous run's message
    child.expect("remember this line")
    child.send("\r")
    child.expect("You said: remember this line")
    child.expect(PROMPT)
    assert server.last_body["messages"] == [{"role": "user", "content": "remember this line"}]
    assert leave(child) == 0


def test_bare_otchat_on_a_terminal_starts_the_repl(spawn, server):
    child = spawn("-m", "bare/model")
    say(child, "hello")
    child.expect("You said: hello")
    child.expect(PROMPT)
    assert server.last_body["model"] == "bare/model"
    assert leave(child) == 0


def test_slash_completion(spawn):
    child = spawn()
    child.send("/mod\t")
    child.expect("/model")
    child.send("\x03")
    child.expect(PROMPT)
    assert leave(child) == 0


def test_tab_after_switch_offers_the_branches(spawn):
    child = spawn()
    say(child, "hello")
    child.expect("You said: hello")
    child.expect(PROMPT)
    say(child, "/retry")  # a second answer: the first is now a branch
    child.expect("You said: hello")
    child.expect(PROMPT)
    child.send("/switch ")
    child.expect(r" (\d+) +\x1b\[")  # the menu offers the one branch there is...
    branch = child.match.group(1)
    child.send("\t\r")  # ...and Tab takes it
    child.expect(f"switched to #{branch}")
    child.expect(PROMPT)
    assert leave(child) == 0


def test_edit_writes_the_message_in_the_editor(spawn, server, home):
    editor = home / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "written in the editor\\nsecond line\\n" > "$1"\n')
    editor.chmod(0o755)
    child = spawn(env={"EDITOR": str(editor)})
    say(child, "/edit")
    child.expect("› written in the editor")  # what goes is shown, as if typed
    child.expect("… second line")
    child.expect("You said: written in the editor")
    child.expect(PROMPT)
    assert server.last_body["messages"][-1]["content"] == "written in the editor\nsecond line"
    assert leave(child) == 0


def test_toolbar_shows_model_tools_and_tokens(server, home):
    """The toolbar needs the terminal's answer to cursor-position requests: give it."""
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY, TERM="xterm-256color")
    child = pexpect.spawn(str(OTCHAT), ["chat", "-t", "exa", "-m", "tb/model"], env=env, dimensions=(30, 120),
                          timeout=20, encoding="utf-8")
    seen = []

    def until(text):
        while True:
            if child.expect([re.escape("\x1b[6n"), re.escape(text)]) == 0:
                child.send("\x1b[5;1R")  # the cursor is on row 5
            else:
                seen.append(text)
                return

    until("tb/model │ 0 tokens this session │ tools: exa")
    child.send("count me\r")
    until("You said: count me")
    until("tb/model │ 33 tokens this session │ tools: exa")
    child.send("\x04")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and len(seen) == 3


def test_scripted_chat_reads_one_message_per_line(otchat, server):
    r = otchat("chat", input="hi\nthere\n/model other/m\nagain\n/exit\nnever sent\n")
    assert r.code == 0
    assert r.stdout == "You said: hi\nYou said: there\nYou said: again\n"
    assert "model: other/m" in r.stderr
    assert [q.body["messages"][-1]["content"] for q in server.requests] == ["hi", "there", "again"]
    assert server.last_body["model"] == "other/m" and len(server.last_body["messages"]) == 5


def test_chat_sends_a_file_with_the_first_message(spawn, server, home):
    notes = home / "notes.txt"
    notes.write_text("buy otter food\n")
    child = spawn("chat", "-f", str(notes))
    assert "notes.txt will go with your first message" in child.before
    say(child, "what is on my list?")
    child.expect("You said: ")
    child.expect(PROMPT)
    say(child, "thanks")
    child.expect("You said: thanks")
    first, second = [r.body["messages"] for r in wait_requests(server, 2)]
    assert first == [{"role": "user", "content": f"what is on my list?\n\n{notes}\n```\nbuy otter food\n```"}]
    assert second[-1] == {"role": "user", "content": "thanks"}


@pytest.mark.parametrize("kind, message", [
    ("refused", "cannot connect to 127.0.0.1:"),
    ("401", "401 Unauthorized: bad key"),
    ("500", "500 Internal Server Error: overloaded"),
])
def test_a_failed_request_is_one_error_line(spawn, server, kind, message):
    args = ["chat", "--retries", "0"]
    if kind == "refused":
        args += ["--base-url", f"http://127.0.0.1:{closed_port()}/v1"]
    else:
        server.enqueue(error(int(kind), {"error": {"message": message.split(": ")[1]}}))
    child = spawn(*args)
    say(child, "hello")
    child.expect("otchat: error: ")
    child.expect(PROMPT)
    shown = after(screen(child), "hello")
    assert shown[0].startswith(f"otchat: error: {message}") and len(shown) <= 2  # long lines wrap
    assert "[interrupted]" not in "\n".join(shown) and "tokens not reported" not in "\n".join(shown)
    assert leave(child) == 0


def test_ctrl_c_mid_markdown_leaves_every_line_once(spawn, server):
    server.enqueue(paused_reply())
    child = spawn()
    say(child, "tell me about the sky")
    child.expect(BEFORE_PAUSE[-20:])  # the live tail is on the screen
    time.sleep(0.3)  # let its repaint settle, as a person would read before pressing Ctrl-C
    child.sendintr()
    child.expect("interrupted")
    child.expect(PROMPT)
    shown = after(screen(child), "tell me about the sky")
    assert shown[:-1] == [*PARAGRAPHS, "The sixth paragraph has begun and", "[interrupted]"]
    assert shown[-1].startswith("tokens not reported · ")
    assert leave(child) == 0


def test_save_over_an_existing_file_asks_first(spawn, home):
    target = home / "notes.md"
    target.write_text("mine\n")
    child = spawn()
    say(child, "a question worth saving")
    child.expect("You said: a question worth saving")
    child.expect(PROMPT)
    say(child, f"/save {target}")
    child.expect("exists. Replace it")
    child.send("n\r")
    child.expect("nothing written")
    assert target.read_text() == "mine\n"
    say(child, f"/save {target}")
    child.expect("exists. Replace it")
    child.send("y\r")
    child.expect("saved 2 messages")
    assert target.read_text().startswith("# a question worth saving\n")
    assert leave(child) == 0


def test_model_completion_offers_the_current_endpoints_models_only(spawn, server, home):
    (home / "data" / "models.json").write_text(json.dumps({
        server.url: {"fetched": 1, "models": [{"id": "vendor/served-here"}]},
        "http://127.0.0.1:9/v1": {"fetched": 1, "models": [{"id": "vendor/served-elsewhere"}]}}))
    child = spawn()
    child.send("/model vendor/")
    child.expect(" vendor/served-here ")  # the menu offers it...
    child.send("\t\r")  # ...and Tab takes it
    child.expect("model: vendor/served-here")
    child.expect(PROMPT)
    assert "served-elsewhere" not in child.logfile_read.getvalue()
    assert leave(child) == 0


def test_a_line_typed_ahead_while_an_answer_streams_is_sent_by_its_enter(spawn, server):
    server.enqueue(Stream(text_chunks("A long answer, " * 40, 6), gap=(3, 2.0)))
    child = spawn()
    say(child, "first")
    child.expect("A long answer")
    say(child, "typed ahead")  # while the answer is still live: Enter must stay Enter
    child.expect("You said: typed ahead", timeout=20)
    child.expect(PROMPT)
    assert server.last_body["messages"][-1]["content"] == "typed ahead"
    assert leave(child) == 0


def test_a_soft_wrapped_input_line_is_not_shown_as_a_new_line(spawn, server):
    child = spawn(dimensions=(20, 40))
    long_line = "a question long enough to wrap at forty columns, twice over"
    child.send(long_line)
    child.expect("twice over")
    time.sleep(0.3)
    assert not any(line.lstrip().startswith("…") for line in screen(child)), screen(child)
    child.send("\x1b\r")  # Alt-Enter: a real new line is marked
    child.send("second line")
    child.expect("second line")
    time.sleep(0.3)
    assert any(line.lstrip().startswith("… second line") for line in screen(child)), screen(child)
    child.send("\r")
    child.expect("You said:")
    assert server.last_body["messages"][-1]["content"] == long_line + "\nsecond line"
    assert leave(child) == 0


def test_a_repl_whose_stdout_is_a_file_prompts_on_the_terminal_and_writes_only_answers(spawn_pty, home):
    log = home / "log.txt"
    child = spawn_pty(["-c", f"{OTCHAT} chat > {log}"], program="/bin/sh")
    child.expect("Ctrl-D leaves")  # the banner, on the terminal
    child.expect(PROMPT)
    say(child, "hello there")
    child.expect(PROMPT)
    say(child, "/model")
    child.expect("model: ")  # a slash command's line, on the terminal too
    child.expect(PROMPT)
    assert leave(child) == 0
    assert log.read_text() == "You said: hello there\n"  # no prompt, toolbar or codes
    assert "hello there" in child.logfile_read.getvalue()


def test_with_an_mcp_server_the_banner_counts_its_tools_and_tools_names_them(spawn):
    from tests.test_mcp import BIN, TESTSERVER_CMD

    child = spawn("chat", "--mcp-command", TESTSERVER_CMD, "-t", "exa",
                  env={"PATH": f"{BIN}:/usr/bin:/bin"})
    assert "tools: exa, 7 from t · " in child.logfile_read.getvalue()  # echo, fail, slow, crash, peek, now, wipe
    say(child, "/tools")
    child.expect("t__crash")
    assert leave(child) == 0
