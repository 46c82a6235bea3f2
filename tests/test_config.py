"""config: precedence, file loading and validation."""

import pytest

from otchat.config import DEFAULT_BASE_URL, DEFAULT_MODEL, Flags, load_file, resolve
from otchat.errors import ConfigError, ExitCode

FILE = {"model": "file/model", "base_url": "http://file/v1", "timeout": 50, "retries": 5,
        "tools": ["from-file"], "system": "file system", "temperature": 1.5, "max_tokens": 9}
ENV = {"OTCHAT_MODEL": "env/model", "OTCHAT_BASE_URL": "http://env/v1", "OPENTOOLS_API_KEY": "sk-env"}


@pytest.mark.parametrize(
    "flags, environ, file, model, base_url",
    [
        (Flags(), {}, {}, DEFAULT_MODEL, DEFAULT_BASE_URL),
        (Flags(), {}, FILE, "file/model", "http://file/v1"),
        (Flags(), ENV, FILE, "env/model", "http://env/v1"),
        (Flags(model="flag/model", base_url="http://flag/v1/"), ENV, FILE, "flag/model", "http://flag/v1"),
    ],
)
def test_precedence_flags_env_file_defaults(flags, environ, file, model, base_url):
    s = resolve(flags, environ, file)
    assert (s.model, s.base_url) == (model, base_url)


def test_file_values_and_tool_lists_add_up():
    s = resolve(Flags(tools=["exa", "from-file"], retries=0), {}, FILE)
    assert [t["ref"] for t in s.tools] == ["from-file", "exa"]
    assert (s.timeout, s.retries, s.system, s.temperature, s.max_tokens) == (50.0, 0, "file system", 1.5, 9)


def test_key_comes_from_the_environment():
    assert resolve(Flags(), ENV, {}).api_key == "sk-env"
    assert resolve(Flags(), {}, {}).api_key is None


def test_key_is_not_in_repr():
    assert "sk-env" not in repr(resolve(Flags(), ENV, {}))


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
                                  "max_tokens = true"])
def test_wrong_types_are_config_errors(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match="config.toml"):
        load_file(path)
