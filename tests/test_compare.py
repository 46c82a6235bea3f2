"""Several models at once (-m repeated, --models, /compare): one request per model, in flight
together; the answers in a pipe, as a JSON array and as tagged JSONL; failures per model; the
answers as sibling branches of one question, and what -c continues afterwards."""

from __future__ import annotations

import json

import pytest

from tests.fakeserver import Stream, Text, chunk, error, text_chunks, tool_call_chunks
from tests.helpers import contents, rows


def posted(server):
    return [r for r in server.requests if r.method == "POST"]


def test_each_model_gets_the_same_request_with_its_own_model(otchat, server):
    r = otchat("-m", "a/one", "-m", "b/two", "-s", "be brief", "--temperature", "0.5", "hi")
    assert r.code == 0, r.stderr
    bodies = {body["model"]: body for body in (req.body for req in posted(server))}
    assert set(bodies) == {"a/one", "b/two"}
    strip = [{k: v for k, v in body.items() if k != "model"} for body in bodies.values()]
    assert strip[0] == strip[1] and strip[0]["messages"] == [
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]


def test_models_list_and_aliases_resolve_as_m_does(otchat, server, home):
    (home / "config" / "config.toml").write_text('[aliases]\nfast = "a/one"\n')
    assert otchat("-m", "fast", "--models", "b/two, c/three", "hi").code == 0
    assert sorted(req.body["model"] for req in posted(server)) == ["a/one", "b/two", "c/three"]


def test_the_requests_are_in_flight_at_once(otchat, server):
    server.per_model["a/one"] = Text("one", first_byte_delay=0.5)
    server.per_model["b/two"] = Text("two", first_byte_delay=0.5)
    assert otchat("-m", "a/one", "-m", "b/two", "hi").code == 0
    first, second = posted(server)
    # Each came before the other's reply ended: neither waited for the other.
    assert first.started < second.ended and second.started < first.ended


def test_a_pipe_gets_each_answer_whole_under_its_header_in_the_order_named(otchat, server):
    server.per_model["a/one"] = Text("first answer, slow", first_byte_delay=0.5)  # b/two ends first
    server.per_model["b/two"] = Text("second answer\n\nin two paragraphs")
    r = otchat("-m", "a/one", "-m", "b/two", "hi")
    assert r.code == 0
    assert r.stdout == "== a/one ==\nfirst answer, slow\n\n== b/two ==\nsecond answer\n\nin two paragraphs\n"


def test_one_model_named_once_is_exactly_as_before(otchat, server):
    assert otchat("--models", "a/one", "hi").stdout == "You said: hi\n"
    assert [req.body["model"] for req in posted(server)] == ["a/one"]


def test_json_is_an_array_of_one_shot_objects_in_the_order_named(otchat, server):
    server.per_model["a/one"] = Text("one", first_byte_delay=0.3)
    server.per_model["b/two"] = error(404, {"error": {"message": "no such model b/two"}})
    r = otchat("--json", "-m", "a/one", "-m", "b/two", "hi", expect=4)
    assert r.code == 4
    first, second = json.loads(r.stdout)
    assert first["model"] == "a/one" and first["content"] == "one" and first["finish_reason"] == "stop"
    assert first["usage"]["total_tokens"] == 33 and first["latency"] > 0 and "error" not in first
    assert second["model"] == "b/two" and second["content"] == "" and second["error"]["exit_code"] == 4
    assert "no such model b/two" in second["error"]["message"]


def test_the_single_model_json_object_has_its_latency(otchat, server):
    data = json.loads(otchat("--json", "hi").stdout)
    assert data["content"] == "You said: hi" and isinstance(data["latency"], float)


def test_jsonl_tags_every_event_with_its_model(otchat, server):
    server.per_model["b/two"] = error(400, {"error": {"message": "unknown model"}})
    r = otchat("--format", "jsonl", "-m", "a/one", "-m", "b/two", "hi", expect=4)
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert r.code == 4 and all("model" in line for line in lines)
    assert "".join(e["text"] for e in lines if e["type"] == "text" and e["model"] == "a/one") == "You said: hi"
    assert [e["type"] for e in lines if e["model"] == "b/two"] == ["error"]
    assert {e["type"] for e in lines if e["model"] == "a/one"} == {"text", "usage", "finish"}


def test_a_failing_model_shows_its_error_and_the_others_go_on(otchat, server):
    server.per_model["b/two"] = error(404, {"error": {"message": "no such model"}})
    server.per_model["c/three"] = error(500, {"error": {"message": "boom"}})
    r = otchat("--retries", "0", "--models", "a/one,b/two,c/three", "hi", expect=4)
    assert r.code == 4  # the first failure in the order named: b/two's 404, not c/three's 500
    assert r.stdout == "== a/one ==\nYou said: hi\n\n== b/two ==\n\n== c/three ==\n"
    errors = [line for line in r.stderr.splitlines() if line.startswith("otchat: error:")]
    assert len(errors) == 2 and "no such model" in errors[0] and "boom" in errors[1]


def test_a_reply_stopped_at_the_tool_budget_counts_as_failed(otchat, server):
    server.per_model["b/two"] = Stream(tool_call_chunks([("firecrawl_search", "{}")]))
    r = otchat("-m", "a/one", "-m", "b/two", "hi", expect=9)
    assert r.code == 9 and "== a/one ==\nYou said: hi\n" in r.stdout
    assert "tool budget" in r.stderr


def test_too_many_or_repeated_models_are_refused(otchat, server, home):
    r = otchat(*(arg for n in range(9) for arg in ("-m", f"m/{n}")), "hi", expect=2)
    assert r.code == 2 and "at most 8" in r.stderr
    (home / "config" / "config.toml").write_text('[aliases]\nfast = "a/one"\n')
    r = otchat("-m", "fast", "-m", "a/one", "hi", expect=2)
    assert r.code == 2 and "'fast' and 'a/one' name the same model" in r.stderr
    assert posted(server) == []


@pytest.mark.parametrize("args", [
    ["chat", "-m", "a/one", "-m", "b/two"],
    ["cmd", "-m", "a/one", "-m", "b/two", "list files"],
    ["--mcp-command", "some-server", "-m", "a/one", "-m", "b/two", "hi"],
    ["--schema", "name", "-m", "a/one", "-m", "b/two", "hi"],
    ["-x", "-m", "a/one", "-m", "b/two", "hi"],
    ["-c", "--regenerate", "-m", "a/one", "-m", "b/two"],
])
def test_what_one_model_at_a_time_does_refuses_several(otchat, server, args):
    r = otchat(*args, expect=2)
    assert r.code == 2 and len(r.stderr.splitlines()) == 1 and r.stderr.startswith("otchat: error:")
    assert "several" in r.stderr and posted(server) == []


def configure_a_server(home):
    import sys
    from pathlib import Path

    server_py = Path(__file__).with_name("mcp_testserver.py")
    (home / "config" / "config.toml").write_text(
        f'[mcp.servers.t]\ncommand = "{sys.executable}"\nargs = ["{server_py}"]\n')


def test_several_models_with_configured_servers_are_refused_naming_no_mcp(otchat, server, home):
    configure_a_server(home)
    r = otchat("-m", "a/one", "-m", "b/two", "hi", expect=2)
    assert len(r.stderr.splitlines()) == 1 and "--no-mcp" in r.stderr and posted(server) == []


def test_no_mcp_turns_the_configured_servers_off_for_several_models(otchat, server, home):
    configure_a_server(home)
    r = otchat("-m", "a/one", "-m", "b/two", "--no-mcp", "hi")
    assert r.stderr == "" and sorted(req.body["model"] for req in posted(server)) == ["a/one", "b/two"]
    assert all("tools" not in req.body for req in posted(server))


@pytest.mark.parametrize("args", [["--no-mcp", "hi"], ["chat", "--no-mcp"], ["cmd", "--no-mcp", "list files"]])
def test_no_mcp_turns_the_configured_servers_off_for_one_run(otchat, server, home, args):
    configure_a_server(home)
    assert otchat("hi").code == 0  # the server is on: its tools are declared
    assert any(tool["function"]["name"] == "t__echo" for tool in server.last_body["tools"])
    otchat(*args, input="hi\n")
    assert "tools" not in server.last_body


def test_no_mcp_and_mcp_contradict_each_other(otchat, server, home):
    configure_a_server(home)
    r = otchat("--no-mcp", "--mcp", "t", "hi", expect=2)
    assert "--no-mcp" in r.stderr and "--mcp" in r.stderr and posted(server) == []


def test_the_answers_are_siblings_and_c_continues_the_first_models_branch(otchat, server, home):
    server.per_model["a/one"] = ["from one"]
    server.per_model["b/two"] = ["from two"]
    assert otchat("-m", "a/one", "-m", "b/two", "question").code == 0
    (question_id,) = rows(home, "SELECT id FROM messages WHERE role = 'user'")[0]
    answers = rows(home, f"SELECT content, model FROM messages WHERE parent_id = {question_id} ORDER BY id")
    assert sorted(answers) == [("from one", "a/one"), ("from two", "b/two")]
    assert otchat("-c", "more").code == 0
    assert server.last_body["model"] == "a/one"
    assert contents(server.last_body) == ["question", "from one", "more"]
    cid = rows(home, "SELECT id FROM conversations")[0][0]
    tree = otchat("history", "show", cid[:8], "--tree").stdout.splitlines()
    assert tree[0].endswith("user: question")  # then each answer, in the order named, saying whose it is
    assert tree[1].startswith("- #") and tree[1].endswith("assistant (a/one): from one")
    assert tree[2].endswith("user: more") and tree[3].endswith("assistant: You said: more  ← current")
    assert tree[4].startswith("- #") and tree[4].endswith("assistant (b/two): from two")
    # Another answer's branch, picked with history switch: -c goes on with its model.
    leaf = rows(home, "SELECT id FROM messages WHERE content = 'from two'")[0][0]
    assert otchat("history", "switch", cid[:8], str(leaf)).code == 0
    assert otchat("-c", "again").code == 0
    assert server.last_body["model"] == "b/two"
    assert contents(server.last_body) == ["question", "from two", "again"]


def test_a_comparison_can_continue_a_conversation(otchat, server):
    otchat("first")
    assert otchat("-c", "-m", "a/one", "-m", "b/two", "second").code == 0
    for request in posted(server)[1:]:
        assert contents(request.body) == ["first", "You said: first", "second"]
    otchat("-c", "third")
    assert server.last_body["model"] == "a/one"
    assert contents(server.last_body) == ["first", "You said: first", "second", "You said: second", "third"]


def test_a_question_no_model_answered_leaves_the_conversation_as_it_was(otchat, server, home):
    otchat("first")
    server.per_model["a/one"] = error(404, {"error": {"message": "no"}})
    server.per_model["b/two"] = error(404, {"error": {"message": "no"}})
    assert otchat("-c", "-m", "a/one", "-m", "b/two", "second", expect=4).code == 4
    assert sorted(req.body["model"] for req in posted(server)[1:]) == ["a/one", "b/two"]
    # -c goes on with the model last asked (a/one, README), which still answers 404.
    otchat("-c", "third", expect=4)
    assert contents(server.last_body) == ["first", "You said: first", "third"]


def test_dry_run_prints_each_models_request(otchat, server):
    shown = json.loads(otchat("--dry-run", "-m", "a/one", "-m", "b/two", "hi").stdout)
    assert [request["body"]["model"] for request in shown] == ["a/one", "b/two"]
    assert posted(server) == []


def test_compare_in_the_repl_shows_the_answers_and_keeps_the_conversation_on_its_own(otchat, server, home):
    server.per_model["b/two"] = ["b's answer"]
    server.per_model["c/three"] = ["c's answer"]
    r = otchat("chat", "-m", "a/one", input="question\n/compare b/two c/three\nnext\n")
    assert r.code == 0, r.stderr
    assert "== b/two ==\nb's answer\n\n== c/three ==\nc's answer\n" in r.stdout
    assert "goes on from a/one's answer" in r.stderr
    assert server.last_body["model"] == "a/one"
    assert contents(server.last_body) == ["question", "You said: question", "next"]
    (question_id,) = rows(home, "SELECT id FROM messages WHERE content = 'question'")[0]
    assert len(rows(home, f"SELECT id FROM messages WHERE parent_id = {question_id}")) == 3
    # The others are branches, which say whose answer each is; switching to one goes on with its model.
    leaf = rows(home, "SELECT id FROM messages WHERE content = 'c''s answer'")[0][0]
    r = otchat("chat", "-c", input=f"/branches\n/switch {leaf}\nafter\n")
    assert f"#{leaf}  from turn 1  1 message  assistant (c/three): c's answer" in r.stderr
    assert f"switched to #{leaf} (1 turn, model c/three)" in r.stderr
    assert server.last_body["model"] == "c/three"
    assert contents(server.last_body) == ["question", "c's answer", "after"]


def test_compare_in_the_repl_needs_a_question_and_models(otchat, server):
    r = otchat("chat", input="/compare b/two\n/compare\n")
    assert "nothing to compare yet" in r.stderr and "usage: /compare MODEL" in r.stderr
    assert posted(server) == []


def test_the_server_can_answer_per_model(server):
    """The fake server's own seam: a reply, a list taken in turn, or a callable, per model."""
    server.per_model["a"] = ["one", "two"]
    server.per_model["b"] = lambda body: Text(f"for {body['model']}")
    server.per_model["c"] = Stream([chunk({"content": "x"}, "stop")])
    assert server.next_reply({"model": "a"}) is not None and server.per_model["a"] == ["two"]
    assert isinstance(server.next_reply({"model": "c"}), Stream)
    assert server.next_reply({"model": "b", "stream": True}).events[1]["choices"][0]["delta"] == {"content": "for b"}


def test_ctrl_c_stops_every_answer_and_keeps_what_arrived(server, home):
    import signal
    import subprocess
    import time

    from tests.conftest import KEY, OTCHAT, clean_environ
    from tests.fakeserver import paused_text

    server.per_model["a/one"] = paused_text("partial one", " and the rest", 60.0)
    server.per_model["b/two"] = Text("never shown", first_byte_delay=60.0)  # still waiting to begin
    proc = subprocess.Popen([str(OTCHAT), "-m", "a/one", "-m", "b/two", "hi"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env=clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY))
    expected = b"== a/one ==\npartial one"
    first = proc.stdout.read(len(expected))  # blocks until the first answer has begun
    # Signal once it waits on the socket: a signal that lands in the instant between Python's
    # last check for signals and the blocking read is acted on only when the read returns
    # (CPython's own race; a person's Ctrl-C does not land there, a script's reading the
    # output right before can).
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)  # a hang guard, not a measure
    assert proc.returncode == 130, err
    assert (first + out).decode() == "== a/one ==\npartial one\n\n== b/two ==\n"
    assert b"Traceback" not in err
    kept = rows(home, "SELECT content, interrupted FROM messages WHERE role = 'assistant'")
    assert kept == [("partial one", 1)]


def test_a_reply_can_be_stopped_from_another_thread(server):
    """What Ctrl-C relies on: abort() wakes a read that waits on the socket (close() alone would not)."""
    import threading

    from otchat.errors import OtchatError
    from otchat.models import ChatRequest
    from otchat.wire.transport import Transport
    from tests.fakeserver import paused_text

    server.enqueue(paused_text("before the pause", "after", 60.0))
    transport = Transport(timeout=120, connect_timeout=5, retries=0, plain_http=True)
    reply = transport.open(ChatRequest(server.url + "/chat/completions", {}, {"stream": True}))
    got, failed = [], []

    def read():
        try:
            for batch in reply.batches(lambda: None):
                got.extend(batch)
        except OtchatError as exc:
            failed.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while not got and reader.is_alive():  # the first piece is in: the reader now waits for the rest
        reader.join(0.05)
    reply.abort()
    reader.join(30)  # a hang guard, not a measure
    assert not reader.is_alive() and failed
    reply.close()
    transport.close()


def test_into_a_pipe_a_failing_models_error_line_names_it(otchat, server):
    server.per_model["b/two"] = error(404, {"error": {"message": "no such model"}})
    r = otchat("-m", "a/one", "-m", "b/two", "hi", expect=4)
    (line,) = r.stderr.splitlines()
    assert line.startswith("otchat: error: b/two: 404 Not Found: no such model")


def test_into_a_pipe_each_models_warnings_and_v_lines_follow_its_answer_naming_it(server, home):
    import subprocess

    from tests.conftest import KEY, OTCHAT, clean_environ

    fail = error(500, {"error": {"message": "overloaded"}})
    server.per_model["a/one"] = lambda body: Stream(text_chunks("Alpha answer, slowly.\n", 2), piece_delay=0.02)
    server.per_model["b/two"] = [fail, "Beta answer."]
    server.per_model["c/three"] = lambda body: Stream(text_chunks("Gamma answer.\n", 2), piece_delay=0.01)
    # stderr into the same pipe as stdout (2>&1): what a person reads in a log file.
    proc = subprocess.run([str(OTCHAT), "-v", "--retries", "1", "-m", "a/one", "-m", "b/two", "-m", "c/three", "hi"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=60,
                          env=clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY))
    lines = proc.stdout.decode().splitlines()
    assert proc.returncode == 0, lines
    section, seen = None, []
    for line in lines:
        if line.startswith("== "):
            section = line.strip("= ")
            seen.append(section)
        elif line.startswith(("otchat:", ">", "<", "*")) or ": > " in line or ": < " in line:
            assert section is not None and section in line, (line, lines)  # whole, after its model's answer
    assert seen == ["a/one", "b/two", "c/three"]
    joined = "\n".join(lines)
    assert "Alpha answer, slowly.\n" in joined and "Beta answer.\n" in joined
    assert "otchat: warning: b/two: 500 Internal Server Error: overloaded; retrying in" in joined
    assert all(f"{model}: > POST " in joined for model in seen)


def test_the_limit_on_models_is_worded_one_way_wherever_it_is_said(otchat, server):
    from pathlib import Path

    said = "at most 8 models at once"
    many = " ".join(f"m/{n}" for n in range(9))
    assert said in otchat("--models", many.replace(" ", ","), "hi", expect=2).stderr
    assert said in otchat("chat", input=f"/compare {many}\n").stderr
    assert said in " ".join(otchat("--help").stdout.split())  # however --help wraps it
    root = Path(__file__).resolve().parent.parent
    for doc in ("README.md", "man/otchat.1"):
        text = " ".join((root / doc).read_text().replace("\\-", "-").split())
        assert said in text and "up to 8" not in text, doc
