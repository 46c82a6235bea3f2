"""Time to first token: the request leaves first; the renderer loads and the question is
logged while the server thinks, and none of that changes what is drawn or kept."""

import io
import json
import signal
import subprocess
import threading

import httpx2
import pytest
from rich.console import Console

from otchat.engine import run_turn
from otchat.errors import TurnCut
from otchat.models import ChatRequest, Finish, TextDelta, TurnResult
from otchat.term.live import MarkdownSink
from otchat.term.output import Deferred, make_sink
from otchat.wire.transport import Transport
from tests.conftest import KEY, OTCHAT, clean_environ, make_env
from tests.fakeserver import Stream, error, text_chunks
from tests.helpers import contents, rows
from tests.test_engine import Recorder, sse_bytes, streamed

REQUEST = ChatRequest("http://test/v1/chat/completions", {}, {"model": "m", "messages": [], "stream": True})
SAFETY = 30  # seconds: only a broken engine (jobs not run beside the request) ever waits this long


class Waiting:
    """An Opener whose request waits until the jobs beside it have run: it deadlocks (up to
    SAFETY) unless they run on another thread while this one waits for the server."""

    def __init__(self, jobs, data):
        self.jobs = jobs
        self.transport = Transport(timeout=5, connect_timeout=5, retries=0,
                                   httpx_transport=httpx2.MockTransport(lambda r: streamed([data])))

    def open(self, request, sent=None):
        sent()
        assert self.jobs.wait(SAFETY), "the jobs did not run while the request waited"
        return self.transport.open(request)


class Preparing(Recorder):
    """A sink with a `prepare`, which must have run before the first event arrives."""

    def __init__(self, ran):
        super().__init__()
        self.ran = ran
        self.prepared_on = None

    def sent(self):
        self.prepared_on = threading.current_thread()
        self.ran.set()

    def handle(self, event):
        assert self.prepared_on is not None
        super().handle(event)


def test_the_sink_prepares_and_the_log_writes_while_the_request_waits():
    prepared, logged = threading.Event(), threading.Event()
    both = threading.Event()
    sink = Preparing(prepared)

    def meanwhile():
        logged.set()

    opener = Waiting(both, sse_bytes(text_chunks("hello there")))
    threading.Thread(target=lambda: (prepared.wait(SAFETY), logged.wait(SAFETY), both.set()), daemon=True).start()
    result = run_turn(REQUEST, opener, sink, meanwhile=meanwhile)
    assert result.content == sink.text() == "hello there"
    assert sink.prepared_on is not threading.main_thread()


def test_a_job_that_fails_beside_the_request_fails_the_turn():
    def broken():
        raise ValueError("a bug in the loader")

    transport = Transport(timeout=5, connect_timeout=5, retries=0,
                          httpx_transport=httpx2.MockTransport(lambda r: streamed([sse_bytes(text_chunks("hi"))])))
    sink = Recorder()
    with pytest.raises(TurnCut) as cut:
        run_turn(REQUEST, transport, sink, meanwhile=broken)
    assert isinstance(cut.value.cause, ValueError) and sink.events == []


def events():
    return [TextDelta("# Title\n\nSome **bold** text and `code`.\n\n"), TextDelta("```python\nx = 1\n```\n"),
            Finish("stop")]


def draw(sink):
    for event in events():
        sink.handle(event)
        sink.flush()
    sink.end(TurnResult(content="", finish_reason="stop"))


def test_the_deferred_markdown_sink_draws_what_the_markdown_sink_draws():
    def console(buf):
        return Console(file=buf, width=60, force_terminal=True, color_system=None)

    direct, deferred, prepared = io.StringIO(), io.StringIO(), io.StringIO()
    draw(MarkdownSink(console(direct), show_usage=False))
    draw(Deferred(lambda: MarkdownSink(console(deferred), show_usage=False)))
    ahead = Deferred(lambda: MarkdownSink(console(prepared), show_usage=False))
    thread = threading.Thread(target=ahead.sent)
    thread.start()
    thread.join()
    draw(ahead)
    assert direct.getvalue() == deferred.getvalue() == prepared.getvalue() and "Title" in direct.getvalue()


def test_a_terminal_gets_its_markdown_sink_only_when_needed():
    env = make_env(stdout_isatty=True, environ={"TERM": "xterm"})
    sink = make_sink(env, "auto")
    assert isinstance(sink, Deferred) and sink.frame > 0
    assert isinstance(sink.sink, MarkdownSink)


def test_a_process_killed_mid_answer_keeps_the_question(server, home, otchat):
    server.enqueue(Stream(text_chunks("Half of an answer and", 5), gap=(3, 30.0)))
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY)
    proc = subprocess.Popen([str(OTCHAT), "a question worth keeping"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert proc.stdout.read(10) == b"Half of an"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert rows(home, "SELECT role, content, hidden FROM messages") == [("user", "a question worth keeping", 0)]
    # Kept in the log, beside the path, never on it: the path only ever ends with an answer, so
    # the next message does not follow a question nobody answered (two user turns in a row).
    assert rows(home, "SELECT current_id FROM conversations") == [(None,)]
    assert otchat("-c", "and again").code == 0
    assert contents(server.last_body) == ["and again"]
    cid = rows(home, "SELECT id FROM conversations")[0][0]
    switch = otchat("history", "switch", cid[:8], "1", expect=2)
    assert "#1 is a question that got no answer" in switch.stderr


def test_a_failed_request_leaves_no_question_on_the_path(server, home, otchat):
    assert otchat("first").code == 0
    server.enqueue(error(500, {"error": {"message": "down"}}))
    assert otchat("-c", "--retries", "0", "lost question", expect=5).code == 5
    r = otchat("-c", "--dry-run", "next")
    assert [m["content"] for m in json.loads(r.stdout)["body"]["messages"]] == ["first", "You said: first", "next"]
    assert ("lost question", 1) in rows(home, "SELECT content, hidden FROM messages")


# What a one-shot prompt has loaded when its request leaves (the audit event of the
# socket's connect, a public hook): nothing that only the answer or another command needs.
AT_CONNECT = """
import sys
seen = []
def hook(event, args):
    if event == "socket.connect" and not seen:
        seen.append([m for m in {later!r} if m in sys.modules])
sys.addaudithook(hook)
sys.argv = ["otchat", *{args!r}]
try:
    from otchat.entry import main
    main()
except SystemExit:
    pass
sys.stderr.write("AT_CONNECT=" + ",".join(seen[0]) + "\\n")
"""
# httpx loaded its optional command-line tool (rich.console, rich.syntax, pygments) on every
# import whenever click, rich and pygments were installed; httpx2 loads it only when asked.
# So nothing of rich or pygments comes before the request: what the answer needs must wait.
LATER = ("rich", "pygments", "rich.markdown", "markdown_it", "pygments.lexers.python", "sqlite3", "prompt_toolkit", "tomllib", "otchat.store.db",
         "otchat.term.live", "otchat.commands.chat", "otchat.commands.config", "otchat.commands.history",
         "otchat.commands.auth", "otchat.commands.mcp", "otchat.commands.models")


@pytest.mark.parametrize("fmt", ["plain", "markdown"])
def test_the_request_leaves_before_what_only_the_answer_needs_is_loaded(server, home, fmt):
    import sys

    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY)
    probe = AT_CONNECT.format(later=LATER, args=["--format", fmt, "hi"])
    proc = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert "You said: hi" in proc.stdout
    assert "AT_CONNECT=\n" in proc.stderr, proc.stderr


def test_a_prompt_is_parsed_by_the_one_shot_tree_alone_and_nothing_else_is():
    from otchat.app import COMMANDS, GROUP_FLAGS, GROUPS, build, oneshot

    whole = build()
    import typer.main

    names = [n for n, c in typer.main.get_command(whole).commands.items() if not c.hidden]
    assert names == [*COMMANDS, *GROUPS]  # the names the routing knows are the tree's own
    assert oneshot([]) and oneshot(["hi", "there"]) and oneshot(["-m", "x", "--", "chat"]) and oneshot(["--", "chat"])
    assert oneshot(["-m", "x", "tell", "me"]) and oneshot(["-s", "terse", "--no-log"])
    assert not oneshot(["-m", "x", "chat"]) and not oneshot(["--no-log", "histroy"])  # a command after options
    assert oneshot(["a story about a dragon"]) and oneshot(["dragon", "tales"])
    for first in [*names, *GROUP_FLAGS, "histroy", "confg"]:
        assert not oneshot([first, "list"]), first


def test_a_deferred_sink_is_made_once_when_two_threads_ask_at_once():
    """The engine prepares the sink on its thread while the reader asks for its frame: made
    twice, the text would go to one sink and `end` to the other (seen: an answer lost)."""
    import threading

    from otchat.term.output import Deferred

    started, release, made = threading.Event(), threading.Event(), []

    def make():
        made.append(Recorder())
        started.set()
        release.wait(5)
        return made[-1]

    deferred = Deferred(make)
    worker = threading.Thread(target=deferred.sent)
    worker.start()
    started.wait(5)
    reader = threading.Thread(target=lambda: deferred.sink)
    reader.start()
    reader.join(0.2)  # the reader waits for the sink being made instead of making another
    release.set()
    worker.join(5)
    reader.join(5)
    assert len(made) == 1 and deferred.sink is made[0]
