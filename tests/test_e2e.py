"""End to end against the fake server, as a user runs otchat: in-process, and the executable where the process is the point (marked `process`)."""

import json
import signal
import socket
import subprocess
import time

import pytest

from tests.conftest import KEY, OTCHAT, clean_environ
from tests.fakeserver import USAGE, Body, Stream, chunk, completion, error, text_chunks, tool_call_chunks

NOW = {"Retry-After": "0"}


@pytest.mark.process  # stdout a real pipe, the executable's exit status
def test_streams_exactly_the_text_into_a_pipe(otchat, server):
    server.enqueue(Stream(text_chunks("The sky is blue because of **Rayleigh** scattering.", 4)))
    r = otchat("why is the sky blue")
    assert (r.code, r.stdout, r.stderr) == (0, "The sky is blue because of **Rayleigh** scattering.\n", "")
    body = server.last_body
    assert body["messages"] == [{"role": "user", "content": "why is the sky blue"}]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert server.requests[-1].headers["authorization"] == f"Bearer {KEY}"


def test_piped_stdin_follows_the_prompt(otchat, server):
    r = otchat("write a commit message", input="diff --git a/x b/x\n+hello\n")
    assert r.code == 0
    assert server.last_body["messages"][0]["content"] == "write a commit message\n\ndiff --git a/x b/x\n+hello\n"


def test_stdin_alone_is_the_message_and_empty_stdin_is_ignored(otchat, server):
    assert otchat(input="just this").code == 0
    assert server.last_body["messages"][0]["content"] == "just this"
    assert otchat("only the prompt", input="").code == 0
    assert server.last_body["messages"][0]["content"] == "only the prompt"


def test_input_placeholder(otchat, server):
    otchat("Translate: {input} (to French)", input="good morning")
    assert server.last_body["messages"][0]["content"] == "Translate: good morning (to French)"


def test_dry_run_shows_the_diff_and_hides_the_key(otchat, server):
    r = otchat("write a commit message", "-t", "firecrawl", "--dry-run", input="+added line\n")
    assert r.code == 0 and server.requests == []
    shown = json.loads(r.stdout)
    assert shown["url"] == f"{server.url}/chat/completions"
    assert shown["headers"]["Authorization"] == "Bearer ***"
    assert "+added line" in shown["body"]["messages"][0]["content"]
    assert shown["body"]["tools"] == [{"type": "mcp", "ref": "firecrawl"}]


def test_dry_run_needs_no_key(otchat):
    r = otchat("hi", "--dry-run", key=None)
    assert r.code == 0 and "Authorization" not in json.loads(r.stdout)["headers"]


def test_request_flags_reach_the_body(otchat, server, home):
    fn = home / "weather.json"
    fn.write_text(json.dumps({"name": "get_weather", "description": "d",
                              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}))
    src = home / "notes.txt"
    src.write_text("remember the milk\n")
    r = otchat("-m", "openai/gpt-4o", "-s", "be terse", "-t", "firecrawl", "-t", "exa", "--function", str(fn),
               "--tool-choice", "get_weather", "-f", str(src), "--temperature", "0.3", "--max-tokens", "99",
               "-o", "top_p=0.9", "-o", "user=alice", "hello")
    assert r.code == 0, r.stderr
    body = server.last_body
    assert body["model"] == "openai/gpt-4o"
    assert body["messages"][0] == {"role": "system", "content": "be terse"}
    assert body["messages"][1]["content"] == f"hello\n\n{src}\n```\nremember the milk\n```"
    assert body["tools"][:2] == [{"type": "mcp", "ref": "firecrawl"}, {"type": "mcp", "ref": "exa"}]
    assert body["tools"][2]["function"]["name"] == "get_weather"
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert (body["temperature"], body["max_tokens"], body["top_p"], body["user"]) == (0.3, 99, 0.9, "alice")


def test_config_file_and_environment(otchat, server, home):
    (home / "config" / "config.toml").write_text('model = "file/model"\ntools = ["exa"]\nsystem = "sys"\n')
    otchat("hi")
    assert server.last_body["model"] == "file/model" and server.last_body["tools"] == [{"type": "mcp", "ref": "exa"}]
    otchat("hi", env={"OTCHAT_MODEL": "env/model"})
    assert server.last_body["model"] == "env/model"
    otchat("hi", "-m", "flag/model", env={"OTCHAT_MODEL": "env/model"})
    assert server.last_body["model"] == "flag/model"


def test_no_stream(otchat, server):
    server.enqueue(Body(completion("whole")))
    r = otchat("--no-stream", "hi")
    assert (r.code, r.stdout) == (0, "whole\n") and "stream" not in server.last_body


@pytest.mark.parametrize("variant", [
    dict(crlf=True), dict(split=3), dict(split=1, piece_delay=0.0), dict(keepalive=True), dict(fields=True),
])
def test_stream_variants(otchat, server, variant):
    text = "Ünïcödé — 日本語 — emoji 🎉 and plain ascii."
    server.enqueue(Stream(text_chunks(text, 3), **variant))
    r = otchat("hi")
    assert (r.code, r.stdout) == (0, text + "\n")


@pytest.mark.parametrize("style", ["empty-choices", "on-chunk", "finish"])
def test_usage_styles_with_u(otchat, server, style):
    server.enqueue(Stream(text_chunks("ok", usage=style)))
    r = otchat("-u", "hi")
    assert r.stdout == "ok\n" and "usage: 11 in · 22 out" in r.stderr


def test_json_reply_to_a_stream_request(otchat, server):
    server.enqueue(Body(completion("not streamed after all")))
    assert otchat("hi").stdout == "not streamed after all\n"


def test_rejected_stream_options_retried_without(otchat, server):
    server.enqueue(error(400, {"error": {"message": "Unrecognized request argument supplied: stream_options"}}),
                   Stream(text_chunks("fine", usage=None)))
    r = otchat("hi")
    assert (r.code, r.stdout) == (0, "fine\n")
    assert "stream_options" in server.requests[0].body and "stream_options" not in server.requests[1].body


def test_long_silent_gap_with_keepalives_survives_a_short_timeout(otchat, server):
    server.enqueue(Stream(text_chunks("after the tools ran", 5), gap=(2, 2.0), gap_keepalive=0.3))
    r = otchat("--timeout", "1", "hi")
    assert (r.code, r.stdout) == (0, "after the tools ran\n")


def test_formats_json_and_jsonl(otchat, server):
    server.enqueue(Stream(text_chunks("hey", 1, reasoning="thinking")))
    data = json.loads(otchat("--json", "hi").stdout)
    assert isinstance(data.pop("latency"), float)  # the turn's seconds: it varies
    assert data == {"id": "genr_fake", "model": "fake/model", "content": "hey", "tool_calls": [],
                    "finish_reason": "stop", "usage": USAGE, "reasoning": "thinking"}
    server.enqueue(Stream(text_chunks("hey", 1, reasoning="thinking")))
    lines = [json.loads(line) for line in otchat("--format", "jsonl", "hi").stdout.splitlines()]
    assert [line["type"] for line in lines] == ["reasoning", "text", "text", "text", "usage", "finish"]


def test_reasoning_never_mixes_into_the_answer(otchat, server):
    server.enqueue(Stream(text_chunks("answer", reasoning="secret thoughts")))
    r = otchat("hi")
    assert r.stdout == "answer\n" and "secret thoughts" not in r.stderr
    server.enqueue(Stream(text_chunks("answer", reasoning="secret thoughts")))
    r = otchat("-v", "hi")
    assert r.stdout == "answer\n" and "secret thoughts" in r.stderr


def test_verbose_shows_the_exchange_without_the_key(otchat, server):
    r = otchat("-v", "hi")
    assert "> POST" in r.stderr and "Bearer ***" in r.stderr and "< 200 OK" in r.stderr
    assert "x-request-id: req_fake" in r.stderr


@pytest.mark.parametrize("style", ["once", "repeat"])
def test_declared_function_calls_go_to_stderr_and_exit_0(otchat, server, home, style):
    fn = home / "f.json"
    fn.write_text(json.dumps({"name": "lookup", "parameters": {"type": "object"}}))
    server.enqueue(Stream(tool_call_chunks([("lookup", '{"q": "otters"}')], style=style)))
    r = otchat("--function", str(fn), "find otters")
    assert (r.code, r.stdout) == (0, "")
    assert 'tool call: lookup {"q":"otters"}' in r.stderr


@pytest.mark.process  # one exit status per code as a shell sees it, from the executable
def test_tool_budget_keeps_the_content_and_exits_9(otchat, server):
    server.enqueue(Stream(tool_call_chunks([("firecrawl_scrape", '{"url": "https://x"}')],
                                           text="Partial findings.")))
    r = otchat("-t", "firecrawl", "research", expect=9)
    assert r.code == 9 and r.stdout == "Partial findings.\n"
    assert "tool budget" in r.stderr and "firecrawl_scrape" in r.stderr


@pytest.mark.parametrize("reason, words", [("length", "token limit"), ("content_filter", "content filter")])
def test_cut_replies_warn(otchat, server, reason, words):
    server.enqueue(Stream(text_chunks("cut", finish=reason)))
    r = otchat("hi")
    assert r.code == 0 and r.stdout == "cut\n" and words in r.stderr


# Every exit code, produced the way a user meets it.


def one_line(r):
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("otchat: error: "), r.stderr
    return lines[0]


@pytest.mark.parametrize("args, stdin, words", [
    (["hi"], b"\xff\xfe not utf-8", "not UTF-8"),
    (["-o", "novalue", "hi"], b"", "KEY=VALUE"),
    (["-f", "/nonexistent/file.txt", "hi"], b"", "/nonexistent/file.txt"),
    (["--json", "--raw", "hi"], b"", "contradict"),
    (["--temperature", "9", "hi"], b"", "temperature"),
    (["--bogus-flag"], b"", "--bogus-flag"),
    (["histroy", "list"], b"", "did you mean 'history'?"),
    (["modles"], b"", "did you mean 'models'?"),
    (["--base-url", "example.com/v1", "hi"], b"", "--base-url"),
    (["--retries", "50", "hi"], b"", "--retries"),
    (["--timeout", "0", "hi"], b"", "--timeout"),
    (["--json", "--format", "plain", "hi"], b"", "contradict"),
    (["translate {input}"], b"", "{input}"),
])
def test_exit_2_bad_input(otchat, server, args, stdin, words):
    r = otchat(*args, input=stdin, expect=2)
    assert r.code == 2 and words in one_line(r) and server.requests == []


def test_exit_2_malformed_function_file(otchat, home):
    bad = home / "bad.json"
    bad.write_text("{not json")
    r = otchat("--function", str(bad), "hi", expect=2)
    assert r.code == 2 and str(bad) in one_line(r)


@pytest.mark.process  # stdin a real pipe, read only up to the limit; the exit status
def test_exit_2_stdin_above_the_limit_before_reading_it_all(otchat, home):
    (home / "config" / "config.toml").write_text("max_input_bytes = 1000\n")
    r = otchat("hi", input=b"x" * 5000, expect=2)
    assert r.code == 2 and "max_input_bytes" in one_line(r) and "tokens" in r.stderr


def test_exit_2_file_above_the_limit(otchat, server, home):
    (home / "config" / "config.toml").write_text("max_input_bytes = 1000\n")
    big = home / "big.log"
    big.write_bytes(b"x" * 5000)
    r = otchat("-f", str(big), "hi", expect=2)
    assert r.code == 2 and str(big) in one_line(r) and server.requests == []


@pytest.mark.process  # one exit status per code as a shell sees it, from the executable
def test_exit_3_no_key(otchat, server):
    r = otchat("hi", key=None, expect=3)
    assert r.code == 3 and "OPENTOOLS_API_KEY" in one_line(r) and server.requests == []


def test_exit_3_broken_config_names_path_and_line(otchat, home):
    path = home / "config" / "config.toml"
    path.write_text('model = "x"\n[oops\n')
    r = otchat("hi", expect=3)
    assert r.code == 3 and str(path) in one_line(r) and "line 2" in r.stderr
    assert path.read_text() == 'model = "x"\n[oops\n'


@pytest.mark.parametrize("args", [["hi"], ["--dry-run", "hi"], ["chat"], ["models"]])
def test_exit_3_base_url_variable_without_a_scheme_names_the_variable(otchat, server, args):
    r = otchat(*args, input="hi\n", env={"OTCHAT_BASE_URL": "127.0.0.1:8080/v1"}, expect=3)
    line = one_line(r)
    assert "OTCHAT_BASE_URL" in line and "'127.0.0.1:8080/v1'" in line and "http://" in line
    assert server.requests == [] and r.stdout == ""


@pytest.mark.parametrize("status", [401, 403])
def test_exit_3_rejected_key_never_echoes_it(otchat, server, status):
    server.enqueue(error(status, {"error": {"message": f"Incorrect API key provided: {KEY}"}}))
    r = otchat("hi", expect=3)
    assert r.code == 3 and str(status) in one_line(r)  # the runner asserts the key is absent


@pytest.mark.parametrize("body, words", [
    ({"error": {"message": "Unknown model 'x/y'", "type": "invalid_request_error", "code": "model_not_found"}},
     "Unknown model 'x/y'"),
    ({"error": "unknown tool ref 'nope'"}, "unknown tool ref 'nope'"),
    ({"message": "bad things"}, "bad things"),
    ({"detail": "validation failed"}, "validation failed"),
    ("<html><h1>400 Bad Request</h1></html>", "400 Bad Request"),
])
def test_exit_4_every_error_body_shape(otchat, server, body, words):
    server.enqueue(error(400, body))
    r = otchat("hi", expect=4)
    line = one_line(r)
    assert r.code == 4 and "400" in line and words in line and len(server.requests) == 1


@pytest.mark.process  # one exit status per code as a shell sees it, from the executable
def test_exit_4_wrong_path_404(otchat, server):
    r = otchat("hi", env={"OTCHAT_BASE_URL": server.url + "/nowhere"}, expect=4)
    assert r.code == 4 and "404" in one_line(r)


def test_retries_the_first_failures_then_answers(otchat, server):
    server.enqueue(error(503, {"error": "busy"}, NOW), error(500, "oops", NOW), Stream(text_chunks("third time")))
    r = otchat("hi")
    assert (r.code, r.stdout) == (0, "third time\n") and len(server.requests) == 3


def test_exit_5_server_errors_after_retries(otchat, server):
    server.enqueue(*[error(502, {"error": {"message": "bad gateway"}}, NOW)] * 3)
    r = otchat("hi", expect=5)
    assert r.code == 5 and "502" in one_line(r) and len(server.requests) == 3


@pytest.mark.process  # one exit status per code as a shell sees it, from the executable
def test_exit_5_error_event_mid_stream(otchat, server):
    server.enqueue(Stream([chunk({"content": "Start of "}), {"error": {"message": "provider overloaded"}}], done=False))
    r = otchat("hi", expect=5)
    assert r.code == 5 and r.stdout == "Start of \n" and "provider overloaded" in one_line(r)


@pytest.mark.process  # one exit status per code as a shell sees it, from the executable
def test_exit_6_connection_refused(otchat):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = otchat("--retries", "0", "hi", env={"OTCHAT_BASE_URL": f"http://127.0.0.1:{port}/v1"}, expect=6)
    assert r.code == 6 and "cannot connect" in one_line(r)


def test_exit_6_read_timeout_keeps_the_text(otchat, server):
    server.enqueue(Stream(text_chunks("early words", 4), gap=(3, 3.0)))
    r = otchat("--timeout", "0.5", "hi", expect=6)
    assert r.code == 6 and r.stdout == "early wo\n" and "no data" in one_line(r)


def test_exit_6_408_after_retries(otchat, server):
    server.enqueue(*[error(408, {"error": "timeout"}, NOW)] * 2)
    r = otchat("--retries", "1", "hi", expect=6)
    assert r.code == 6 and "408" in one_line(r) and len(server.requests) == 2


@pytest.mark.parametrize("complete", [True, False])
def test_exit_7_truncated_stream_keeps_the_text(otchat, server, complete):
    server.enqueue(Stream([chunk({"content": "half of the ans"})], done=False, complete=complete))
    r = otchat("hi", expect=7)
    assert r.code == 7 and r.stdout == "half of the ans\n" and one_line(r)


@pytest.mark.process  # one exit status per code as a shell sees it, from the executable
def test_exit_7_undecodable_event(otchat, server):
    server.enqueue(Stream([chunk({"content": "ok "}), "{this is not json"], done=False))
    r = otchat("hi", expect=7)
    assert r.code == 7 and "undecodable" in one_line(r) and r.stdout == "ok \n"


def test_exit_8_rate_limited_after_retries(otchat, server):
    server.enqueue(*[error(429, {"error": {"message": "Rate limit reached"}}, NOW)] * 3)
    r = otchat("hi", expect=8)
    assert r.code == 8 and "429" in one_line(r) and len(server.requests) == 3


@pytest.mark.process  # one exit status per code as a shell sees it, from the executable
def test_exit_8_out_of_credit_is_not_retried(otchat, server):
    server.enqueue(error(402, {"error": {"message": "Insufficient credits"}}))
    r = otchat("hi", expect=8)
    assert r.code == 8 and "Insufficient credits" in one_line(r) and len(server.requests) == 1


def spawn(server, home, *args):
    return subprocess.Popen([str(OTCHAT), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            env=clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY))


def wait_for_output(proc, expected):
    first = proc.stdout.read(len(expected))  # blocks until the text before the gap arrived
    assert first == expected
    return first


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signals_during_a_stream(server, home, sig, code):
    server.enqueue(Stream(text_chunks("first words then a long pause", 5), gap=(3, 5.0)))
    proc = spawn(server, home, "hi")
    first = wait_for_output(proc, b"first word")
    # Signal once it waits on the socket: a signal that lands in the instant between Python's
    # last check for signals and the blocking read is acted on only when the read returns
    # (CPython's own race; a person's Ctrl-C does not land there, a script's reading the
    # output right before can).
    time.sleep(0.3)
    start = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == code and time.monotonic() - start < 3
    assert (first + out).decode() == "first word\n"  # what arrived, ended with a newline
    assert b"Traceback" not in err


def test_closed_stdout_pipe_ends_quietly(server, home):
    server.enqueue(Stream(text_chunks("line one\n" + "more lines\n" * 5000, 50)))
    shell = f"'{OTCHAT}' hi | head -1"
    proc = subprocess.run(["bash", "-c", shell + "; echo \"rc=${PIPESTATUS[0]}\" >&2"], capture_output=True,
                          env=clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY), timeout=30)
    assert proc.stdout == b"line one\n"
    assert proc.stderr.decode().strip() == "rc=141"


def test_an_empty_reply_says_so(otchat, server):
    server.enqueue(Stream(text_chunks("")))
    r = otchat("hi")
    assert (r.code, r.stdout) == (0, "")
    assert "otchat: warning: the reply was empty" in r.stderr
    server.enqueue(Stream(text_chunks("  \n")))
    assert "the reply was empty" in otchat("hi").stderr
    assert "the reply was empty" not in otchat("hi").stderr  # an answer with text says nothing


def test_an_empty_reply_on_a_terminal_is_a_dim_line():
    import io

    from rich.console import Console

    from otchat.models import TurnResult
    from otchat.term.live import MarkdownSink

    out = io.StringIO()
    sink = MarkdownSink(Console(file=out, force_terminal=True, width=60), show_usage=False)
    sink.end(TurnResult(content="", finish_reason="stop"))
    assert "(empty reply)" in out.getvalue() and "\x1b[2m" in out.getvalue()


def test_requests_say_they_come_from_otchat(otchat, server):
    from otchat import __version__

    assert otchat("hi").code == 0
    assert server.last_request_header("user-agent") == f"otchat/{__version__}"
    assert otchat("models", "--refresh", expect=(0, 4, 5)).code is not None  # a GET goes the same way
    assert server.requests[-1].method == "GET"
    assert server.last_request_header("user-agent") == f"otchat/{__version__}"


@pytest.mark.process
def test_one_http_stack_is_installed_and_loaded():
    """httpx2 alone: the old httpx is not what otchat (or the MCP SDK beside it) imports."""
    import importlib.metadata
    import sys

    requires = importlib.metadata.requires("otchat") or []
    assert any(r.startswith("httpx2") for r in requires)
    assert not any(r.split(">")[0].split("<")[0].split("=")[0].strip() in ("httpx", "httpx-sse") for r in requires)
    probe = "import otchat.wire.transport, sys; print('httpx' in sys.modules, 'httpx2' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
    assert proc.stdout.split() == ["False", "True"], proc.stderr
