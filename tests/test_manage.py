"""config, auth and models through the `otchat` executable, as a user runs them."""

import json
import os
import stat

import pexpect
import pytest

from otchat.app import run
from otchat.config import schema
from otchat.errors import ExitCode
from tests.conftest import KEY, OTCHAT, clean_environ, make_env

COMMENTED = """# my otchat settings
model = "openai/gpt-4o"   # the usual

# profiles below
[profiles.local]
base_url = "http://127.0.0.1:1/v1"  # llama.cpp
"""


@pytest.fixture
def config_file(home):
    return home / "config" / "config.toml"


def test_set_keeps_comments_and_layout(otchat, config_file):
    config_file.write_text(COMMENTED)
    assert otchat("config", "set", "model", "anthropic/claude-3.7-sonnet").code == 0
    assert otchat("config", "set", "profiles.local.model", "llama3").code == 0
    text = config_file.read_text()
    assert text.startswith('# my otchat settings\nmodel = "anthropic/claude-3.7-sonnet"   # the usual\n\n# profiles below\n')
    assert 'base_url = "http://127.0.0.1:1/v1"  # llama.cpp\nmodel = "llama3"\n' in text


def test_set_writes_no_empty_tables(otchat, config_file):
    assert otchat("config", "set", "mcp.servers.t.command", "mcp-server-time").code == 0
    assert otchat("config", "set", "profiles.p.model", "m").code == 0
    text = config_file.read_text()
    assert "[mcp]" not in text and "[mcp.servers]\n" not in text and "[profiles]" not in text
    assert '[mcp.servers.t]\ncommand = "mcp-server-time"\n' in text and '[profiles.p]\nmodel = "m"\n' in text
    assert otchat("config", "get", "mcp.servers.t.command").stdout == "mcp-server-time\n"


def test_writes_replace_the_file_atomically(otchat, config_file):
    config_file.write_text(COMMENTED)
    before = os.stat(config_file).st_ino
    assert otchat("config", "set", "retries", "4").code == 0
    assert os.stat(config_file).st_ino != before  # a new file renamed over the old one
    assert sorted(p.name for p in config_file.parent.iterdir()) == ["config.toml"]  # no temp left behind


@pytest.mark.parametrize("args, words", [
    (["config", "set", "modle", "x"], "unknown config key: modle"),
    (["config", "set", "temperature", "hot"], "temperature must be a number"),
    (["config", "set", "retries", "-2"], "retries must be at least 0"),
    (["config", "set", "api_key", "sk-x"], "otchat auth login"),
    (["config", "set", "profiles.local", "x"], "is a table"),
])
def test_bad_set_is_exit_2_and_leaves_the_file_alone(otchat, config_file, args, words):
    config_file.write_text(COMMENTED)
    before = (config_file.read_bytes(), os.stat(config_file).st_mtime_ns)
    r = otchat(*args, expect=2)
    assert r.code == 2 and words in r.stderr and len(r.stderr.splitlines()) == 1
    assert (config_file.read_bytes(), os.stat(config_file).st_mtime_ns) == before


@pytest.mark.parametrize("args", [["config", "set", "model", "x"], ["config", "unset", "model"], ["config", "list"],
                                  ["config", "get", "model"], ["hi"], ["auth", "status"], ["models"]])
def test_broken_config_is_exit_3_and_never_overwritten(otchat, config_file, args):
    broken = 'model = "x"\n[profiles.local\nbase_url = 1\n'
    config_file.write_text(broken)
    r = otchat(*args, expect=3)
    assert r.code == 3 and str(config_file) in r.stderr and "line 2" in r.stderr
    assert config_file.read_text() == broken


def test_get_unset_list_path(otchat, config_file):
    otchat("config", "set", "tools", "exa,firecrawl")
    otchat("config", "set", "profiles.local.headers.Authorization", "Bearer local-secret-token")
    assert otchat("config", "get", "tools").stdout == '["exa", "firecrawl"]\n'
    assert otchat("config", "get", "timeout").stdout == "300\n"  # the default when unset, as the README writes it
    r = otchat("config", "get", "system", expect=1)
    # grep's "no match": exit 1 with a note, not an error line (the exit-code tables say so).
    assert r.code == ExitCode.NO_MATCH == 1 and r.stderr == "system is not set\n" and r.stdout == ""
    listed = otchat("config", "list").stdout
    assert 'tools = ["exa", "firecrawl"]' in listed
    assert 'profiles.local.headers.Authorization = "***"' in listed and "local-secret-token" not in listed
    assert otchat("config", "unset", "tools").code == 0
    assert [line.split() for line in otchat("config", "list").stdout.splitlines() if line.startswith("tools ")] == [
        ["tools", "=", "[]", "#", "default"]]
    assert otchat("config", "path").stdout == f"{config_file}\n"


def editor_script(home, body):
    script = home / "editor.sh"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return str(script)


def test_edit_saves_a_valid_result(otchat, config_file, home):
    config_file.write_text(COMMENTED)
    editor = editor_script(home, 'sed -i "s/openai\\/gpt-4o/edited\\/model/" "$1"\n')
    r = otchat("config", "edit", env={"EDITOR": editor})
    assert r.code == 0 and 'model = "edited/model"   # the usual' in config_file.read_text()


def test_edit_that_breaks_the_file_is_discarded(otchat, config_file, home):
    config_file.write_text(COMMENTED)
    editor = editor_script(home, 'echo "[broken" >> "$1"\n')
    r = otchat("config", "edit", env={"EDITOR": editor}, expect=3)
    assert r.code == 3 and "discarded" in r.stderr and config_file.read_text() == COMMENTED


def test_edit_offers_to_edit_again_on_a_terminal(home):
    """In-process, with a scripted answer: the first edit breaks the file, the second fixes it."""
    from otchat.commands.config import config_edit

    config_file = home / "config" / "config.toml"
    config_file.write_text(COMMENTED)
    editor = editor_script(home, 'if grep -q broken "$1"; then sed -i "/broken/d" "$1"; echo "retries = 5" >> "$1";'
                                 ' else echo "[broken" >> "$1"; fi\n')
    env = make_env(home=home, environ={"EDITOR": editor})
    env.stdin_isatty = True
    questions = []
    assert config_edit(env, ask=lambda q: questions.append(q) or "e") == 0
    assert "(E)dit again" in questions[0] and "line 7" in questions[0] and len(questions) == 1
    assert config_file.read_text().endswith("retries = 5\n")


def test_edit_again_is_what_enter_does_and_a_wrong_value_names_its_line(home):
    """A wrong-typed value is caught like a syntax error, with its line; Enter keeps the work."""
    from otchat.commands.config import config_edit

    config_file = home / "config" / "config.toml"
    config_file.write_text(COMMENTED)
    editor = editor_script(home, 'if grep -q slow "$1"; then sed -i "s/\\"slow\\"/60/" "$1";'
                                 ' else echo \'timeout = "slow"\' >> "$1"; fi\n')
    env = make_env(home=home, environ={"EDITOR": editor})
    env.stdin_isatty = True
    questions = []
    assert config_edit(env, ask=lambda q: questions.append(q) or "\n") == 0
    assert questions[0].startswith(f"{config_file}: profiles.local.timeout must be a number, not str 'slow' (at line 7)\n")
    assert config_file.read_text() == COMMENTED + "timeout = 60\n" and len(questions) == 1
    # Only a deliberate "d" (or the end of input) throws the edit away.
    for answer in ("d\n", ""):
        env = make_env(home=home, environ={"EDITOR": editor_script(home, 'echo \'retries = "x"\' >> "$1"\n')})
        env.stdin_isatty = True
        assert config_edit(env, ask=lambda q, a=answer: a) == ExitCode.CONFIG
        assert config_file.read_text() == COMMENTED + "timeout = 60\n"
        assert "edit discarded" in env.stderr.getvalue()


def test_list_shows_every_key_its_value_and_where_it_comes_from(home):
    """In-process: an empty config lists every key; then each layer names itself."""
    env = make_env(home=home, environ={"OPENTOOLS_API_KEY": ""})
    assert run(["config", "list"], env) == 0
    listed = {line.split()[0]: line for line in env.stdout.getvalue().splitlines()}
    assert list(listed) == list(schema.TOP)
    assert listed["model"].split() == ["model", "=", '"anthropic/claude-3.7-sonnet"', "#", "default"]
    assert listed["timeout"].split() == ["timeout", "=", "300", "#", "default"]
    assert listed["system"].split() == ["system", "#", "not", "set"]
    (home / "config" / "config.toml").write_text(
        'model = "sonnet"\ntools = ["exa"]\ntimeout = 60\ndefault_profile = "local"\n'
        '[aliases]\nsonnet = "anthropic/claude-3.7-sonnet"\n[headers]\nX-Org = "acme"\n'
        '[profiles.local]\nbase_url = "http://127.0.0.1:8080/v1"\ntools = ["firecrawl"]\n'
        '[profiles.local.headers]\nAuthorization = "Bearer local-secret-token"\n'
        '[profiles.work]\nretries = 5\n')
    env = make_env(home=home, environ={"OPENTOOLS_API_KEY": "", "OTCHAT_BASE_URL": "http://env:1/v1"})
    assert run(["config", "list"], env) == 0
    out = env.stdout.getvalue()
    rows = {line.split(" = ")[0]: line.split("  # ")[-1] for line in out.splitlines() if " = " in line}
    assert rows["model"] == "config.toml; alias of anthropic/claude-3.7-sonnet"
    assert rows["base_url"] == "$OTCHAT_BASE_URL"
    assert rows["tools"] == "config.toml + profile local (default_profile)"
    assert 'tools = ["exa", "firecrawl"]' in out and "timeout = 60 " in out
    assert rows["headers.X-Org"] == "config.toml" and rows["headers.Authorization"] == "profile local (default_profile)"
    assert "local-secret-token" not in out and 'headers.Authorization = "***"' in out
    assert rows["retries"] == "default" and rows["profiles.work.retries"] == "config.toml"
    env = make_env(home=home, environ={"OPENTOOLS_API_KEY": "", "OTCHAT_BASE_URL": "http://env:1/v1"})
    assert run(["config", "list", "--profile", "work"], env) == 0
    rows = {line.split(" = ")[0]: line.split("  # ")[-1] for line in env.stdout.getvalue().splitlines() if " = " in line}
    assert rows["retries"] == "profile work (--profile)" and rows["tools"] == "config.toml"


def test_whole_numbers_stay_whole(home):
    config_file = home / "config" / "config.toml"
    for key, text, stored in [("timeout", "60", "60"), ("temperature", "1", "1"), ("timeout", "2.5", "2.5"),
                              ("profiles.p.timeout", "90", "90"), ("mcp.servers.s.timeout", "30", "30")]:
        env = make_env(home=home)
        assert run(["config", "set", key, text], env) == 0, env.stderr.getvalue()
        env = make_env(home=home)
        assert run(["config", "get", key], env) == 0 and env.stdout.getvalue() == stored + "\n"
    assert "timeout = 60\n" not in config_file.read_text() and "timeout = 2.5\n" in config_file.read_text()
    assert "temperature = 1\n" in config_file.read_text() and "timeout = 90\n" in config_file.read_text()


def test_a_wrong_typed_value_is_reported_with_its_line(home):
    config_file = home / "config" / "config.toml"
    text = COMMENTED + 'timeout = "slow"\n'
    config_file.write_text(text)
    for args in (["config", "set", "model", "x"], ["config", "list"], ["--dry-run", "hi"]):
        env = make_env(home=home)
        assert run(args, env) == ExitCode.CONFIG
        assert env.stderr.getvalue() == (f"otchat: error: {config_file}: profiles.local.timeout must be a number,"
                                         " not str 'slow' (at line 7)\n")
        assert config_file.read_text() == text


def test_auth_login_status_logout(otchat, home, server):
    r = otchat("auth", "login", input=KEY + "\n", key=None)
    assert r.code == 0 and "Stored" in r.stderr
    cred = home / "config" / "credentials"
    assert stat.S_IMODE(os.stat(cred).st_mode) == 0o600 and KEY not in (home / "config").joinpath("x").name
    r = otchat("auth", "status", key=None)
    assert r.code == 0 and f"…{KEY[-4:]}" in r.stdout and "credentials file" in r.stdout
    assert otchat("hi", key=None).code == 0
    assert server.last_request_header("authorization") == f"Bearer {KEY}"
    os.chmod(cred, 0o644)
    assert "readable by others" in otchat("auth", "status", key=None).stderr
    assert otchat("auth", "logout", key=None).code == 0 and not cred.exists()
    r = otchat("auth", "status", key=None, expect=3)
    assert r.code == 3 and "key: none" in r.stdout


def test_auth_login_rejects_empty_input(otchat, home):
    r = otchat("auth", "login", input="\n", key=None, expect=2)
    assert r.code == 2 and not (home / "config" / "credentials").exists()


def test_auth_login_on_a_terminal_hides_the_key(home):
    child = pexpect.spawn(str(OTCHAT), ["auth", "login"], env=clean_environ(home), timeout=20)
    child.expect("API key")
    child.sendline(KEY)
    rest = child.read()
    child.close()
    assert child.exitstatus == 0 and KEY.encode() not in child.before + rest
    assert (home / "config" / "credentials").read_text().count(KEY) == 1


def test_api_key_cmd(otchat, server, config_file):
    config_file.write_text(f"api_key_cmd = \"printf '{KEY}\\\\nignored'\"\n")
    assert otchat("hi", key=None).code == 0
    assert server.last_request_header("authorization") == f"Bearer {KEY}"
    config_file.write_text("api_key_cmd = \"echo 'no vault' >&2; exit 4\"\n")
    r = otchat("hi", key=None, expect=3)
    assert r.code == 3 and "api_key_cmd failed with exit status 4: no vault" in r.stderr


def test_local_profile_never_gets_the_opentools_key(otchat, server, config_file):
    config_file.write_text(f'[profiles.local]\nbase_url = "{server.url}"\napi_key_env = ""\n'
                           '[profiles.local.headers]\nX-Org = "acme"\n')
    assert otchat("--profile", "local", "hi").code == 0
    assert server.last_request_header("authorization") is None
    assert server.last_request_header("x-org") == "acme"


def test_every_command_keeps_the_key_out_of_its_output(otchat, home, config_file, server):
    """The runner asserts the sentinel key is absent from stdout and stderr of each run."""
    config_file.write_text('[profiles.p]\napi_key_env = "OTHER_KEY"\n')
    runs = [["auth", "login"], ["auth", "status"], ["auth", "status", "--profile", "p"], ["config", "list"],
            ["config", "get", "profiles"], ["config", "path"], ["models"], ["models", "--json", "--refresh", "-v"],
            ["hi", "-v"], ["hi", "--dry-run"], ["hi", "--json"], ["hi", "--format", "jsonl"], ["--profile", "p", "-v", "x"],
            ["auth", "logout"]]
    for args in runs:
        otchat(*args, input=KEY + "\n" if args == ["auth", "login"] else b"", env={"OTHER_KEY": KEY})


def test_models_piped_json_and_cache(otchat, server):
    r = otchat("models")
    assert (r.code, r.stdout) == (0, "fake/echo\n")
    data = json.loads(otchat("models", "--json").stdout)
    assert data == [{"id": "fake/echo", "owned_by": "otchat-tests", "context_length": 8192}]
    gets = [q for q in server.requests if q.method == "GET"]
    assert len(gets) == 1  # the second call used the day-old cache
    otchat("models", "--refresh")
    assert len([q for q in server.requests if q.method == "GET"]) == 2


def test_models_404_is_one_line_exit_4(otchat, server):
    server.models = None
    try:
        r = otchat("models", "--refresh", expect=4)
    finally:
        server.models = {"object": "list", "data": [{"id": "fake/echo", "owned_by": "otchat-tests",
                                                      "context_length": 8192}]}
    assert r.code == 4 and "does not list models (404)" in r.stderr and len(r.stderr.splitlines()) == 1


def test_models_table_on_a_terminal(server, home):
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY, TERM="xterm")
    child = pexpect.spawn(str(OTCHAT), ["models"], env=env, timeout=20, dimensions=(20, 100))
    out = child.read().decode()
    child.close()
    assert child.exitstatus == 0
    assert "id" in out and "owner" in out and "context" in out and "8,192" in out and "otchat-tests" in out


def test_done_when_scenario(otchat, server, home):
    """auth login, config set model sonnet + alias, a local profile; each request is right."""
    assert otchat("auth", "login", input=KEY, key=None).code == 0
    assert otchat("config", "set", "model", "sonnet", key=None).code == 0
    assert otchat("config", "set", "aliases.sonnet", "anthropic/claude-3.7-sonnet", key=None).code == 0
    assert otchat("config", "set", "profiles.local.base_url", server.url + "/", key=None).code == 0
    assert otchat("config", "set", "profiles.local.model", "llama3", key=None).code == 0
    assert otchat("config", "set", "profiles.local.api_key_env", "LOCAL_KEY", key=None).code == 0
    env = {"OTCHAT_BASE_URL": ""}  # the default endpoint would be the internet: point it here via config instead
    assert otchat("config", "set", "base_url", server.url, key=None).code == 0
    assert otchat("hi", key=None, env=env).code == 0
    assert server.last_body["model"] == "anthropic/claude-3.7-sonnet"
    assert server.last_request_header("authorization") == f"Bearer {KEY}"
    assert otchat("--profile", "local", "hi", key=None, env={**env, "LOCAL_KEY": "local-key-123"}).code == 0
    assert server.last_body["model"] == "llama3"
    assert server.last_request_header("authorization") == "Bearer local-key-123"
    assert otchat("models", key=None, env=env).stdout == "fake/echo\n"
