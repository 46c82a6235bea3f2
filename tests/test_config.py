"""config: precedence (design.md §3), profiles, roles, aliases, file loading and validation."""

import pytest

from otchat.config.resolve import DEFAULT_BASE_URL, DEFAULT_MODEL, Flags, load_file, resolve, sources
from otchat.errors import ConfigError, ExitCode, UsageError

FILE = {
    "model": "top/model",
    "base_url": "http://top/v1",
    "timeout": 50,
    "tools": ["top-tool"],
    "system": "top system",
    "profiles": {
        "work": {"model": "work/model", "base_url": "http://work/v1", "tools": ["work-tool"], "timeout": 70},
        "local": {"model": "local/model", "base_url": "http://local/v1", "api_key_env": "",
                  "headers": {"X-Org": "acme"}},
    },
    "roles": {"poet": {"system": "rhyme", "model": "role/model", "tools": ["role-tool"], "temperature": 1.2}},
    "aliases": {"sonnet": "anthropic/claude-3.7-sonnet"},
}
ENV = {"OTCHAT_MODEL": "env/model", "OTCHAT_BASE_URL": "http://env/v1"}


# Each row: flags, environment, file → the model and base URL that win, and why.
PRECEDENCE = [
    ("defaults", Flags(), {}, {}, DEFAULT_MODEL, DEFAULT_BASE_URL),
    ("top-level file", Flags(), {}, FILE, "top/model", "http://top/v1"),
    ("default_profile over top-level", Flags(), {}, {**FILE, "default_profile": "work"}, "work/model", "http://work/v1"),
    ("OTCHAT_PROFILE over top-level", Flags(), {"OTCHAT_PROFILE": "work"}, FILE, "work/model", "http://work/v1"),
    ("environment over OTCHAT_PROFILE", Flags(), {**ENV, "OTCHAT_PROFILE": "work"}, FILE, "env/model", "http://env/v1"),
    ("environment over default_profile", Flags(), ENV, {**FILE, "default_profile": "work"}, "env/model", "http://env/v1"),
    ("environment over top-level", Flags(), ENV, FILE, "env/model", "http://env/v1"),
    ("--profile over environment", Flags(profile="work"), ENV, FILE, "work/model", "http://work/v1"),
    ("--profile over OTCHAT_PROFILE", Flags(profile="local"), {"OTCHAT_PROFILE": "work"}, FILE, "local/model",
     "http://local/v1"),
    ("--role over --profile", Flags(profile="work", role="poet"), ENV, FILE, "role/model", "http://work/v1"),
    ("flags over everything", Flags(model="flag/model", base_url="http://flag/v1/", profile="work", role="poet"),
     ENV, FILE, "flag/model", "http://flag/v1"),
    ("alias resolved from any layer", Flags(model="sonnet"), {}, FILE, "anthropic/claude-3.7-sonnet", "http://top/v1"),
    ("alias from the environment", Flags(), {"OTCHAT_MODEL": "sonnet"}, FILE, "anthropic/claude-3.7-sonnet",
     "http://top/v1"),
]


@pytest.mark.parametrize("why, flags, environ, file, model, base_url", PRECEDENCE, ids=[r[0] for r in PRECEDENCE])
def test_precedence(why, flags, environ, file, model, base_url):
    s = resolve(flags, environ, file)
    assert (s.model, s.base_url) == (model, base_url)


# The same layers name themselves, for `config list`.
SOURCES = ["default", "config.toml", "profile work (default_profile)", "profile work (OTCHAT_PROFILE)",
           "$OTCHAT_MODEL", "$OTCHAT_MODEL", "$OTCHAT_MODEL", "profile work (--profile)", "profile local (--profile)",
           "role poet", "flag", "flag", "$OTCHAT_MODEL"]


@pytest.mark.parametrize("row, source", list(zip(PRECEDENCE, SOURCES, strict=True)), ids=[r[0] for r in PRECEDENCE])
def test_sources_say_where_the_winning_value_comes_from(row, source):
    why, flags, environ, file, model, base_url = row
    value, origin = sources(flags, environ, file).pick("model")
    assert origin == source and file.get("aliases", {}).get(value, value) == model


def test_tool_lists_add_up_config_profile_role_flags():
    s = resolve(Flags(profile="work", role="poet", tools=["flag-tool", "top-tool"]), {}, FILE)
    assert [t["ref"] for t in s.tools] == ["top-tool", "work-tool", "role-tool", "flag-tool"]


def test_role_sets_system_and_temperature_but_flags_win():
    s = resolve(Flags(role="poet"), {}, FILE)
    assert (s.system, s.temperature) == ("rhyme", 1.2)
    s = resolve(Flags(role="poet", system="plain", temperature=0.0), {}, FILE)
    assert (s.system, s.temperature) == ("plain", 0.0)


def test_profile_overrides_any_top_level_key():
    s = resolve(Flags(profile="work"), {}, FILE)
    assert (s.timeout, s.system) == (70.0, "top system")


def test_profile_key_source_and_headers():
    s = resolve(Flags(profile="local"), {}, FILE)
    assert s.api_key_env == "" and s.headers == {"X-Org": "acme"} and s.profile == "local"


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(UsageError, match="known profiles: local, work"):
        resolve(Flags(profile="nope"), {}, FILE)
    with pytest.raises(ConfigError, match="OTCHAT_PROFILE"):
        resolve(Flags(), {"OTCHAT_PROFILE": "nope"}, FILE)
    with pytest.raises(ConfigError, match="default_profile"):
        resolve(Flags(), {}, {**FILE, "default_profile": "gone"})


def test_unknown_role_lists_the_known_ones():
    with pytest.raises(UsageError, match="known roles: poet"):
        resolve(Flags(role="critic"), {}, FILE)


def test_missing_file_is_empty(tmp_path):
    assert load_file(tmp_path / "config.toml") == {}


def test_broken_file_names_path_and_line(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('model = "a"\nbase_url = \n')
    with pytest.raises(ConfigError) as info:
        load_file(path)
    assert str(path) in info.value.message and "line 2" in info.value.message
    assert info.value.exit_code == ExitCode.CONFIG
    assert path.read_text() == 'model = "a"\nbase_url = \n'


@pytest.mark.parametrize("text", ['temperature = "hot"', "retries = 1.5", 'tools = "exa"', "tools = [1]",
                                  "max_tokens = true", "temperature = 3", 'base_url = "ftp://x"',
                                  "[profiles]\nlocal = 1", '[profiles.local]\ntimeout = "x"',
                                  "[aliases]\nsonnet = 3"])
def test_wrong_values_are_config_errors(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match=r"config\.toml"):
        load_file(path)


@pytest.mark.parametrize("text, line, key", [
    ('model = "m"\n\ntimeout = "slow"\n', 3, "timeout"),
    ('[profiles.local]\nbase_url = "http://x"\n\n[profiles.work]  # here\nretries = 50\n', 5,
     "profiles.work.retries"),
    ('[mcp.servers.notes]\ncommand = "x"\nenv = { A = 1 }\n', 3, "mcp.servers.notes.env.A"),
    ('model = "m"\nprofiles.local.timeout = "x"\n', 2, "profiles.local.timeout"),
    ('[profiles]\nlocal = 1\n', 2, "profiles.local"),
    ('model = "m"\ntools = [\n  "exa",\n  1,\n]\n', 2, "tools"),
    ('[aliases]\nok = "x"\n"gpt.4" = 3\n', 3, "aliases.gpt.4"),
    ('[roles.poet]\nsystem = "rhyme"\n[roles . "critic"]\ntemperature = "warm"\n', 4, "roles.critic.temperature"),
])
def test_a_wrong_value_is_reported_with_its_line(tmp_path, text, line, key):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_file(path)
    assert info.value.message.startswith(f"{path}: {key} must be") and info.value.message.endswith(f"(at line {line})")


def test_unknown_keys_are_a_warning(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('modle = "typo"\n[profiles.x]\nbase_ulr = "y"\n')
    warnings = []
    assert load_file(path, warn=warnings.append)["modle"] == "typo"
    assert "modle" in warnings[0] and "profiles.x.base_ulr" in warnings[0]
