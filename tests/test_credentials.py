"""Credentials and where they go: the default key and config.toml's secret headers only to the
default base URL, a profile's own key to its host; api_key_cmd under a time limit it cannot outlive."""

import os
import stat
import time
from pathlib import Path

import pytest

from otchat.config.credentials import (
    credentials_path,
    read_credentials,
    remove_credentials,
    stored_profiles,
    write_credentials,
)
from otchat.config.keys import find_key, run_key_command
from otchat.config.resolve import Flags, resolve
from otchat.errors import ConfigError
from tests.conftest import KEY

LLAMA_KEY = "sk-llama-test-0123456789"
BARE_KEY = "sk-bare-stored-0123456789"
TOP_SECRET = "top-secret-header-value-42"
DEFAULT = "https://api.opentools.com/v1"


def file_with(**profiles):
    return {"headers": {"X-Api-Key": TOP_SECRET, "X-Org": "acme"}, "profiles": profiles}


def key_for(cfg, flags, file, environ=None):
    return find_key(resolve(flags, environ or {}, file), environ or {}, cfg)


# The key lookup ---------------------------------------------------------------------------


def test_a_profiles_api_key_cmd_beats_the_stored_default_key(cfg):
    """The reported case: a stored OpenTools key went to the llama profile instead of its command's."""
    write_credentials(credentials_path(cfg), KEY)
    file = file_with(llama={"base_url": "http://llama:8080/v1", "api_key_cmd": f"echo {LLAMA_KEY}"})
    found = key_for(cfg, Flags(profile="llama"), file, {"OPENTOOLS_API_KEY": KEY})
    assert found.value == LLAMA_KEY and found.source == "api_key_cmd of profile 'llama'"


@pytest.mark.parametrize("where", ["environment", "credentials file", "top-level api_key_cmd"])
def test_the_default_key_never_goes_to_a_profiles_other_host(cfg, where):
    environ = {"OPENTOOLS_API_KEY": KEY} if where == "environment" else {}
    if where == "credentials file":
        write_credentials(credentials_path(cfg), KEY)
    file = {**file_with(llama={"base_url": "http://llama:8080/v1"}),
            **({"api_key_cmd": f"echo {KEY}"} if where == "top-level api_key_cmd" else {})}
    found = key_for(cfg, Flags(profile="llama"), file, environ)
    assert found.value is None and not found.missing
    assert found.withheld and "profile 'llama'" in found.withheld and DEFAULT in found.withheld
    # ...and it still goes to the default base URL, with no profile.
    assert key_for(cfg, Flags(), file, environ).value == KEY


@pytest.mark.parametrize("url", [DEFAULT, DEFAULT + "/", "https://API.opentools.com:443/v2"])
def test_a_profile_on_the_default_host_without_a_key_of_its_own_gets_the_default_key(cfg, url):
    file = file_with(work={"base_url": url, "model": "work/model"})
    assert key_for(cfg, Flags(profile="work"), file, {"OPENTOOLS_API_KEY": KEY}).value == KEY


@pytest.mark.parametrize("url", ["http://api.opentools.com/v1", "https://api.opentools.com:8443/v1",
                                 "https://evil.example/v1"])
def test_scheme_host_or_port_make_another_host(cfg, url):
    file = file_with(p={"base_url": url})
    assert key_for(cfg, Flags(profile="p"), file, {"OPENTOOLS_API_KEY": KEY}).value is None


def test_the_default_base_url_is_resolved_without_the_profile(cfg):
    """--base-url and OTCHAT_BASE_URL move the default host: there the default key goes, as today."""
    file = {"base_url": "http://top:1/v1", "profiles": {"p": {"base_url": "http://elsewhere:2/v1"}}}
    environ = {"OPENTOOLS_API_KEY": KEY}
    assert key_for(cfg, Flags(), file, environ).value == KEY
    assert key_for(cfg, Flags(base_url="http://flag:3/v1"), file, environ).value == KEY
    assert key_for(cfg, Flags(profile="p", base_url="http://flag:3/v1"), file, environ).value == KEY
    assert key_for(cfg, Flags(profile="p"), file, environ).value is None
    # default_profile chooses below the environment: OTCHAT_BASE_URL wins, and is the default host.
    env = {**environ, "OTCHAT_BASE_URL": "http://env:4/v1"}
    assert key_for(cfg, Flags(), {**file, "default_profile": "p"}, env).value == KEY


def test_a_key_stored_for_a_profile_is_its_own_and_the_default_keeps_working(cfg):
    path = credentials_path(cfg)
    write_credentials(path, KEY)
    write_credentials(path, BARE_KEY, "bare")
    file = file_with(bare={"base_url": "http://bare:1/v1"}, other={"base_url": "http://other:1/v1"})
    assert key_for(cfg, Flags(profile="bare"), file).value == BARE_KEY
    assert key_for(cfg, Flags(profile="other"), file).value is None
    assert key_for(cfg, Flags(), file).value == KEY
    # A profile's own sources, in order: api_key_env > the stored key > api_key_cmd.
    file["profiles"]["bare"]["api_key_cmd"] = f"echo {LLAMA_KEY}"
    assert key_for(cfg, Flags(profile="bare"), file).value == BARE_KEY
    file["profiles"]["bare"]["api_key_env"] = "BARE"
    assert key_for(cfg, Flags(profile="bare"), file, {"BARE": "from-the-variable"}).value == "from-the-variable"


def test_config_toml_secret_headers_go_only_to_the_default_host():
    file = file_with(llama={"base_url": "http://llama:8080/v1", "headers": {"Authorization-Extra": "own-secret"}},
                     work={"model": "w"})
    assert resolve(Flags(profile="llama"), {}, file).headers == {"X-Org": "acme", "Authorization-Extra": "own-secret"}
    assert resolve(Flags(profile="work"), {}, file).headers == {"X-Api-Key": TOP_SECRET, "X-Org": "acme"}
    assert resolve(Flags(), {}, file).headers == {"X-Api-Key": TOP_SECRET, "X-Org": "acme"}
    # A profile that sets the header itself sends its own value.
    file["profiles"]["llama"]["headers"]["X-Api-Key"] = "llama-value"
    assert resolve(Flags(profile="llama"), {}, file).headers["X-Api-Key"] == "llama-value"


# The credentials file ----------------------------------------------------------------------


def test_one_private_file_holds_the_default_key_and_one_per_profile(cfg):
    path = credentials_path(cfg)
    path.parent.mkdir()
    path.write_text(f'api_key = "{KEY}"\n')  # as otchat before profile keys wrote it
    assert read_credentials(path) == KEY
    write_credentials(path, LLAMA_KEY, "llama")
    write_credentials(path, BARE_KEY, "a \"quoted\" name")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert (read_credentials(path), read_credentials(path, "llama")) == (KEY, LLAMA_KEY)
    assert read_credentials(path, 'a "quoted" name') == BARE_KEY
    assert stored_profiles(path) == ['a "quoted" name', "llama"]
    assert remove_credentials(path) and read_credentials(path) is None and read_credentials(path, "llama")
    assert not remove_credentials(path, "nobody")
    assert remove_credentials(path, "llama") and remove_credentials(path, 'a "quoted" name')
    assert not path.exists()  # no key left: no file


def test_login_replaces_a_damaged_file(cfg):
    path = credentials_path(cfg)
    cfg.mkdir()
    path.write_text("api_key = [unterminated")
    write_credentials(path, KEY)
    assert read_credentials(path) == KEY


# api_key_cmd: a time limit it cannot outlive, and never its text in output -------------------


def _running(marker: str) -> list[str]:
    """Processes whose command line holds `marker` (the test's own unique sleep)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in line and "pytest" not in line:
            found.append(line)
    return found


@pytest.mark.parametrize("command", ["sleep {t}", "sh -c 'sleep {t} & wait'", "sleep {t} & sleep {t}; wait"])
def test_a_hanging_api_key_cmd_is_stopped_with_all_it_started(command):
    marker = f"{97 + os.getpid() % 1000 / 1000:.3f}"  # a duration no other process sleeps
    started = time.monotonic()
    with pytest.raises(ConfigError) as info:
        run_key_command(command.format(t=marker), 0.5, "api_key_cmd of profile 'llama'")
    assert time.monotonic() - started < 5
    assert info.value.message == "api_key_cmd of profile 'llama' did not finish within 0.5 s"
    assert marker not in info.value.line()  # the command's text is never shown
    deadline = time.monotonic() + 3
    while _running(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _running(marker) == []


def test_api_key_cmd_errors_name_the_config_key_not_the_command(cfg):
    file = {"profiles": {"llama": {"base_url": "http://llama:1/v1", "api_key_cmd": "true # secret-ish text"}}}
    with pytest.raises(ConfigError) as info:
        key_for(cfg, Flags(profile="llama"), file)
    assert info.value.message == "api_key_cmd of profile 'llama' printed no key" and "secret-ish" not in info.value.line()


def test_api_key_cmd_timeout_is_a_config_key_also_per_profile():
    file = {"api_key_cmd_timeout": 5, "profiles": {"a": {"api_key_cmd_timeout": 2}, "b": {}}}
    assert resolve(Flags(), {}, file).api_key_cmd_timeout == 5
    assert resolve(Flags(profile="a"), {}, file).api_key_cmd_timeout == 2
    assert resolve(Flags(profile="b"), {}, file).api_key_cmd_timeout == 5
    assert resolve(Flags(), {}, {}).api_key_cmd_timeout == 30


# End to end: a recording server per host -------------------------------------------------


def write_config(home, server, llama):
    (home / "config" / "config.toml").write_text(f"""
[headers]
X-Api-Key = "{TOP_SECRET}"
X-Org = "acme"

[profiles.llama]
base_url = "{llama.url}"
model = "llama3"
api_key_cmd = "echo {LLAMA_KEY}"

[profiles.bare]
base_url = "{llama.url}"
model = "bare-model"
""")


def test_each_key_goes_only_to_its_host(otchat, server, llama, home):
    write_config(home, server, llama)
    assert otchat("auth", "login", input=KEY, key=None).code == 0
    assert otchat("hi", key=None).code == 0
    default = server.requests[-1].headers
    assert default["authorization"] == f"Bearer {KEY}" and default["x-api-key"] == TOP_SECRET
    assert default["x-org"] == "acme"

    assert otchat("--profile", "llama", "hi", key=None).code == 0
    sent = llama.requests[-1].headers
    assert sent["authorization"] == f"Bearer {LLAMA_KEY}" and "x-api-key" not in sent and sent["x-org"] == "acme"

    r = otchat("--profile", "bare", "-v", "hi", key=None)
    assert r.code == 0 and "authorization" not in llama.requests[-1].headers
    assert "x-api-key" not in llama.requests[-1].headers
    assert "no API key sent: profile 'bare' goes to " + llama.url in r.stderr

    assert otchat("auth", "login", "--profile", "bare", input=BARE_KEY, key=None).code == 0
    assert otchat("--profile", "bare", "hi", key=None).code == 0
    assert llama.requests[-1].headers["authorization"] == f"Bearer {BARE_KEY}"
    assert otchat("hi", key=None).code == 0  # the stored default key still goes to its host
    assert server.requests[-1].headers["authorization"] == f"Bearer {KEY}"
    assert len(server.requests) == 2 and len(llama.requests) == 3
    every = [*server.requests, *llama.requests]
    assert all(KEY not in str(q.headers) for q in every if q in llama.requests)
    assert all(LLAMA_KEY not in str(q.headers) and BARE_KEY not in str(q.headers) for q in server.requests)


# A rejected key: the hint names where the key came from -------------------------------------


def rejected(server):
    from tests.fakeserver import error

    server.enqueue(error(401, {"error": {"message": "invalid api key"}}))


def test_a_rejected_key_from_the_environment_is_named_by_its_variable(otchat, server):
    rejected(server)
    r = otchat("hi", expect=3)
    assert r.stderr == "otchat: error: 401 Unauthorized: invalid api key (check the key in $OPENTOOLS_API_KEY)\n"


def test_a_rejected_stored_key_names_the_credentials_file(otchat, server, home):
    assert otchat("auth", "login", input=KEY, key=None).code == 0
    rejected(server)
    r = otchat("hi", key=None, expect=3)
    path = home / "config" / "credentials"
    assert r.stderr == f"otchat: error: 401 Unauthorized: invalid api key (check the key in credentials file {path};" \
                       " otchat auth login replaces it)\n"
    assert "OPENTOOLS_API_KEY" not in r.stderr


def test_a_rejected_profile_key_names_its_variable_and_the_profile(otchat, server, llama, home):
    (home / "config" / "config.toml").write_text(
        f'[profiles.llama]\nbase_url = "{llama.url}"\napi_key_env = "LLAMA_KEY"\n')
    rejected(llama)
    r = otchat("--profile", "llama", "hi", env={"LLAMA_KEY": LLAMA_KEY}, expect=3)
    assert r.stderr == ("otchat: error: 401 Unauthorized: invalid api key"
                        " (check the key in $LLAMA_KEY (api_key_env of profile 'llama'))\n")


def test_a_rejected_key_listing_models_names_where_it_came_from(tmp_path):
    import httpx2

    from otchat.app import run
    from tests.conftest import make_env

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(
        '[profiles.llama]\nbase_url = "http://llama.test/v1"\napi_key_env = "LLAMA_KEY"\n')
    env = make_env(home=tmp_path, environ={"LLAMA_KEY": LLAMA_KEY},
                   transport=httpx2.MockTransport(lambda request: httpx2.Response(401, json={"error": "no"})))
    assert run(["--profile", "llama", "models", "--refresh"], env) == 3
    assert env.stderr.getvalue().endswith(" (check the key in $LLAMA_KEY (api_key_env of profile 'llama'))\n")


def test_a_rejection_when_no_key_was_sent_says_so(otchat, llama, home):
    (home / "config" / "config.toml").write_text(f'[profiles.bare]\nbase_url = "{llama.url}"\n')
    rejected(llama)
    r = otchat("--profile", "bare", "hi", expect=3)
    assert "401" in r.stderr and "no API key was sent" in r.stderr and "OPENTOOLS_API_KEY" not in r.stderr


def test_auth_status_shows_the_source_a_run_would_use(otchat, server, llama, home):
    write_config(home, server, llama)
    assert otchat("auth", "login", input=KEY, key=None).code == 0
    r = otchat("auth", "status", "--profile", "llama", key=None)
    assert r.code == 0 and "source: api_key_cmd of profile 'llama'" in r.stdout and f"…{LLAMA_KEY[-4:]}" in r.stdout
    assert "echo" not in r.stdout + r.stderr and LLAMA_KEY not in r.stdout
    r = otchat("auth", "status", "--profile", "bare", key=None)
    assert r.code == 0 and "key: none" in r.stdout and "has no key of its own" in r.stdout
    assert otchat("auth", "login", "--profile", "bare", input=BARE_KEY, key=None).code == 0
    r = otchat("auth", "status", "--profile", "bare", key=None)
    assert "source: credentials file" in r.stdout and "(profile bare)" in r.stdout and BARE_KEY not in r.stdout
    assert otchat("auth", "logout", "--profile", "bare", key=None).code == 0
    assert "key: none" in otchat("auth", "status", "--profile", "bare", key=None).stdout
    assert read_credentials(home / "config" / "credentials") == KEY  # the default key stays
    r = otchat("auth", "login", "--profile", "nope", input=BARE_KEY, key=None, expect=2)
    assert r.code == 2 and "unknown profile 'nope'" in r.stderr


def test_auth_status_never_prints_api_key_cmd(otchat, home):
    """The command may hold the key itself (`echo sk-...`): status names the config key instead."""
    (home / "config" / "config.toml").write_text(f'api_key_cmd = "echo {KEY}"\n')
    r = otchat("auth", "status", key=None)  # the fixture fails the test if KEY shows
    assert r.code == 0 and "source: api_key_cmd (config.toml)" in r.stdout


def test_config_get_headers_masks_secret_values(otchat, server, llama, home):
    write_config(home, server, llama)
    r = otchat("config", "get", "headers")
    assert r.stdout == 'headers.X-Api-Key = "***"\nheaders.X-Org = "acme"\n'
    assert otchat("config", "get", "headers.X-Api-Key").stdout == "***\n"
    assert otchat("config", "get", "headers.X-Org").stdout == "acme\n"
    assert TOP_SECRET not in otchat("config", "list").stdout


@pytest.mark.process  # a child's process group killed at its timeout; in-process a hang would hang pytest
def test_a_hanging_api_key_cmd_does_not_hang_otchat(otchat, home):
    (home / "config" / "config.toml").write_text(
        '[profiles.llama]\nbase_url = "http://127.0.0.1:9/v1"\napi_key_cmd = "sh -c \'sleep 100 & wait\'"\n'
        "api_key_cmd_timeout = 1\n")
    started = time.monotonic()
    r = otchat("--profile", "llama", "hi", key=None, timeout=20, expect=3)
    assert time.monotonic() - started < 6
    assert r.code == 3 and r.stderr == ("otchat: error: api_key_cmd of profile 'llama' did not finish within 1 s"
                                        " (raise profiles.llama.api_key_cmd_timeout)\n")
    assert "sleep" not in r.stderr
