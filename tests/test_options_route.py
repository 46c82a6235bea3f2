"""Options before a command word: the command runs with them, refuses them, or the words stay a prompt."""

import json

import httpx2
import pytest

from otchat.app import run
from tests.conftest import make_env
from tests.fakeserver import text_chunks

PROFILE = '[profiles.local]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "local-model"\n'


def recorder(seen):
    """Answers /models with one model and a chat request with "Hi"; keeps (path, body) of each."""

    def handler(request):
        body = json.loads(request.content) if request.content else None
        seen.append((str(request.url), body))
        if request.url.path.endswith("/models"):
            return httpx2.Response(200, json={"object": "list", "data": [{"id": "local-model", "object": "model"}]})
        events = "".join(f"data: {json.dumps(e)}\n\n" for e in text_chunks("Hi")) + "data: [DONE]\n\n"
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, text=events)

    return httpx2.MockTransport(handler)


def setup(tmp_path, seen):
    env = make_env(transport=recorder(seen), home=tmp_path)
    env.config_dir.mkdir(parents=True, exist_ok=True)
    (env.config_dir / "config.toml").write_text(PROFILE)
    return env


@pytest.mark.parametrize("args", [["--profile", "local", "models"], ["--profile=local", "models", "--json"],
                                  ["-v", "--profile", "local", "models"]])
def test_a_command_after_options_runs_with_them(tmp_path, args):
    seen = []
    env = setup(tmp_path, seen)
    assert run(args, env) == 0, env.stderr.getvalue()
    assert [url for url, _ in seen] == ["http://127.0.0.1:9/v1/models"]  # the profile's host, no chat
    assert "local-model" in env.stdout.getvalue()


def test_cmd_after_options_takes_its_request_and_the_options(tmp_path):
    seen = []
    env = setup(tmp_path, seen)
    assert run(["--dry-run", "-m", "picked", "cmd", "list", "files"], env) == 0, env.stderr.getvalue()
    shown = json.loads(env.stdout.getvalue())
    assert shown["body"]["model"] == "picked"
    assert shown["body"]["messages"][0]["role"] == "system"  # cmd's own instructions: cmd ran
    assert shown["body"]["messages"][-1]["content"] == "list files"
    assert seen == []


@pytest.mark.parametrize("args, option, command", [
    (["-m", "x", "history", "list"], "-m", "otchat history list"),
    (["--dry-run", "models"], "--dry-run", "otchat models"),
    (["-vm", "x", "models"], "-m", "otchat models"),  # -v it takes, -m it does not
])
def test_an_option_the_command_does_not_take_is_a_usage_error_naming_both(tmp_path, args, option, command):
    seen = []
    env = setup(tmp_path, seen)
    assert run(args, env) == 2
    assert env.stderr.getvalue() == f"otchat: error: {option} does not apply to {command!r} (see {command} --help)\n"
    assert seen == [] and env.stdout.getvalue() == ""


def test_the_typo_guard_holds_after_options(tmp_path):
    seen = []
    env = setup(tmp_path, seen)
    assert run(["--no-log", "histroy", "list"], env) == 2
    assert env.stderr.getvalue() == ("otchat: error: unknown command 'histroy'; did you mean 'history'? "
                                     "(to send it as a prompt: otchat --no-log -- histroy list)\n")
    assert seen == []


@pytest.mark.parametrize("args, sent", [
    (["-s", "terse", "models", "of", "the", "mind"], "models of the mind"),
    (["-m", "x", "history", "of", "rome"], "history of rome"),
    (["-m", "x", "help"], "help"),
    (["-m", "x", "version"], "version"),
    (["-m", "x", "--", "models"], "models"),
    (["--model", "x", "config"], None),  # alone: the command (its help), nothing sent
])
def test_words_that_do_not_name_a_command_the_rule_s_way_stay_a_prompt(tmp_path, args, sent):
    seen = []
    env = setup(tmp_path, seen)
    code = run(args, env)
    if sent is None:
        assert code == 2 and seen == [] and "--model does not apply to 'otchat config'" in env.stderr.getvalue()
        return
    assert code == 0, env.stderr.getvalue()
    assert seen[0][1]["messages"][-1] == {"role": "user", "content": sent}


def test_help_and_version_alone_answer_for_otchat(otchat):
    from otchat import __version__

    done = otchat("version")
    assert done.code == 0 and done.stdout == f"otchat {__version__}\n"
    done = otchat("help")
    assert done.code == 0 and done.stdout.startswith("Usage: otchat [OPTIONS] [PROMPT]...")
    assert "Commands" in done.stdout and done.stderr == ""


def test_auth_status_after_a_profile_speaks_of_that_profile(tmp_path):
    seen = []
    env = setup(tmp_path, seen)
    assert run(["--profile", "local", "auth", "status"], env) == 0, env.stderr.getvalue()
    out = env.stdout.getvalue()
    assert "http://127.0.0.1:9/v1 (profile local)" in out and seen == []
