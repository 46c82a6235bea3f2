"""auth: where the key comes from, and the private credentials file."""

import os
import stat

import pytest

from otchat.config.credentials import credentials_path, loose_permissions, read_credentials, write_credentials
from otchat.config.keys import find_key
from otchat.config.resolve import Settings
from otchat.errors import ConfigError


def settings(**kw):
    return Settings(model="m", base_url="http://h/v1", **kw)


def test_credentials_file_is_private(cfg):
    path = credentials_path(cfg)
    write_credentials(path, "sk-stored-123456789")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cfg).st_mode) == 0o700
    assert read_credentials(path) == "sk-stored-123456789"
    assert not loose_permissions(path)
    os.chmod(path, 0o644)
    assert loose_permissions(path)


# Each row: settings, environment, stored key? → the key found.
ROWS = [
    ("profile api_key_env beats everything", dict(api_key_env="LOCAL", api_key_cmd="echo cmd-key"),
     {"LOCAL": "local-key", "OPENTOOLS_API_KEY": "env-key"}, True, "local-key"),
    ("OPENTOOLS_API_KEY beats the file", dict(api_key_cmd="echo cmd-key"), {"OPENTOOLS_API_KEY": "env-key"}, True,
     "env-key"),
    ("the file beats api_key_cmd", dict(api_key_cmd="echo cmd-key"), {}, True, "sk-stored-123456789"),
    ("api_key_cmd last", dict(api_key_cmd="printf 'cmd-key\\nsecond line'"), {}, False, "cmd-key"),
    ("empty api_key_env sends no key", dict(api_key_env=""), {"OPENTOOLS_API_KEY": "env-key"}, True, None),
    ("nothing at all", {}, {}, False, None),
]


@pytest.mark.parametrize("why, kw, environ, stored, expected", ROWS, ids=[r[0] for r in ROWS])
def test_key_precedence(cfg, why, kw, environ, stored, expected):
    if stored:
        write_credentials(credentials_path(cfg), "sk-stored-123456789")
    assert find_key(settings(**kw), environ, cfg).value == expected


def test_missing_profile_variable_is_an_error_not_a_fallback(cfg):
    with pytest.raises(ConfigError, match=r"\$LOCAL_KEY, which is not set"):
        find_key(settings(api_key_env="LOCAL_KEY", profile="local"), {"OPENTOOLS_API_KEY": "ot"}, cfg)


def test_failing_api_key_cmd_is_a_config_error(cfg):
    with pytest.raises(ConfigError, match="exit status 3: vault locked") as info:
        find_key(settings(api_key_cmd="echo 'vault locked' >&2; exit 3"), {}, cfg)
    assert info.value.exit_code == 3
    with pytest.raises(ConfigError, match="printed no key"):
        find_key(settings(api_key_cmd="true"), {}, cfg)


def test_dry_run_does_not_run_api_key_cmd(cfg, tmp_path):
    marker = tmp_path / "ran"
    found = find_key(settings(api_key_cmd=f"touch {marker}; echo k"), {}, cfg, run_command=False)
    assert found.value and not marker.exists()


def test_damaged_credentials_file(cfg):
    path = credentials_path(cfg)
    cfg.mkdir()
    path.write_text("api_key = [unterminated")
    with pytest.raises(ConfigError, match="damaged"):
        read_credentials(path)
