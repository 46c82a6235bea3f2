"""`otchat cmd` and `otchat shell-integration` in a pipe: the bare command, never run, and the request it sent."""

import json
import subprocess

import pytest

from otchat.extract import os_name
from otchat.shell.integration import snippet
from tests.fakeserver import Stream, text_chunks

FENCED = "Sure, here you go:\n\n```bash\nfind . -type f -size +100M\n```\n\nThis lists big files.\n"


def reply(text):
    return Stream(text_chunks(text, 5))


def last_logged(otchat):
    """The messages of the latest logged conversation, as (role, content)."""
    cid = json.loads(otchat("history", "list", "--json").stdout)[0]["id"]
    shown = json.loads(otchat("history", "show", "--format", "json", cid).stdout)
    return [(m["role"], m["content"]) for m in shown["messages"]]


def test_a_fenced_reply_is_unwrapped_and_only_printed(otchat, server, home):
    server.enqueue(reply(FENCED))
    r = otchat("cmd", "find files over 100 MB here", env={"SHELL": "/usr/bin/zsh"}, cwd=home)
    assert (r.code, r.stdout, r.stderr) == (0, "find . -type f -size +100M\n", "")
    system, user = server.last_body["messages"]
    assert system["role"] == "system"
    assert "zsh" in system["content"] and os_name() in system["content"]
    assert "no code fences" in system["content"]
    assert user == {"role": "user", "content": "find files over 100 MB here"}


def test_a_pipe_never_runs_the_command(otchat, server, home):
    server.enqueue(reply("touch marker"))
    r = otchat("cmd", "make a marker", cwd=home)
    assert (r.code, r.stdout) == (0, "touch marker\n")
    assert not (home / "marker").exists()


def test_stdin_is_context(otchat, server):
    server.enqueue(reply("rm old.log"))
    r = otchat("cmd", "delete the ones older than a week", input="old.log\nnew.log\n")
    assert r.stdout == "rm old.log\n"
    assert server.last_body["messages"][-1]["content"] == "delete the ones older than a week\n\nold.log\nnew.log\n"


def test_reasoning_is_never_part_of_the_command(otchat, server):
    server.enqueue(Stream(text_chunks("<think>maybe rm -rf /</think>\n`du -sh *`", 4, reasoning="hmm")))
    r = otchat("cmd", "sizes")
    assert (r.code, r.stdout) == (0, "du -sh *\n")


def test_json_names_command_shell_model_and_usage(otchat, server):
    server.enqueue(reply("ls -la"))
    r = otchat("cmd", "--json", "list", env={"SHELL": "/bin/bash"})
    shown = json.loads(r.stdout)
    assert shown["command"] == "ls -la" and shown["shell"] == "bash" and shown["model"] == "fake/model"
    assert shown["usage"]["total_tokens"] > 0


def test_usage_goes_to_stderr_and_the_command_alone_to_stdout(otchat, server):
    server.enqueue(reply("ls -la"))
    r = otchat("cmd", "-u", "list")
    assert (r.code, r.stdout) == (0, "ls -la\n")
    assert "in ·" in r.stderr and "out" in r.stderr and "fake/model" in r.stderr


def test_system_prompt_minus_s_then_role_cmd_then_builtin(otchat, server, home):
    (home / "config" / "config.toml").write_text(
        'system = "You are a pirate."\n[roles.cmd]\nsystem = "Only POSIX sh."\n[roles.other]\nmodel = "x/y"\n')
    otchat("cmd", "list")
    assert server.last_body["messages"][0]["content"] == "Only POSIX sh."
    otchat("cmd", "-s", "Mine.", "list")
    assert server.last_body["messages"][0]["content"] == "Mine."
    otchat("cmd", "--role", "other", "list")  # a role without a system: the built-in prompt, never the top-level one
    body = server.last_body
    assert body["model"] == "x/y" and body["messages"][0]["content"].startswith("You turn requests into shell")


def test_an_empty_command_is_an_error(otchat, server):
    server.enqueue(reply("```\n\n```"))
    r = otchat("cmd", "nothing", expect=1)
    assert r.code == 1 and r.stdout == ""
    assert r.stderr.startswith("otchat: error: the reply holds no command")


def test_no_request_is_a_usage_error(otchat):
    r = otchat("cmd", expect=2)
    assert r.code == 2 and "no request given" in r.stderr


@pytest.mark.parametrize("flag", ["--cid", "--function"])
def test_options_that_make_no_sense_are_left_out(otchat, flag):
    r = otchat("cmd", flag, "x", "list", expect=2)
    assert r.code == 2 and "No such option" in r.stderr


def test_the_exchange_is_logged(otchat, server):
    server.enqueue(reply("ls"))
    otchat("cmd", "list files")
    assert last_logged(otchat)[-2:] == [("user", "list files"), ("assistant", "ls")]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_integration_prints_the_snippet(otchat, shell):
    r = otchat("shell-integration", shell)
    assert (r.code, r.stdout) == (0, snippet(shell))


def test_shell_integration_refuses_another_shell(otchat):
    r = otchat("shell-integration", "tcsh", expect=2)
    assert r.code == 2


def test_shell_integration_bash_parses():
    import shutil

    if shutil.which("bash") is None:
        pytest.skip("no bash")
    subprocess.run(["bash", "-n"], input=snippet("bash").encode(), check=True)
