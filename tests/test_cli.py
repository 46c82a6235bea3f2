"""The command in-process: typer's CliRunner with an injected Env (no network, no globals)."""

import json

import httpx
from typer.testing import CliRunner

from otchat.cli import app, run
from tests.conftest import KEY, make_env
from tests.fakeserver import text_chunks

runner = CliRunner()


def sse(events):
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"


def recording_transport(bodies, text="Hi there"):
    def handler(request):
        bodies.append(json.loads(request.content))
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=sse(text_chunks(text)))

    return httpx.MockTransport(handler)


def test_oneshot_through_an_injected_transport(tmp_path):
    bodies = []
    env = make_env(stdin=b"piped text", transport=recording_transport(bodies), home=tmp_path)
    assert run(["-m", "x/y", "summarise"], env) == 0
    assert env.stdout.getvalue() == "Hi there\n"
    assert bodies[0]["model"] == "x/y"
    assert bodies[0]["messages"][0]["content"] == "summarise\n\npiped text"


def test_runner_invoke_reaches_the_env(tmp_path):
    env = make_env(home=tmp_path)
    result = runner.invoke(app, ["--dry-run", "hello"], obj=env)
    assert result.exit_code == 0
    assert json.loads(env.stdout.getvalue())["body"]["messages"] == [{"role": "user", "content": "hello"}]


def test_terminal_stdin_is_never_read(tmp_path):
    env = make_env(stdin=b"must not be read", home=tmp_path)
    env.stdin_isatty = True
    assert run(["--dry-run", "only prompt"], env) == 0
    assert "must not be read" not in env.stdout.getvalue()


def test_no_prompt_and_empty_stdin_is_a_usage_error(tmp_path):
    env = make_env(stdin=b"", home=tmp_path)
    assert run([], env) == 2
    assert env.stderr.getvalue().startswith("otchat: error: no prompt given")


def test_markdown_format_on_an_injected_terminal(tmp_path):
    env = make_env(transport=recording_transport([], "# Title\n\nbody text"), stdout_isatty=True, home=tmp_path,
                   environ={"TERM": "xterm"})
    assert run(["hi"], env) == 0
    out = env.stdout.getvalue()
    assert "Title" in out and "# Title" not in out and "\x1b[" in out


def test_api_error_line_is_redacted(tmp_path):
    def handler(request):
        return httpx.Response(401, json={"error": {"message": f"bad key {KEY}"}})

    env = make_env(transport=httpx.MockTransport(handler), home=tmp_path)
    assert run(["hi"], env) == 3
    assert KEY not in env.stderr.getvalue() and "401" in env.stderr.getvalue()


def test_unexpected_errors_are_one_line_unless_traceback(tmp_path):
    def handler(request):
        raise RuntimeError("kaboom")

    env = make_env(transport=httpx.MockTransport(handler), home=tmp_path)
    assert run(["hi"], env) == 1
    assert env.stderr.getvalue() == "otchat: error: unexpected RuntimeError: kaboom (run with --traceback for details)\n"
    env = make_env(transport=httpx.MockTransport(handler), home=tmp_path)
    result = runner.invoke(app, ["--traceback", "hi"], obj=env)
    assert isinstance(result.exception, RuntimeError)


def test_subcommand_words_need_quoting_or_dashdash(tmp_path):
    env = make_env(home=tmp_path)
    assert run(["--dry-run", "--", "--version"], env) == 0
    assert json.loads(env.stdout.getvalue())["body"]["messages"][0]["content"] == "--version"
