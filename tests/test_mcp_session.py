"""What a local MCP server sends during a session: progress, cancellation, log lines, changed lists,
sampling and roots (declined), elicitation in both eras. Real processes against
@modelcontextprotocol/server-everything (2025-11-25), the SDK's own server (tests/mcp_askserver.py,
2026-07-28) and a hand-written one (tests/mcp_rawserver.py, which asks what SDK servers refuse to)."""

import json
import sys
import time
from pathlib import Path

import pexpect
import pytest

from tests import everything
from tests.conftest import KEY, OTCHAT, clean_environ
from tests.fakeserver import Stream, text_chunks, tool_call_chunks

HERE = Path(__file__).parent
RAW = f"raw={sys.executable} {HERE / 'mcp_rawserver.py'}"
ASK = f"ask={sys.executable} {HERE / 'mcp_askserver.py'}"
EV = "everything__"
pytestmark = pytest.mark.process  # real processes: otchat's and the servers'


def calls(*pairs):
    return Stream(tool_call_chunks([(name, json.dumps(args)) for name, args in pairs]))


def tapped(log: Path) -> str:
    """server-everything behind tests/wiretap.py: what otchat sends it is written to `log`."""
    command = everything.command().removeprefix("everything=")
    return f"everything={sys.executable} {HERE / 'wiretap.py'} {log} {command}"


def sent(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def tool_messages(body: dict) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


def spawn(server, home, args, env=None):
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY, TERM="xterm-256color",
                        PROMPT_TOOLKIT_NO_CPR="1", **(env or {}))
    return pexpect.spawn(str(OTCHAT), args, env=env, dimensions=(40, 160), timeout=30, encoding="utf-8",
                         cwd=str(home))


def ended(child) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


# Sampling and roots --------------------------------------------------------------------------


def test_sampling_and_roots_are_declined_with_a_json_rpc_error(otchat, server):
    server.enqueue(calls(("raw__sample", {})), Stream(text_chunks("ok")), calls(("raw__roots", {})),
                   Stream(text_chunks("ok")))
    r = otchat("--mcp-command", RAW, "--yes", "sample")
    answer = json.loads(tool_messages(server.last_body)[0])  # the client's response, as the server got it
    assert r.code == 0 and answer["error"]["code"] == -32600 and "result" not in answer
    assert "otchat does not take sampling requests" in answer["error"]["message"]
    otchat("--mcp-command", RAW, "--yes", "roots")
    answer = json.loads(tool_messages(server.last_body)[0])
    assert answer["error"]["code"] == -32600 and "does not take roots requests" in answer["error"]["message"]


def test_only_elicitation_is_declared_so_sampling_tools_never_appear(otchat, server, tmp_path):
    log = tmp_path / "wire.jsonl"
    server.enqueue(Stream(text_chunks("ok")))
    r = otchat("--mcp-command", tapped(log), "hello")
    assert r.code == 0, r.stderr
    initialize = next(m for m in sent(log) if m.get("method") == "initialize")
    assert set(initialize["params"]["capabilities"]) == {"elicitation"}
    assert initialize["params"]["clientInfo"]["name"] == "otchat"
    names = {t["function"]["name"] for t in server.last_body["tools"]}
    assert f"{EV}trigger-elicitation-request" in names and f"{EV}trigger-url-elicitation" in names
    assert f"{EV}trigger-sampling-request" not in names and f"{EV}get-roots-list" not in names


def test_the_2026_era_server_sees_no_sampling_capability(otchat, server):
    server.enqueue(calls(("ask__sample", {})), Stream(text_chunks("ok")))
    otchat("--mcp-command", ASK, "--yes", "sample")
    (result,) = tool_messages(server.last_body)
    assert "did not declare the sampling capability" in result


# Progress, cancellation, logging --------------------------------------------------------------


def test_progress_shows_on_a_terminal_under_the_tool_panel(server, home):
    server.enqueue(calls((f"{EV}trigger-long-running-operation", {"duration": 1.5, "steps": 3})),
                   Stream(text_chunks("done waiting")))
    child = spawn(server, home, ["--mcp-command", everything.command(), "--yes", "wait"])
    child.expect("tool call · everything__trigger-long-running-operation")
    child.expect_exact("⋯ everything__trigger-long-running-operation 1/3 ")
    child.expect_exact("2/3 ")
    child.expect("done waiting")
    assert ended(child) == 0


def test_progress_is_not_shown_in_a_pipe(otchat, server):
    server.enqueue(calls((f"{EV}trigger-long-running-operation", {"duration": 0.6, "steps": 3})),
                   Stream(text_chunks("done")))
    r = otchat("--mcp-command", everything.command(), "--yes", "wait")
    assert r.code == 0 and "Long running operation completed" in tool_messages(server.last_body)[0]
    assert "⋯" not in r.stderr and "\x1b" not in r.stderr and "\r" not in r.stderr


def test_ctrl_c_during_a_call_cancels_it_on_the_server_and_exits_130(server, home, tmp_path):
    log = tmp_path / "wire.jsonl"
    server.enqueue(calls((f"{EV}trigger-long-running-operation", {"duration": 30, "steps": 30})))
    child = spawn(server, home, ["--mcp-command", tapped(log), "--yes", "wait long"])
    child.expect_exact("⋯ everything__trigger-long-running-operation 1/30")
    start = time.monotonic()
    child.send("\x03")
    child.expect_exact("[interrupted]")
    assert ended(child) == 130
    assert time.monotonic() - start < 10
    messages = sent(log)
    call = next(m for m in messages if m.get("method") == "tools/call")
    cancelled = [m for m in messages if m.get("method") == "notifications/cancelled"]
    assert [m["params"]["requestId"] for m in cancelled] == [call["id"]]


def test_ctrl_c_in_the_repl_returns_to_the_prompt_and_keeps_the_conversation(server, home):
    server.enqueue(Stream(text_chunks("first answer")),
                   calls((f"{EV}trigger-long-running-operation", {"duration": 30, "steps": 30})),
                   Stream(text_chunks("after the cancel")))
    child = spawn(server, home, ["chat", "--mcp-command", everything.command(), "--yes"])
    child.expect("›")
    child.send("first\r")
    child.expect("first answer")
    child.expect("›")
    child.send("wait long\r")
    child.expect_exact("1/30")
    child.send("\x03")
    child.expect("›")
    child.send("and now?\r")
    child.expect("after the cancel")
    child.expect("›")
    child.send("\x04")
    assert ended(child) == 0
    users = [m["content"] for m in server.last_body["messages"] if m["role"] == "user"]
    assert users[0] == "first" and users[-1] == "and now?"


def test_a_server_s_log_lines_show_at_v_with_controls_visible(otchat, server):
    server.enqueue(calls(("raw__shout", {})), Stream(text_chunks("ok")))
    r = otchat("-v", "--mcp-command", RAW, "--yes", "shout")
    line = next(line for line in r.stderr.splitlines() if line.startswith("* mcp raw"))
    assert line.startswith("* mcp raw/raw warning: red ") and "alert" in line and "done" in line
    assert "\x1b" not in line and "\x07" not in line
    server.enqueue(calls(("raw__shout", {})), Stream(text_chunks("ok")))
    assert "* mcp" not in otchat("--mcp-command", RAW, "--yes", "shout").stderr


def test_server_everything_s_simulated_log_shows_at_v(otchat, server):
    server.enqueue(calls((f"{EV}toggle-simulated-logging", {})), Stream(text_chunks("logging")))
    r = otchat("-v", "--mcp-command", everything.command(), "--yes", "log")
    assert r.code == 0 and any(line.startswith("* mcp everything ") and "essage" in line
                               for line in r.stderr.splitlines())


# Lists that change ----------------------------------------------------------------------------


def test_the_next_turn_declares_a_changed_tools_list_and_the_repl_says_so(otchat, server):
    server.enqueue(calls(("raw__grow", {})), Stream(text_chunks("grown")), Stream(text_chunks("second")))
    r = otchat("chat", "--mcp-command", RAW, "--yes", input="grow one\nand now?\n")
    assert r.code == 0, r.stderr
    first, _, second = server.requests
    names = lambda request: [t["function"]["name"] for t in request.body["tools"]]  # noqa: E731
    assert "raw__grown4" not in names(first) and "raw__grown4" in names(second)
    assert "MCP server raw's tools changed: 5 now" in r.stderr


def test_a_notice_that_changes_nothing_says_nothing(otchat, server):
    # server-everything says its tools changed as it starts (conditional tools registered): no line
    server.enqueue(Stream(text_chunks("one")), Stream(text_chunks("two")))
    r = otchat("chat", "--mcp-command", everything.command(), input="one\ntwo\n")
    assert r.code == 0 and "tools changed" not in r.stderr


# Elicitation ----------------------------------------------------------------------------------


def test_a_form_on_a_terminal_answers_server_everything(server, home):
    server.enqueue(calls((f"{EV}trigger-elicitation-request", {})), Stream(text_chunks("thanks")))
    child = spawn(server, home, ["--mcp-command", everything.command(), "--yes", "ask me"])
    child.expect_exact("everything asks: Please provide inputs for the following fields:")
    child.expect_exact("[a]nswer / [d]ecline / [c]ancel: ")
    child.send("a")
    child.expect_exact("String* (Your full, legal name): ")
    child.sendline("")  # required: asked again
    child.expect_exact("required")
    child.sendline("Ada Lovelace")
    child.expect_exact("[y/n]: ")
    child.sendline("y")
    child.expect_exact("[It was a dark and stormy night.]: ")
    child.sendline("")  # the default
    for _ in range(3):  # email, homepage, birthdate: optional, left out
        child.expect_exact(": ")
        child.sendline("")
    child.expect_exact("[42]: ")
    child.sendline("500")  # above its maximum
    child.expect_exact("at most 100")
    child.sendline("7")
    child.expect_exact("[3.14]: ")
    child.sendline("")
    child.expect_exact("1) Monica 2) Rachel 3) Joey")
    child.sendline("3")
    child.expect_exact("(several: 1,3)")
    child.sendline("1,2")
    child.expect_exact("1) Superman")
    child.sendline("wonder woman")
    child.expect_exact("1) Tuna")
    child.sendline("")
    child.expect_exact("1) Cats")
    child.sendline("2")
    child.expect_exact("[s]end / [d]ecline / [c]ancel: ")
    child.send("s")
    child.expect("thanks")
    assert ended(child) == 0
    (result,) = tool_messages(server.last_body)
    raw = json.loads(result[result.index("{"):])
    assert raw["action"] == "accept"
    assert raw["content"] == {
        "name": "Ada Lovelace", "check": True, "firstLine": "It was a dark and stormy night.", "integer": 7,
        "number": 3.14, "untitledSingleSelectEnum": "Joey", "untitledMultipleSelectEnum": ["Guitar", "Piano"],
        "titledSingleSelectEnum": "hero-3", "titledMultipleSelectEnum": ["fish-1"], "legacyTitledEnum": "pet-2"}


@pytest.mark.parametrize(("key", "said"), [("d", "declined"), ("\x1b", "cancelled")])
def test_decline_and_cancel_go_back_to_the_server(server, home, key, said):
    server.enqueue(calls((f"{EV}trigger-elicitation-request", {})), Stream(text_chunks("fine")))
    child = spawn(server, home, ["--mcp-command", everything.command(), "--yes", "ask me"])
    child.expect_exact("[a]nswer / [d]ecline / [c]ancel: ")
    child.send(key)
    child.expect("fine")
    assert ended(child) == 0
    assert f"User {said}" in tool_messages(server.last_body)[0]


def test_a_url_is_shown_and_never_opened(server, home, tmp_path):
    opened = tmp_path / "opened"
    browser = tmp_path / "browser"
    browser.write_text(f"#!/bin/sh\ntouch {opened}\n")
    browser.chmod(0o755)
    url = "https://example.com/authorize?x=1"
    server.enqueue(calls((f"{EV}trigger-url-elicitation", {"url": url})), Stream(text_chunks("opened?")))
    child = spawn(server, home, ["--mcp-command", everything.command(), "--yes", "link"],
                  env={"BROWSER": str(browser)})
    child.expect_exact(f"open this yourself (otchat does not open it): {url}")
    child.expect_exact("[a]ccept (done) / [d]ecline / [c]ancel: ")
    child.send("a")
    child.expect("opened\\?")
    assert ended(child) == 0
    assert "User completed the URL elicitation flow" in tool_messages(server.last_body)[0]
    assert not opened.exists()


def test_in_a_pipe_an_elicitation_is_declined_with_one_line(otchat, server):
    server.enqueue(calls((f"{EV}trigger-elicitation-request", {})), Stream(text_chunks("ok")))
    r = otchat("--mcp-command", everything.command(), "--yes", "ask me")
    said = [line for line in r.stderr.splitlines() if "asked for input" in line]
    assert said == ["otchat: warning: MCP server everything asked for input (Please provide inputs for the"
                    " following fields:); declined: no terminal to ask on"]
    assert "User declined" in tool_messages(server.last_body)[0]


def test_a_2026_era_input_required_is_answered_by_a_form_and_the_call_retried(server, home):
    server.enqueue(calls(("ask__greet", {})), Stream(text_chunks("greeted")))
    child = spawn(server, home, ["--mcp-command", ASK, "--yes", "greet"])
    child.expect_exact("ask asks: Who should be greeted?")
    child.send("a")
    child.expect_exact("Name* (Your name): ")
    child.sendline("Ada")
    child.expect_exact("(integer) [1]: ")
    child.sendline("2")
    child.expect_exact("[y/n] [False]: ")
    child.sendline("y")
    child.expect_exact("[s]end")
    child.send("s")
    child.expect("greeted")
    assert ended(child) == 0
    assert tool_messages(server.last_body) == ["hello Ada! hello Ada!"]


def test_a_2026_era_input_required_in_a_pipe_is_declined(otchat, server):
    server.enqueue(calls(("ask__greet", {})), Stream(text_chunks("ok")))
    r = otchat("--mcp-command", ASK, "--yes", "greet")
    assert "MCP server ask asked for input (Who should be greeted?); declined" in r.stderr
    assert tool_messages(server.last_body) == ["no greeting: the user chose decline"]


def test_ctrl_c_in_a_form_cancels_the_call(server, home, tmp_path):
    log = tmp_path / "wire.jsonl"
    server.enqueue(calls((f"{EV}trigger-elicitation-request", {})))
    child = spawn(server, home, ["--mcp-command", tapped(log), "--yes", "ask me"])
    child.expect_exact("[a]nswer / [d]ecline / [c]ancel: ")
    child.send("a")
    child.expect_exact("String* (Your full, legal name): ")
    child.send("\x03")
    assert ended(child) == 130
    messages = sent(log)
    call = next(m for m in messages if m.get("method") == "tools/call")
    assert any(m.get("method") == "notifications/cancelled" and m["params"]["requestId"] == call["id"]
               for m in messages)


def configured(home: Path, timeout: float, log: Path) -> None:
    """server-everything (tapped) as a configured server with a call timeout."""
    words = tapped(log).removeprefix("everything=").split()
    args = ", ".join(json.dumps(word) for word in words[1:])
    (home / "config" / "config.toml").write_text(
        f'[mcp.servers.everything]\ncommand = {json.dumps(words[0])}\nargs = [{args}]\ntimeout = {timeout}\n')


def test_a_call_that_times_out_is_cancelled_on_the_server(otchat, server, home, tmp_path):
    log = tmp_path / "wire.jsonl"
    configured(home, 1, log)
    server.enqueue(calls((f"{EV}trigger-long-running-operation", {"duration": 5, "steps": 5})),
                   Stream(text_chunks("too slow")))
    r = otchat("--yes", "wait")
    assert r.code == 0 and tool_messages(server.last_body) == ["the tool did not answer within 1 s"]
    call = next(m for m in sent(log) if m.get("method") == "tools/call")
    assert any(m.get("method") == "notifications/cancelled" and m["params"]["requestId"] == call["id"]
               for m in sent(log))


def test_the_time_spent_in_a_form_does_not_count_against_the_call_s_timeout(server, home, tmp_path):
    configured(home, 2, tmp_path / "wire.jsonl")
    server.enqueue(calls((f"{EV}trigger-elicitation-request", {})), Stream(text_chunks("fine")))
    child = spawn(server, home, ["--yes", "ask me"])
    child.expect_exact("[a]nswer / [d]ecline / [c]ancel: ")
    time.sleep(3)  # longer than the call may take
    child.send("d")
    child.expect("fine")
    assert ended(child) == 0
    assert "User declined" in tool_messages(server.last_body)[0]


def test_the_repl_says_on_a_terminal_that_the_tools_changed(server, home):
    server.enqueue(calls(("raw__grow", {})), Stream(text_chunks("grown")), Stream(text_chunks("second answer")))
    child = spawn(server, home, ["chat", "--mcp-command", RAW, "--yes"])
    child.expect("›")
    child.send("grow\r")
    child.expect("grown")
    child.expect("›")
    child.send("again\r")
    child.expect_exact("\x1b[2mMCP server raw's tools changed: 5 now\x1b[0m")
    child.expect("second answer")
    child.expect("›")
    child.send("\x04")
    assert ended(child) == 0
    assert "raw__grown4" in [t["function"]["name"] for t in server.last_body["tools"]]


def test_at_v_a_2026_era_server_is_asked_for_its_log_lines(otchat, server):
    server.enqueue(calls(("ask__chatty", {})), Stream(text_chunks("ok")))
    r = otchat("-v", "--mcp-command", ASK, "--yes", "talk")
    assert "* mcp ask info: working on it" in r.stderr.splitlines()
    server.enqueue(calls(("ask__chatty", {})), Stream(text_chunks("ok")))
    r = otchat("--mcp-command", ASK, "--yes", "talk")
    assert r.code == 0 and "working on it" not in r.stderr and tool_messages(server.last_body) == ["worked"]
