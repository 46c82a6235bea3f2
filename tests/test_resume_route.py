"""A continued conversation goes where it was held: -c, --cid, /resume and history switch take the
stored profile and base URL and the model of the current leaf; flags on the call still win."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from otchat.config.resolve import Flags, Held, resolve
from otchat.errors import ConfigError
from otchat.store.db import Store
from tests.conftest import KEY

LLAMA_KEY = "sk-llama-route-0123456789"
FILE = {"model": "top/model", "profiles": {
    "llama": {"base_url": "http://llama:1/v1", "model": "llama3"},
    "work": {"base_url": "http://work:2/v1", "model": "work/model"},
}}
HELD = Held("llama", "http://llama:1/v1", "llama3:70b", "abcdef0123456789")


# Resolution -------------------------------------------------------------------------------

ROWS = [
    ("the stored values", Flags(), {}, {}, ("llama", "http://llama:1/v1", "llama3:70b")),
    ("stored over the environment", Flags(), {"OTCHAT_MODEL": "env/m", "OTCHAT_BASE_URL": "http://env:3/v1",
                                              "OTCHAT_PROFILE": "work"}, {}, ("llama", "http://llama:1/v1",
                                                                              "llama3:70b")),
    ("stored over default_profile", Flags(), {}, {"default_profile": "work"}, ("llama", "http://llama:1/v1",
                                                                               "llama3:70b")),
    ("-m on the call", Flags(model="other/m"), {}, {}, ("llama", "http://llama:1/v1", "other/m")),
    ("--base-url on the call", Flags(base_url="http://flag:4/v1"), {}, {}, ("llama", "http://flag:4/v1",
                                                                            "llama3:70b")),
    ("--profile replaces profile, URL and model", Flags(profile="work"), {"OTCHAT_MODEL": "env/m"}, {},
     ("work", "http://work:2/v1", "work/model")),
    ("--profile and -m", Flags(profile="work", model="mine"), {}, {}, ("work", "http://work:2/v1", "mine")),
]


@pytest.mark.parametrize("why, flags, environ, extra, expected", ROWS, ids=[r[0] for r in ROWS])
def test_the_stored_route_sits_between_the_flags_and_the_environment(why, flags, environ, extra, expected):
    s = resolve(flags, environ, {**FILE, **extra}, HELD)
    assert (s.profile, s.base_url, s.model) == expected


def test_a_conversation_held_without_a_profile_goes_on_without_one():
    s = resolve(Flags(), {"OTCHAT_PROFILE": "work"}, FILE, Held(None, "http://plain:5/v1", "m/one", "ab"))
    assert (s.profile, s.base_url, s.model) == (None, "http://plain:5/v1", "m/one")


def test_a_stored_profile_that_is_gone_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match="conversation abcdef01 was held with profile 'gone'") as info:
        resolve(Flags(), {}, FILE, Held("gone", "http://x:1/v1", None, "abcdef0123456789"))
    assert info.value.exit_code == 3
    # --profile on the call chooses another: no error.
    assert resolve(Flags(profile="work"), {}, FILE, Held("gone", "http://x:1/v1", None, "ab")).profile == "work"


def test_the_key_follows_the_resolved_host():
    """A conversation held at a host that is no longer the default one gets no default key there."""
    s = resolve(Flags(), {"OTCHAT_BASE_URL": "http://now:1/v1"}, {}, Held(None, "http://then:1/v1", "m", "ab"))
    assert s.base_url == "http://then:1/v1" and s.default_base_url == "http://now:1/v1"


# End to end: two recording servers --------------------------------------------------------


@pytest.fixture
def config(home, llama):
    path = home / "config" / "config.toml"
    path.write_text(f'[profiles.llama]\nbase_url = "{llama.url}"\nmodel = "llama3"\napi_key_cmd = "echo {LLAMA_KEY}"\n'
                    '[profiles.other]\nmodel = "other/model"\n')
    return path


def latest(home):
    with Store(home / "data" / "history.db") as store:
        cid = store.latest()
        assert cid is not None
        return store.conversation(cid)


def test_continue_goes_where_the_conversation_was_held(otchat, server, llama, config, home):
    assert otchat("--profile", "llama", "first").code == 0
    assert latest(home).base_url == llama.url and latest(home).profile == "llama"
    for args in (["-c"], ["--cid", latest(home).id[:8]]):
        assert otchat(*args, "go on", env={"OTCHAT_MODEL": "env/model"}).code == 0
        sent = llama.requests[-1]
        assert sent.body["model"] == "llama3" and sent.headers["authorization"] == f"Bearer {LLAMA_KEY}"
        assert [m["content"] for m in sent.body["messages"]][-1] == "go on"
    assert server.requests == []  # the default endpoint never saw the conversation, nor its key


def test_flags_on_the_call_win_and_are_remembered(otchat, server, llama, config, home):
    assert otchat("--profile", "llama", "first").code == 0
    assert otchat("-c", "-m", "llama3:70b", "bigger").code == 0
    assert llama.requests[-1].body["model"] == "llama3:70b"
    assert otchat("-c", "and again").code == 0  # the model of the current leaf
    assert llama.requests[-1].body["model"] == "llama3:70b" and len(llama.requests) == 3
    # --profile replaces the profile, its URL and its model; the default key goes to the default host.
    assert otchat("-c", "--profile", "other", "elsewhere").code == 0
    assert server.requests[-1].body["model"] == "other/model"
    assert server.requests[-1].headers["authorization"] == f"Bearer {KEY}"
    assert server.requests[-1].body["messages"][0]["content"] == "first"
    assert otchat("-c", "stays").code == 0  # where it was last held: now the default host
    assert len(server.requests) == 2 and len(llama.requests) == 3


def test_the_model_of_the_current_leaf_without_a_profile(otchat, server, config):
    assert otchat("-m", "a/one", "first").code == 0
    assert otchat("-c", "second").code == 0
    assert server.last_body["model"] == "a/one"


def test_history_switch_moves_the_model_with_the_branch(otchat, server, llama, config, home):
    assert otchat("--profile", "llama", "-m", "llama3:8b", "-m", "llama3:70b", "first").code == 0
    assert otchat("-c", "on from the first-named").code == 0
    assert llama.requests[-1].body["model"] == "llama3:8b"
    second = next(m for m in latest(home).messages if m.role == "assistant" and m.model == "llama3:70b")
    assert otchat("history", "switch", latest(home).id[:8], str(second.id)).code == 0
    assert otchat("-c", "from the other answer", env={"OTCHAT_MODEL": "env/model"}).code == 0
    sent = llama.requests[-1]
    assert sent.body["model"] == "llama3:70b" and sent.headers["authorization"] == f"Bearer {LLAMA_KEY}"
    assert [m["content"] for m in sent.body["messages"]][-1] == "from the other answer"
    assert server.requests == []


def test_dry_run_shows_where_a_continued_conversation_would_go(otchat, server, llama, config):
    assert otchat("--profile", "llama", "first").code == 0
    r = otchat("-c", "--dry-run", "next")
    shown = json.loads(r.stdout)
    assert shown["url"] == llama.url + "/chat/completions" and shown["body"]["model"] == "llama3"
    assert shown["headers"]["Authorization"] == "Bearer ***"


def test_a_stored_profile_no_longer_in_the_config_is_exit_3(otchat, llama, config):
    assert otchat("--profile", "llama", "first").code == 0
    config.write_text('[profiles.other]\nmodel = "other/model"\n')
    r = otchat("-c", "next", expect=3)
    assert r.code == 3 and "was held with profile 'llama'" in r.stderr and len(r.stderr.splitlines()) == 1
    assert otchat("-c", "--profile", "other", "next").code == 0


def test_resume_in_the_repl_goes_where_that_conversation_was_held(otchat, server, llama, config, home):
    assert otchat("--profile", "llama", "first").code == 0
    cid = latest(home).id
    assert otchat("the default one").code == 0
    assert otchat("chat", input=f"/resume {cid[:8]}\nin the repl\n").code == 0
    sent = llama.requests[-1]
    assert sent.body["model"] == "llama3" and sent.headers["authorization"] == f"Bearer {LLAMA_KEY}"
    assert [m["content"] for m in sent.body["messages"]][-1] == "in the repl" and len(server.requests) == 1
    assert otchat("chat", "-c", input="straight on\n").code == 0  # the latest: held at the llama host
    assert [m["content"] for m in llama.requests[-1].body["messages"]][-1] == "straight on"


def test_a_conversation_from_an_old_file_resolves_as_a_new_one_would(otchat, server, home, config):
    """Schema 5 and before kept no base URL: -c goes where today's settings say (even though the
    row names profile "work", which this config does not have)."""
    fixtures = Path(__file__).with_name("fixtures")
    shutil.copyfile(fixtures / "history-v3.db", home / "data" / "history.db")
    with sqlite3.connect(home / "data" / "history.db") as db:
        assert db.execute("SELECT profile FROM conversations WHERE id = 'bbbb000000000002'").fetchone() == ("work",)
    assert otchat("--cid", "bbbb", "and tomorrow").code == 0
    assert server.last_body["model"] == "anthropic/claude-3.7-sonnet"
    assert server.last_request_header("authorization") == f"Bearer {KEY}"
    with Store(home / "data" / "history.db") as store:  # from now on it is held where it went
        assert store.conversation("bbbb000000000002").base_url == server.url
