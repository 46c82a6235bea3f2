"""The command in-process: typer's CliRunner with an injected Env (no network, no globals)."""

import json

import httpx2
import pytest
from typer.testing import CliRunner

from otchat.app import app, run
from tests.conftest import KEY, make_env
from tests.fakeserver import text_chunks
from tests.helpers import sse_bytes

runner = CliRunner()


def recording_transport(bodies, text="Hi there"):
    def handler(request):
        bodies.append(json.loads(request.content))
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=sse_bytes(text_chunks(text)))

    return httpx2.MockTransport(handler)


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
        return httpx2.Response(401, json={"error": {"message": f"bad key {KEY}"}})

    env = make_env(transport=httpx2.MockTransport(handler), home=tmp_path)
    assert run(["hi"], env) == 3
    assert KEY not in env.stderr.getvalue() and "401" in env.stderr.getvalue()


def test_unexpected_errors_are_one_line_unless_traceback(tmp_path):
    def handler(request):
        raise RuntimeError("kaboom")

    env = make_env(transport=httpx2.MockTransport(handler), home=tmp_path)
    assert run(["hi"], env) == 1
    assert env.stderr.getvalue() == "otchat: error: unexpected RuntimeError: kaboom (run with --traceback for details)\n"
    env = make_env(transport=httpx2.MockTransport(handler), home=tmp_path)
    result = runner.invoke(app, ["--traceback", "hi"], obj=env)
    assert isinstance(result.exception, RuntimeError)


def test_subcommand_words_need_quoting_or_dashdash(tmp_path):
    env = make_env(home=tmp_path)
    assert run(["--dry-run", "--", "--version"], env) == 0
    assert json.loads(env.stdout.getvalue())["body"]["messages"][0]["content"] == "--version"


# A mistyped command is refused, not sent (and billed) as a prompt.

@pytest.mark.parametrize("args", [["histroy", "list"], ["confg", "set", "model", "x"], ["modles"], ["mcps", "list"]])
def test_a_mistyped_command_is_refused_and_nothing_is_sent(tmp_path, args):
    bodies = []
    env = make_env(transport=recording_transport(bodies), home=tmp_path)
    assert run(args, env) == 2
    assert bodies == []
    assert env.stderr.getvalue().count("\n") == 1 and env.stdout.getvalue() == ""


def test_the_refusal_names_the_command_and_how_to_send_it_anyway(tmp_path):
    env = make_env(home=tmp_path)
    assert run(["histroy", "list"], env) == 2
    assert env.stderr.getvalue() == ("otchat: error: unknown command 'histroy'; did you mean 'history'? "
                                     "(to send it as a prompt: otchat -- histroy list)\n")


@pytest.mark.parametrize("args, sent", [
    (["story", "about", "a", "dragon"], "story about a dragon"),
    (["math", "homework", "help"], "math homework help"),
    (["hello"], "hello"),
    (["histroy list"], "histroy list"),  # one quoted argument with a space
    (["--", "histroy", "list"], "histroy list"),
    (["--", "modles"], "modles"),
    (["histroy", "of", "rome"], "histroy of rome"),  # not followed by a history subcommand
])
def test_prompts_that_only_resemble_a_command_are_sent(tmp_path, args, sent):
    bodies = []
    env = make_env(transport=recording_transport(bodies), home=tmp_path)
    assert run(args, env) == 0, env.stderr.getvalue()
    assert bodies[0]["messages"] == [{"role": "user", "content": sent}]


# Short names are caught by the slips a typist makes that make no word (two neighbouring letters
# swapped, one doubled); any one edit of a name is caught before one of its subcommands. A word
# one edit from a short name alone is often a word (cat, that, map) and stays a prompt.

@pytest.mark.parametrize("args, meant", [
    (["caht"], "chat"), (["hcat"], "chat"), (["chta"], "chat"), (["chatt"], "chat"), (["cchat"], "chat"),
    (["cdm"], "cmd"), (["mcd"], "cmd"), (["cmmd"], "cmd"),
    (["mpc"], "mcp"), (["cmp"], "mcp"), (["mcpp"], "mcp"), (["uath"], "auth"), (["atuh"], "auth"),
    (["mpc", "list"], "mcp"), (["mc", "tools"], "mcp"), (["ath", "status"], "auth"), (["auht", "login"], "auth"),
    (["mcps", "list"], "mcp"), (["modles"], "models"),
])
def test_slips_of_short_command_names_are_refused(tmp_path, args, meant):
    bodies = []
    env = make_env(transport=recording_transport(bodies), home=tmp_path)
    assert run(args, env) == 2, env.stderr.getvalue()
    assert bodies == [] and env.stdout.getvalue() == ""
    assert env.stderr.getvalue().startswith(f"otchat: error: unknown command {args[0]!r}; did you mean {meant!r}? ")


@pytest.mark.parametrize("args", [
    ["hello"], ["cat"], ["hat"], ["that"], ["what"], ["chats"], ["cheat"], ["chart"], ["char"],
    ["map"], ["cod"], ["math"], ["bath"], ["cat", "list"], ["caht", "with", "me"], ["mpc", "of", "rome"],
])
def test_one_word_prompts_near_a_short_command_name_are_sent(tmp_path, args):
    bodies = []
    env = make_env(transport=recording_transport(bodies), home=tmp_path)
    assert run(args, env) == 0, env.stderr.getvalue()
    assert bodies[0]["messages"] == [{"role": "user", "content": " ".join(args)}]


@pytest.mark.parametrize("group", ["history", "config", "auth", "mcp"])
def test_a_group_alone_prints_its_help(tmp_path, group):
    env = make_env(home=tmp_path)
    assert run([group], env) == 0
    assert env.stdout.getvalue().startswith(f"Usage: otchat {group} [OPTIONS] COMMAND [ARGS]...")
    assert "Commands:" in env.stdout.getvalue() and env.stderr.getvalue() == ""


@pytest.mark.parametrize("command", ["completion", "shell-integration"])
def test_a_command_missing_its_shell_names_the_shells_in_one_line(tmp_path, command):
    env = make_env(home=tmp_path)
    assert run([command], env) == 2
    err = env.stderr.getvalue()
    assert err.startswith("otchat: error: ") and err.count("\n") == 1 and "\t" not in err
    assert all(shell in err for shell in ("bash", "zsh", "fish")) and env.stdout.getvalue() == ""


# Usage errors say things once and point at the help of the command that failed.

def test_an_unknown_subcommand_gets_one_suggestion_and_its_groups_help(tmp_path):
    env = make_env(home=tmp_path)
    assert run(["history", "lst"], env) == 2
    assert env.stderr.getvalue() == "otchat: error: unknown command 'lst'; did you mean 'list'? (see otchat history --help)\n"
    env = make_env(home=tmp_path)
    assert run(["config", "lst"], env) == 2
    err = env.stderr.getvalue()
    assert err.lower().count("did you mean") == 1 and "'list'" in err and "(see otchat config --help)" in err
    env = make_env(home=tmp_path)
    assert run(["auth", "frobnicate"], env) == 2
    assert env.stderr.getvalue() == ("otchat: error: unknown command 'frobnicate'; commands: login, status, logout "
                                     "(see otchat auth --help)\n")


@pytest.mark.parametrize("args, help_of", [
    (["history", "show"], "otchat history show"),
    (["config", "set", "model"], "otchat config set"),
    (["chat", "--nope"], "otchat chat"),
    (["--nope", "hi"], "otchat"),
    (["--format", "yaml", "hi"], "otchat"),
])
def test_a_usage_error_points_at_the_failing_commands_help(tmp_path, args, help_of):
    env = make_env(home=tmp_path)
    assert run(args, env) == 2
    err = env.stderr.getvalue()
    assert err.startswith("otchat: error: ") and err.endswith(f" (see {help_of} --help)\n") and err.count("\n") == 1


# Flags are checked before anything is sent, with the bounds of their config keys.

@pytest.mark.parametrize("args, named", [
    (["--base-url", "api.example.com/v1", "hi"], "--base-url"),
    (["--retries", "50", "hi"], "--retries"),
    (["--retries", "-1", "hi"], "--retries"),
    (["--timeout", "0", "hi"], "--timeout"),
    (["--timeout", "-5", "hi"], "--timeout"),
    (["--temperature", "2.5", "hi"], "--temperature"),
    (["--max-tokens", "0", "hi"], "--max-tokens"),
    (["--max-tool-rounds", "0", "hi"], "--max-tool-rounds"),
    (["--json", "--format", "plain", "hi"], "--json and --format plain"),
    (["--raw", "--format", "markdown", "hi"], "--raw and --format markdown"),
    (["chat", "--retries", "50"], "--retries"),
    (["chat", "--base-url", "ftp://x"], "--base-url"),
])
def test_a_bad_flag_is_exit_2_and_nothing_is_sent(tmp_path, args, named):
    bodies = []
    env = make_env(stdin=b"", transport=recording_transport(bodies), home=tmp_path)
    assert run(args, env) == 2
    assert bodies == []
    err = env.stderr.getvalue()
    assert err.startswith(f"otchat: error: {named}") and err.count("\n") == 1, err


@pytest.mark.parametrize("args", [["--retries", "10"], ["--timeout", "0.5"], ["--json", "--format", "json"],
                                  ["--raw", "--format", "plain"], ["--base-url", "http://127.0.0.1:9/v1"]])
def test_flags_within_the_bounds_are_accepted(tmp_path, args):
    env = make_env(home=tmp_path)
    assert run(["--dry-run", *args, "hi"], env) == 0, env.stderr.getvalue()


def test_a_file_above_max_input_bytes_is_refused_by_name(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text("max_input_bytes = 1000\n")
    big = tmp_path / "big.log"
    big.write_bytes(b"x" * 5000)
    bodies = []
    env = make_env(transport=recording_transport(bodies), home=tmp_path)
    assert run(["-f", str(big), "summarise"], env) == 2
    assert bodies == []
    err = env.stderr.getvalue()
    assert err.startswith(f"otchat: error: {big} is larger than max_input_bytes") and err.count("\n") == 1


def test_input_placeholder_with_nothing_piped_is_refused(tmp_path):
    bodies = []
    env = make_env(stdin=b"must not be read", transport=recording_transport(bodies), home=tmp_path)
    env.stdin_isatty = True
    assert run(["translate {input} to French"], env) == 2
    assert bodies == []
    assert "{input}" in env.stderr.getvalue() and env.stderr.getvalue().startswith("otchat: error: ")


@pytest.mark.parametrize("flag", ["-x", "--extract-last", "--schema=name"])
def test_one_shot_only_flags_without_a_prompt_on_a_terminal_are_refused_not_dropped(tmp_path, flag):
    env = make_env(home=tmp_path)
    env.stdin_isatty = True
    assert run([flag], env) == 2
    err = env.stderr.getvalue()
    assert err.startswith("otchat: error: ") and "one-shot prompts" in err and "in the REPL" in err


def test_doubled_braces_send_a_literal_placeholder(tmp_path):
    env = make_env(home=tmp_path)
    env.stdin_isatty = True
    assert run(["--dry-run", "explain {{input}} in templates"], env) == 0
    assert json.loads(env.stdout.getvalue())["body"]["messages"][0]["content"] == "explain {input} in templates"
    env = make_env(stdin=b"DATA", home=tmp_path)
    assert run(["--dry-run", "{{input}} is {input}"], env) == 0
    assert json.loads(env.stdout.getvalue())["body"]["messages"][0]["content"] == "{input} is DATA"


# `otchat chat` takes the request flags of a one-shot prompt, defined once.

# output flags, --regenerate, -x (chat has its own --format), --schema (/schema in the REPL), --models (/compare)
ONESHOT_ONLY = {"format", "json_", "raw", "dry_run", "regenerate", "extract", "extract_last", "version",
                "schema", "schema_multi", "schema_retries", "models"}
CHAT_ONLY = {"multiline", "format"}


def command_options(name):
    import typer.main

    from otchat.app import ONESHOT

    group = typer.main.get_command(app)
    command = group.commands[ONESHOT if name == "oneshot" else name]
    return {p.name: p.to_info_dict() for p in command.params if p.param_type_name == "option" and p.name != "help"}


def test_chat_and_one_shot_take_the_same_request_flags():
    oneshot, chat = command_options("oneshot"), command_options("chat")
    shared = set(oneshot) - ONESHOT_ONLY
    assert shared == set(chat) - CHAT_ONLY, "a request flag was added to one command only"
    for name in shared:
        assert oneshot[name] == chat[name], f"--{name} differs between one-shot and chat"
    assert {"file", "usage"} <= shared


def test_cmd_takes_the_request_flags_but_those_it_leaves_out():
    from otchat.commands.cmd import LEFT_OUT

    oneshot, cmd = command_options("oneshot"), command_options("cmd")
    shared = set(oneshot) - ONESHOT_ONLY
    assert set(cmd) - {"json_", "dry_run"} == shared - set(LEFT_OUT)
    assert {"continue_", "cid", "function"} == set(LEFT_OUT)
    for name in set(cmd) - {"json_", "dry_run"}:
        assert cmd[name] == oneshot[name], f"--{name} differs between one-shot and cmd"


def test_chat_sends_a_file_with_the_first_message(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("buy otter food\n")
    bodies = []
    env = make_env(stdin=b"what is on my list?\nand after that?\n", transport=recording_transport(bodies),
                   home=tmp_path)
    assert run(["chat", "-f", str(notes)], env) == 0, env.stderr.getvalue()
    assert bodies[0]["messages"] == [
        {"role": "user", "content": f"what is on my list?\n\n{notes}\n```\nbuy otter food\n```"}]
    assert bodies[1]["messages"][-1] == {"role": "user", "content": "and after that?"}


def test_chat_with_first_words_and_a_file(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("buy otter food\n")
    bodies = []
    env = make_env(stdin=b"", transport=recording_transport(bodies), home=tmp_path)
    assert run(["chat", "-f", str(notes), "summarise"], env) == 0
    assert bodies[0]["messages"] == [{"role": "user", "content": f"summarise\n\n{notes}\n```\nbuy otter food\n```"}]


def test_chat_usage_after_each_reply(tmp_path):
    env = make_env(stdin=b"one\ntwo\n", transport=recording_transport([]), home=tmp_path)
    assert run(["chat", "-u"], env) == 0
    assert env.stderr.getvalue().count("usage: ") == 2
    env = make_env(stdin=b"one\n", transport=recording_transport([]), home=tmp_path)
    assert run(["chat"], env) == 0
    assert "usage: " not in env.stderr.getvalue()
