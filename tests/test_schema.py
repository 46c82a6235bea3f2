"""schema: dotted keys, the key table, value parsing."""

import pytest

from otchat.config.redact import is_secret, shown_header
from otchat.config.schema import lookup, parse_value, split_key, validate
from otchat.errors import ConfigError, UsageError


@pytest.mark.parametrize("dotted, parts", [
    ("model", ["model"]),
    ("profiles.local.base_url", ["profiles", "local", "base_url"]),
    ("aliases.claude-3.7", ["aliases", "claude-3.7"]),
    ('aliases."gpt-4.1"', ["aliases", "gpt-4.1"]),
    ("profiles.local.headers.X-Org", ["profiles", "local", "headers", "X-Org"]),
])
def test_split_key(dotted, parts):
    assert split_key(dotted) == parts


@pytest.mark.parametrize("dotted", ["", ".model", "model.", "a..b"])
def test_split_key_rejects_malformed(dotted):
    with pytest.raises(UsageError):
        split_key(dotted)


@pytest.mark.parametrize("dotted, kind", [
    ("model", "str"), ("temperature", "float"), ("tools", "list"), ("profiles.x.api_key_env", "str"),
    ("profiles.x", "table"), ("roles.poet.system", "str"), ("aliases.s", "str"), ("headers.X-Y", "str"),
])
def test_lookup(dotted, kind):
    assert lookup(split_key(dotted)).kind == kind


@pytest.mark.parametrize("dotted, hint", [
    ("modle", "known keys"), ("api_key", "auth login"), ("profiles.x.bogus", "profile keys"),
    ("roles.x.base_url", "role keys"),
])
def test_lookup_unknown_keys_hint(dotted, hint):
    with pytest.raises(UsageError) as info:
        lookup(split_key(dotted))
    assert hint in info.value.hint


@pytest.mark.parametrize("dotted, text, value", [
    ("temperature", "0.5", 0.5), ("retries", "3", 3), ("tools", "exa,firecrawl", ["exa", "firecrawl"]),
    ("tools", '["exa"]', ["exa"]), ("base_url", "http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
])
def test_parse_value(dotted, text, value):
    assert parse_value(lookup(split_key(dotted)), text, dotted) == value


@pytest.mark.parametrize("dotted, text, value", [
    ("timeout", "60", 60), ("timeout", " 60 ", 60), ("temperature", "1", 1), ("timeout", "60.0", 60.0),
    ("timeout", "2.5", 2.5), ("mcp.servers.s.timeout", "30", 30), ("timeout", "1e3", 1000.0),
])
def test_whole_numbers_stay_whole(dotted, text, value):
    parsed = parse_value(lookup(split_key(dotted)), text, dotted)
    assert parsed == value and type(parsed) is type(value)


def test_defaults_are_written_as_the_readme_writes_them():
    assert (lookup(["timeout"]).default, lookup(["mcp", "servers", "s", "timeout"]).default) == (300, 60)


@pytest.mark.parametrize("dotted, text", [
    ("temperature", "hot"), ("temperature", "2.5"), ("retries", "-1"), ("retries", "1.5"),
    ("base_url", "example.com"), ("profiles.x", "y"), ("tools", '[1, 2]'), ("tools", '["unclosed'),
])
def test_parse_value_rejects(dotted, text):
    with pytest.raises(UsageError, match=dotted.split(".")[0]):
        parse_value(lookup(split_key(dotted)), text, dotted)


def test_validate_collects_unknown_and_raises_on_bad():
    assert validate({"model": "m", "x": 1, "profiles": {"p": {"y": 2}}}, ConfigError) == ["x", "profiles.p.y"]
    with pytest.raises(ConfigError):
        validate({"profiles": {"p": {"retries": "many"}}}, ConfigError)


def test_secrets_are_recognised():
    assert is_secret("profiles.local.headers.Authorization") and is_secret("headers.X-Api-Key")
    assert not is_secret("headers.X-Org") and not is_secret("api_key_env")
    assert shown_header("Authorization", "Bearer abc") == "Bearer ***"
    assert shown_header("X-Api-Key", "abc") == "***" and shown_header("X-Org", "acme") == "acme"
