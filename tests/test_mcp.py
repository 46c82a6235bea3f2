"""Local MCP servers: real servers from PyPI (time, git) and tests/mcp_testserver.py."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from otchat.mcp.hub import fix_schema, function_name
from otchat.mcp.specs import parse_command
from tests.conftest import KEY, OTCHAT, clean_environ
from tests.fakeserver import Stream, text_chunks, tool_call_chunks
from tests.helpers import rows

TEST_SERVER = Path(__file__).with_name("mcp_testserver.py")
BIN = str(Path(sys.executable).parent)
TESTSERVER_CMD = f"t={sys.executable} {TEST_SERVER}"


@pytest.fixture
def run(otchat):
    """otchat with the virtual environment's bin on PATH (where the MCP servers are)."""
    def go(*args, env=None, **kw):
        return otchat(*args, env={"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **(env or {})}, **kw)

    return go


def calls(*pairs, **kw):
    return Stream(tool_call_chunks([(name, json.dumps(args)) for name, args in pairs], **kw))


def test_parse_command_names():
    assert parse_command("mcp-server-time").name == "time"
    assert parse_command("mcp-server-git --repository /tmp/x").args == ["--repository", "/tmp/x"]
    spec = parse_command("notes=python -m notes_server --db n.db")
    assert (spec.name, spec.command, spec.args) == ("notes", "python", ["-m", "notes_server", "--db", "n.db"])
    assert parse_command("/usr/bin/mcp-server-fetch").name == "fetch"


def test_function_names_are_sanitised_and_unique():
    taken = set()
    assert function_name("my server", "get.time", taken) == "my_server__get_time"
    assert function_name("my server", "get time", taken) == "my_server__get_time_2"
    assert len(function_name("s" * 50, "t" * 50, taken)) == 64


def test_schemas_are_fixed_only_where_needed():
    schema = {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}
    assert fix_schema(schema) == schema
    assert fix_schema({}) == {"type": "object", "properties": {}}
    assert fix_schema(None) == {"type": "object", "properties": {}}


@pytest.mark.process  # the MCP SDK finds the server's command on the process PATH
def test_the_time_server_answers_the_model(run, server):
    server.enqueue(calls(("time__get_current_time", {"timezone": "Asia/Tokyo"})),
                   Stream(text_chunks("It is evening in Tokyo.")))
    # Its tools say they are read-only, but a --mcp-command server is not trusted: --yes runs them.
    r = run("--mcp-command", "mcp-server-time", "--yes", "-t", "exa", "what time is it in Tokyo?")
    assert (r.code, r.stdout) == (0, "It is evening in Tokyo.\n")
    first, second = server.requests
    names = [t.get("function", {}).get("name") or t.get("ref") for t in first.body["tools"]]
    assert names[0] == "exa" and "time__get_current_time" in names  # hosted ref and local tool together
    assert second.body["tools"] == first.body["tools"]
    assistant, tool = second.body["messages"][1:]
    assert assistant["tool_calls"][0]["function"]["name"] == "time__get_current_time"
    produced = json.loads(tool["content"])  # what the real server produced
    assert tool["tool_call_id"] == "call_0" and produced["timezone"] == "Asia/Tokyo" and "datetime" in produced
    assert "tool result: time__get_current_time" in r.stderr


@pytest.mark.process  # the MCP SDK finds the server's command on the process PATH
def test_git_server_on_a_temporary_repository(run, server, tmp_path):
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "notes.txt").write_text("hello\n")
    server.enqueue(calls(("git__git_status", {"repo_path": str(repo)})), Stream(text_chunks("One untracked file.")))
    r = run("--mcp-command", f"mcp-server-git --repository {repo}", "--yes", "what changed?")
    assert r.code == 0, r.stderr
    tool = server.last_body["messages"][-1]
    assert tool["role"] == "tool" and "notes.txt" in tool["content"]


def test_unapproved_calls_are_refused_when_piped(run, server):
    server.enqueue(calls(("t__echo", {"text": "hi"}), ("t__peek", {})), Stream(text_chunks("ok")))
    r = run("--mcp-command", TESTSERVER_CMD, "echo hi")
    assert r.code == 0 and "t__echo was not run: not approved" in r.stderr
    echo, peek = server.last_body["messages"][-2:]
    assert "did not approve" in echo["content"]
    # peek says it is read-only, but that is the server's word about itself, not trust
    assert "t__peek was not run: not approved" in r.stderr and "did not approve" in peek["content"]


def test_only_a_trusted_server_s_read_only_tools_run_unasked(run, server, home):
    (home / "config" / "config.toml").write_text(
        f'[mcp.servers.t]\ncommand = "{sys.executable}"\nargs = ["{TEST_SERVER}"]\ntrust = true\n')
    server.enqueue(calls(("t__echo", {"text": "hi"}), ("t__peek", {})), Stream(text_chunks("ok")))
    r = run("echo hi")
    assert r.code == 0 and "t__echo was not run: not approved" in r.stderr  # trust is not for what writes
    echo, peek = server.last_body["messages"][-2:]
    assert "did not approve" in echo["content"] and peek["content"].startswith("pid ")
    assert "t__peek was not run" not in r.stderr and "Run t__peek" not in r.stderr


def test_trust_is_checked_like_the_other_server_keys(run, home):
    config = home / "config" / "config.toml"
    config.write_text('[mcp.servers.t]\ncommand = "x"\ntrust = "yes"\n')
    r = run("mcp", "list", expect=3)
    assert r.code == 3 and "mcp.servers.t.trust must be true or false" in r.stderr and "line 3" in r.stderr
    config.write_text("")
    assert run("config", "set", "mcp.servers.t.trust", "maybe", expect=2).code == 2
    assert run("config", "set", "mcp.servers.t.command", "x").code == 0
    assert run("config", "set", "mcp.servers.t.trust", "true").code == 0
    assert "trust = true" in config.read_text()


def test_yes_and_auto_approve_run_the_call(run, server, home):
    server.enqueue(calls(("t__echo", {"text": "hi"})), Stream(text_chunks("ok")))
    assert run("--mcp-command", TESTSERVER_CMD, "--yes", "echo").code == 0
    assert server.last_body["messages"][-1]["content"] == "echo: hi"
    (home / "config" / "config.toml").write_text(
        f'auto_approve = ["t__echo"]\n[mcp.servers.t]\ncommand = "{sys.executable}"\nargs = ["{TEST_SERVER}"]\n')
    server.enqueue(calls(("t__echo", {"text": "again"})), Stream(text_chunks("ok")))
    assert run("echo").code == 0
    assert server.last_body["messages"][-1]["content"] == "echo: again"


def test_a_destructive_tool_is_not_covered_by_yes_only_by_its_name(run, server, home):
    """--yes (auto_approve = true) runs what asks; not a tool its server calls destructive: that one is
    asked for on a terminal, refused in a pipe, and runs unasked only when auto_approve names it."""
    server.enqueue(calls(("t__wipe", {})), Stream(text_chunks("ok")))
    r = run("--mcp-command", TESTSERVER_CMD, "--yes", "wipe it")
    assert r.code == 0 and "t__wipe was not run: its server calls it destructive (list t__wipe in auto_approve)" in r.stderr
    assert "did not approve" in server.last_body["messages"][-1]["content"]
    tools = run("mcp", "tools", "--mcp-command", TESTSERVER_CMD).stdout
    assert "t__wipe (destructive: asks every time, unless auto_approve names it)" in tools
    (home / "config" / "config.toml").write_text(
        f'auto_approve = ["t__wipe"]\n[mcp.servers.t]\ncommand = "{sys.executable}"\nargs = ["{TEST_SERVER}"]\n')
    server.enqueue(calls(("t__wipe", {})), Stream(text_chunks("ok")))
    assert run("wipe it").code == 0
    assert server.last_body["messages"][-1]["content"] == "wiped"


def test_tool_errors_go_back_to_the_model(run, server):
    server.enqueue(calls(("t__fail", {}), ("t__crash", {}), ("t__nope", {}), ("t__echo", "not an object")),
                   Stream(text_chunks("handled")))
    r = run("--mcp-command", TESTSERVER_CMD, "--yes", "break things")
    assert (r.code, r.stdout) == (0, "handled\n")
    results = [m["content"] for m in server.last_body["messages"][-4:]]
    assert "Error executing tool fail" in results[0]
    assert "failed" in results[1]
    assert "did not declare" in results[2]
    assert "not a JSON object" in results[3]


@pytest.mark.process  # the MCP SDK finds the server's command on the process PATH
def test_a_server_that_fails_to_start_is_reported_and_skipped(run, server):
    server.enqueue(calls(("time__get_current_time", {"timezone": "UTC"})), Stream(text_chunks("fine")))
    r = run("--mcp-command", f"{TESTSERVER_CMD} --fail-to-start", "--mcp-command", "mcp-server-time", "hi")
    assert r.code == 0 and r.stdout == "fine\n"
    assert "MCP server t did not start" in r.stderr and "cannot open the notes database" in r.stderr
    assert not any(t["function"]["name"].startswith("t__") for t in server.requests[0].body["tools"])


def test_tool_rounds_are_limited(run, server):
    server.enqueue(*[calls(("t__peek", {})) for _ in range(4)])
    r = run("--mcp-command", TESTSERVER_CMD, "--max-tool-rounds", "2", "loop", expect=9)
    assert r.code == 9 and "stopped after 2 tool rounds" in r.stderr
    assert len(server.requests) == 3


def test_tool_calls_and_results_are_logged(run, server, home):
    import sqlite3

    server.enqueue(calls(("t__peek", {})), Stream(text_chunks("done")))
    run("--mcp-command", TESTSERVER_CMD, "peek")
    with sqlite3.connect(home / "data" / "history.db") as db:
        rows = db.execute("SELECT role, tool_calls IS NOT NULL, tool_call_id FROM messages ORDER BY id").fetchall()
    assert rows == [("user", 0, None), ("assistant", 1, None), ("tool", 0, "call_0"), ("assistant", 0, None)]
    server.enqueue(Stream(text_chunks("continued")))
    run("-c", "and then?")
    roles = [m["role"] for m in server.last_body["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant", "user"]


@pytest.mark.process  # the MCP SDK finds the server's command on the process PATH
def test_dry_run_lists_the_local_tools(run, server):
    r = run("--mcp-command", "mcp-server-time", "--dry-run", "hi")
    names = [t["function"]["name"] for t in json.loads(r.stdout)["body"]["tools"]]
    assert names == ["time__get_current_time", "time__convert_time"] and server.requests == []


def test_unknown_configured_server_name(run):
    r = run("--mcp", "nothere", "hi", expect=2)
    assert r.code == 2 and "unknown MCP server 'nothere'" in r.stderr


@pytest.mark.process  # the MCP SDK finds the server's command on the process PATH
def test_mcp_commands(run, home):
    (home / "config" / "config.toml").write_text(
        '[mcp.servers.time]\ncommand = "mcp-server-time"\n'
        f'[mcp.servers.broken]\ncommand = "{sys.executable}"\nargs = ["{TEST_SERVER}", "--fail-to-start"]\n'
        '[mcp.servers.off]\ncommand = "nowhere"\nenabled = false\n')
    listed = run("mcp", "list").stdout
    assert "time" in listed and "disabled" in listed
    assert all("untrusted" in line for line in listed.splitlines())
    tools = run("mcp", "tools", "time")
    assert tools.code == 0 and "time__get_current_time (read-only, asks: its server is not trusted)" in tools.stdout
    with (home / "config" / "config.toml").open("a") as config:
        config.write('[mcp.servers.time2]\ncommand = "mcp-server-time"\ntrust = true\n')
    assert any(line.split()[:3] == ["time2", "enabled", "trusted"] for line in run("mcp", "list").stdout.splitlines())
    tools = run("mcp", "tools", "time2")
    assert "time2__get_current_time (read-only, trusted server: runs without asking)" in tools.stdout
    doctor = run("mcp", "doctor", expect=1)
    assert doctor.code == 1
    lines = doctor.stdout.splitlines()
    assert lines[0].startswith("✓ time: started and listed 2 tool(s)")
    assert "✗ broken: the server exited before it answered" in lines[1] and "notes database" in lines[1]
    assert "✗ off: command not found: nowhere" in lines[2]


def test_config_set_knows_mcp_keys(run, home):
    assert run("config", "set", "mcp.servers.time.command", "mcp-server-time").code == 0
    assert run("config", "set", "mcp.servers.time.args", "--local-timezone,UTC").code == 0
    assert run("config", "set", "mcp.servers.time.timeout", "soon", expect=2).code == 2
    assert run("config", "get", "mcp.servers.time.args").stdout == '["--local-timezone", "UTC"]\n'


def our_servers(where: Path):
    """Processes still running tests/mcp_testserver.py in directory `where` (the test's own
    otchat was started there; other tests, in parallel workers, run theirs elsewhere)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
            except OSError:
                continue
            if str(TEST_SERVER).encode() in cmdline.split(b"\0") and cwd == where.resolve():  # not otchat's own --mcp-command
                found.append(int(pid))
    return found


def test_ctrl_c_during_a_slow_call_keeps_the_repl_and_leaves_no_process(server, home):
    server.enqueue(calls(("t__slow", {"seconds": 60})), Stream(text_chunks("after the cancel")))
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY, TERM="xterm-256color",
                        PROMPT_TOOLKIT_NO_CPR="1", PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    child = pexpect.spawn(str(OTCHAT), ["chat", "--mcp-command", TESTSERVER_CMD, "--yes"], env=env,
                          dimensions=(40, 120), timeout=30, encoding="utf-8", cwd=str(home))
    child.expect("›")
    child.send("be slow\r")
    child.expect("tool call · t__slow")
    time.sleep(0.5)
    start = time.monotonic()
    child.send("\x03")
    child.expect("›")
    assert time.monotonic() - start < 5
    assert len(our_servers(home)) == 1  # the server survived the cancelled call
    child.send("and now?\r")
    child.expect("after the cancel")
    child.expect("›")
    child.send("\x04")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    time.sleep(0.3)
    assert our_servers(home) == []


def test_one_shot_leaves_no_process_even_on_sigterm(server, home):
    server.enqueue(calls(("t__slow", {"seconds": 60})))
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY)
    proc = subprocess.Popen([str(OTCHAT), "--mcp-command", TESTSERVER_CMD, "--yes", "slow"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=home)
    deadline = time.monotonic() + 20
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # the call is under way
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=20)
    assert proc.returncode == 143
    time.sleep(0.3)
    assert our_servers(home) == []


def test_on_a_terminal_each_call_is_approved_first(server, home):
    server.enqueue(calls(("t__echo", {"text": "one"})), calls(("t__echo", {"text": "two"})),
                   Stream(text_chunks("both done")))
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY, TERM="xterm-256color")
    child = pexpect.spawn(str(OTCHAT), ["--mcp-command", TESTSERVER_CMD, "echo twice"], env=env,
                          dimensions=(40, 120), timeout=30, encoding="utf-8")
    child.expect_exact('Run t__echo {"text": "one"}? [y]es / [n]o / [t] always for this tool: ')
    child.send("t")  # one key, no Enter: always, and the second call is not asked about
    child.expect_exact("always for t__echo")
    child.expect("both done")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert [m["content"] for m in server.last_body["messages"] if m["role"] == "tool"] == ["echo: one", "echo: two"]


def test_y_answers_at_once_and_enter_says_no(server, home):
    server.enqueue(calls(("t__echo", {"text": "one"})), calls(("t__echo", {"text": "two"})),
                   Stream(text_chunks("done")))
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY, TERM="xterm-256color")
    child = pexpect.spawn(str(OTCHAT), ["--mcp-command", TESTSERVER_CMD, "echo twice"], env=env,
                          dimensions=(40, 120), timeout=30, encoding="utf-8")
    child.expect_exact('Run t__echo {"text": "one"}? ')
    child.send("y")  # no Enter: it runs now (it once waited 30 s for one)
    child.expect_exact("yes")
    child.expect_exact('Run t__echo {"text": "two"}? ', timeout=10)
    child.send("\r")
    child.expect_exact("no")
    child.expect("done")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    one, two = [m["content"] for m in server.last_body["messages"] if m["role"] == "tool"]
    assert one == "echo: one" and "did not approve" in two


# In-process: the hub closes a url server's HTTP client with its session (a leaked socket would be
# a ResourceWarning, an error in this suite).
def test_a_streamable_http_server_with_an_expanded_header(run, server, home):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    web = subprocess.Popen([sys.executable, str(TEST_SERVER), "--http", str(port)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        (home / "config" / "config.toml").write_text(
            f'[mcp.servers.web]\nurl = "http://127.0.0.1:{port}/mcp"\n'
            '[mcp.servers.web.headers]\nX-Token = "${WEB_TOKEN}"\n')
        server.enqueue(calls(("web__echo", {"text": "over http"})), Stream(text_chunks("done")))
        r = run("--yes", "call it", env={"WEB_TOKEN": "t0k3n"})
        assert (r.code, r.stdout) == (0, "done\n"), r.stderr
        assert server.last_body["messages"][-1]["content"] == "echo: over http"
        r = run("--yes", "call it")  # the header's variable is not set: one clear line
        assert "WEB_TOKEN" in r.stderr and "web did not start" in r.stderr
    finally:
        web.terminate()
        web.wait(timeout=10)


@pytest.mark.process  # PYTHONPATH is read at the interpreter's start
def test_without_the_sdk_the_message_says_how_to_install_it(run, tmp_path):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "mcp.py").write_text("raise ImportError('No module named mcp')\n")  # as if not installed
    r = run("--mcp-command", "mcp-server-time", "hi", env={"PYTHONPATH": str(shim)}, expect=2)
    assert r.code == 2 and "pip install 'otchat[mcp]'" in r.stderr and len(r.stderr.splitlines()) == 1


SUMMED = {"prompt_tokens": 22, "completion_tokens": 44, "total_tokens": 66}


def two_rounds(server):
    server.enqueue(calls(("t__peek", {}), text="Let me check."), Stream(text_chunks("It is running.")))


def test_json_reports_every_round_of_a_turn(run, server):
    two_rounds(server)
    r = run("--mcp-command", TESTSERVER_CMD, "--json", "is it running?")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["content"] == "Let me check.\n\nIt is running."
    assert [call["function"]["name"] for call in data["tool_calls"]] == ["t__peek"]
    assert data["usage"] == SUMMED and data["finish_reason"] == "stop"


def test_plain_output_and_usage_count_every_round(run, server):
    two_rounds(server)
    r = run("--mcp-command", TESTSERVER_CMD, "-u", "is it running?")
    assert r.stdout == "Let me check.\n\nIt is running.\n"
    assert "usage: 22 in · 44 out · 2 requests ·" in r.stderr
    two_rounds(server)
    r = run("--mcp-command", TESTSERVER_CMD, "--format", "markdown", "is it running?")
    assert "22 in · 44 out · 2 requests ·" in r.stdout


def test_repl_usage_counts_turns_and_requests(run, server):
    two_rounds(server)
    r = run("chat", "--mcp-command", TESTSERVER_CMD, input="is it running?\nthanks\n/usage\n")
    assert "this session: 2 turns (3 requests), 33 in · 66 out" in r.stderr


def test_a_turn_cut_after_a_tool_round_reports_what_arrived(run, server):
    from tests.fakeserver import error

    server.enqueue(calls(("t__peek", {}), text="Let me check."), error(400, {"error": {"message": "too long"}}))
    r = run("--mcp-command", TESTSERVER_CMD, "--json", "is it running?", expect=4)
    data = json.loads(r.stdout)
    assert r.code == 4 and data["content"] == "Let me check." and data["interrupted"] is True
    assert [call["function"]["name"] for call in data["tool_calls"]] == ["t__peek"]
    assert data["usage"] == {"prompt_tokens": 11, "completion_tokens": 22, "total_tokens": 33}
    assert "too long" in data["error"]["message"]


def test_continue_whose_rest_calls_a_tool_runs_the_round_and_logs_one_answer(run, server, home):
    server.enqueue(Stream(text_chunks("The first half,", finish="length")),
                   calls(("t__echo", {"text": "hi"}), finish="tool_calls"),
                   Stream(text_chunks("the echo said hi.")))
    r = run("chat", "--mcp-command", TESTSERVER_CMD, "--yes", input="say hi through echo\n/continue\n")
    assert r.code == 0, r.stderr
    assert "the echo said hi." in r.stdout
    # The round after the tool: the joined reply with its call, the result; no second question.
    user, assistant, tool = server.last_body["messages"]
    assert (user["content"], assistant["content"], tool["content"]) == ("say hi through echo", "The first half,", "echo: hi")
    assert assistant["tool_calls"][0]["function"]["name"] == "t__echo"
    logged = rows(home, "SELECT role, content, tool_calls IS NOT NULL FROM messages ORDER BY id")
    assert logged == [("user", "say hi through echo", 0), ("assistant", "The first half,", 1), ("tool", "echo: hi", 0),
                      ("assistant", "the echo said hi.", 0)]
    sent = json.loads(run("-c", "--dry-run", "next").stdout)["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "assistant", "user"]
