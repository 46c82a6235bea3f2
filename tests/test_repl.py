"""The REPL in-process: prompt-toolkit pipe input and dummy output, an httpx MockTransport."""

import json

import httpx2
import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from otchat.config.resolve import Flags
from otchat.errors import UsageError
from otchat.plan import Format, Output, Plan
from otchat.prepare import Setup, settings_for
from otchat.runner import Run
from otchat.session import Session
from otchat.term import repl, slash
from otchat.term.front import TermFront
from tests.conftest import make_env
from tests.fakeserver import text_chunks


def sse(text):
    return "".join(f"data: {json.dumps(e)}\n\n" for e in text_chunks(text)) + "data: [DONE]\n\n"


class Server:
    """A MockTransport handler that records bodies and answers from a script (or echoes)."""

    def __init__(self, *replies):
        self.bodies = []
        self.replies = list(replies)

    def __call__(self, request):
        body = json.loads(request.content)
        self.bodies.append(body)
        if self.replies:
            reply = self.replies.pop(0)
            if isinstance(reply, httpx2.Response):
                return reply
            text = reply
        else:
            text = f"echo: {body['messages'][-1]['content']}"
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, text=sse(text))


CONFIG = """
[aliases]
fast = "openai/gpt-4o-mini"
[roles.poet]
system = "rhyme"
temperature = 1.1
"""


def run_repl(tmp_path, keys, server, *, flags=None, multiline=False, first=None):
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "config.toml").write_text(CONFIG)
    env = make_env(home=tmp_path, transport=httpx2.MockTransport(server))
    env.stdin_isatty = env.stdout_isatty = True  # a REPL on a terminal (prompt-toolkit draws on DummyOutput)
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        pipe.send_text(keys)
        pipe.close()  # end of input: Ctrl-D at the last prompt
        plan = Plan(flags or Flags(), Output(format=Format.plain))
        with Run(env, plan, TermFront(env, plan.output)) as run:
            code = repl.serve(env, run, first, multiline=multiline)
    return code, env


def test_each_turn_sends_the_whole_conversation(tmp_path):
    server = Server()
    code, env = run_repl(tmp_path, "first question\rsecond question\r", server)
    assert code == 0
    assert server.bodies[1]["messages"] == [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "echo: first question"},
        {"role": "user", "content": "second question"},
    ]
    assert "echo: second question" in env.stdout.getvalue()


def test_slash_commands_change_the_next_request(tmp_path):
    server = Server()
    keys = ("/model fast\r/system be brief\r/temperature 0.3\r/tool add exa\rone\r"
            "/role poet\r/tool rm exa\rtwo\r")
    run_repl(tmp_path, keys, server)
    first, second = server.bodies
    assert first["model"] == "openai/gpt-4o-mini" and first["temperature"] == 0.3
    assert first["messages"][0] == {"role": "system", "content": "be brief"}
    assert first["tools"] == [{"type": "mcp", "ref": "exa"}]
    # /role sets what flags did not: the explicit /system and /temperature still win.
    assert second["messages"][0] == {"role": "system", "content": "be brief"} and second["temperature"] == 0.3
    assert "tools" not in second


def test_undo_clear_retry(tmp_path):
    server = Server()
    run_repl(tmp_path, "a\rb\r/undo\rc\r/retry\r/clear\rd\r", server)
    assert [m["content"] for m in server.bodies[2]["messages"]] == ["a", "echo: a", "c"]
    assert [m["content"] for m in server.bodies[3]["messages"]] == ["a", "echo: a", "c"]  # /retry resent c
    assert [m["content"] for m in server.bodies[4]["messages"]] == ["d"]


def test_an_api_error_leaves_the_session_usable(tmp_path):
    server = Server(httpx2.Response(400, json={"error": {"message": "bad model"}}))
    code, env = run_repl(tmp_path, "fails\rworks\r", server)
    assert code == 0 and "400" in env.stderr.getvalue() and "bad model" in env.stderr.getvalue()
    # The failed message got no reply, so it is not in the conversation twice.
    assert server.bodies[1]["messages"] == [{"role": "user", "content": "works"}]


def test_unknown_command_is_a_hint_not_an_exit(tmp_path):
    server = Server()
    code, env = run_repl(tmp_path, "/modle x\r/tempreature\rhello\r", server)
    out = env.stdout.getvalue()
    assert code == 0 and "unknown command /modle" in out and "/help" in out
    assert len(server.bodies) == 1


def test_alt_enter_and_ctrl_j_insert_newlines(tmp_path):
    server = Server()
    run_repl(tmp_path, "line one\x1b\rline two\nline three\r", server)
    assert server.bodies[0]["messages"][-1]["content"] == "line one\nline two\nline three"


def test_multiline_mode_enter_inserts_and_alt_enter_sends(tmp_path):
    server = Server()
    run_repl(tmp_path, "one\rtwo\x1b\r", server, multiline=True)
    assert server.bodies[0]["messages"][-1]["content"] == "one\ntwo"


def test_bracketed_paste_arrives_as_one_message(tmp_path):
    server = Server()
    run_repl(tmp_path, "\x1b[200~pasted one\rpasted two\x1b[201~\r", server)
    assert len(server.bodies) == 1
    assert server.bodies[0]["messages"][-1]["content"] == "pasted one\npasted two"


def test_first_message_and_save(tmp_path):
    server = Server()
    target = tmp_path / "chat.md"
    run_repl(tmp_path, f"/save {target}\r", server, first="opening line")
    saved = target.read_text()
    assert "## user\n\nopening line" in saved and "## assistant" in saved and "echo: opening line" in saved


def test_double_slash_sends_a_literal_slash(tmp_path):
    server = Server()
    run_repl(tmp_path, "//etc/hosts is a file\r", server)
    assert server.bodies[0]["messages"][-1]["content"] == "/etc/hosts is a file"


def test_usage_totals(tmp_path):
    server = Server()
    _, env = run_repl(tmp_path, "a\rb\r/usage\r", server)
    assert "2 turns, 22 in · 44 out" in env.stdout.getvalue()


def session_for(tmp_path):
    env = make_env(home=tmp_path)
    file = {"roles": {"poet": {"system": "rhyme"}}}
    return Session(env, Setup(Flags(), file, settings_for(env, Flags(), file, "k")))


def test_failed_changes_keep_the_old_settings(tmp_path):
    session = session_for(tmp_path)
    with pytest.raises(UsageError, match="known roles: poet"):
        slash.dispatch(session, "/role critic")
    assert session.settings.role is None
    with pytest.raises(UsageError):
        slash.dispatch(session, "/temperature warm")
    with pytest.raises(UsageError, match="not in use"):
        slash.dispatch(session, "/tool rm nothing")


def test_help_lists_every_command(tmp_path):
    [said] = slash.dispatch(session_for(tmp_path), "/help")
    assert isinstance(said, slash.Say)
    text = said.text
    for command in slash.COMMANDS:
        assert command.usage in text


def test_a_failed_repeat_leaves_the_earlier_equal_question(tmp_path):
    server = Server("first answer", httpx2.Response(400, json={"error": {"message": "busy"}}))
    run_repl(tmp_path, "hi\rhi\rnext\r", server, flags=Flags(no_log=True))
    assert [m["content"] for m in server.bodies[2]["messages"]] == ["hi", "first answer", "next"]


def test_schema_asks_validates_and_clears(tmp_path):
    good = '{"name": "Otto", "age": 3}'
    server = Server('{"name": "Otto"}', good)
    code, env = run_repl(tmp_path, "/schema name, age int\rwho?\r/schema -\rand now?\r", server)
    assert code == 0
    first, reask, plain = server.bodies
    assert first["response_format"]["json_schema"]["schema"]["required"] == ["name", "age"]
    assert "JSON Schema" in first["messages"][0]["content"]
    assert "$: 'age' is a required property" in reask["messages"][-1]["content"]
    assert json.dumps(json.loads(good), indent=2) + "\n" in env.stdout.getvalue()  # on a terminal: indented
    assert '{"name": "Otto"}\n' not in env.stdout.getvalue()  # an invalid reply is never shown
    # Cleared: no schema, and the failed attempt is not on the conversation's path.
    assert "response_format" not in plain
    assert [m["content"] for m in plain["messages"]] == ["who?", good, "and now?"]


def test_a_conversation_after_clear_keeps_the_schema_in_the_log(tmp_path):
    from otchat.store.db import Store
    from otchat.store.schemas import schema_of

    good = '{"name": "Otto"}'
    run_repl(tmp_path, "/schema name\rone\r/clear\rtwo\r", Server(good, good))
    with Store.open(tmp_path / "data") as store:
        schemas = [schema_of(store, c.id) for c in store.conversations(10)]
    assert len(schemas) == 2 and all(s is not None and s["required"] == ["name"] for s in schemas)


# Fed from a pipe, the REPL is a script: a message that fails sets the exit status.

def test_chat_from_a_pipe_with_the_server_down_exits_with_the_network_failure(otchat):
    r = otchat("chat", "--retries", "0", input="hi\nthere\n", env={"OTCHAT_BASE_URL": "http://127.0.0.1:9/v1"},
               expect=6)
    assert r.stderr.count("otchat: error: ") == 2


def test_chat_from_a_pipe_exits_with_the_last_failed_messages_code(otchat, server):
    from tests.fakeserver import error

    server.enqueue(error(400, {"error": {"message": "bad one"}}))
    server.answer("fine")
    server.enqueue(error(401, {"error": {"message": "who are you"}}))
    server.answer("fine again")
    r = otchat("chat", input="one\ntwo\nthree\nfour\n", expect=3)
    assert r.stdout == "fine\nfine again\n" and len(server.requests) == 4


def test_chat_from_a_pipe_exits_0_when_only_a_slash_command_fails(otchat, server):
    r = otchat("chat", input="hi\n/rewind x\n")
    assert "otchat: " in r.stderr
