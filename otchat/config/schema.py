"""The config keys otchat knows: where each may stand, its type, range and default."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import UsageError
from ..seams import JSON, JSONObject

DEFAULT_BASE_URL = "https://api.opentools.com/v1"
DEFAULT_MODEL = "anthropic/claude-3.7-sonnet"


@dataclass(frozen=True)
class Key:
    name: str
    kind: str  # str, url, int, float, bool, list, table
    help: str
    default: JSON = None
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()  # for a str: the values it may take


_KEYS = [
    Key("model", "str", "model id or alias", DEFAULT_MODEL),
    Key("base_url", "url", "API base URL", DEFAULT_BASE_URL),
    Key("system", "str", "system prompt"),
    Key("temperature", "float", "sampling temperature", None, 0, 2),
    Key("max_tokens", "int", "longest reply in tokens", None, 1),
    Key("tools", "list", "hosted MCP tool refs, added to every request", []),
    Key("timeout", "float", "read timeout in seconds", 300, 0.001),
    Key("retries", "int", "retries before a reply begins", 2, 0, 10),
    Key("max_input_bytes", "int", "largest stdin accepted", 10 * 1024 * 1024, 1),
    Key("api_key_env", "str", 'environment variable holding the key ("" sends none)'),
    Key("api_key_cmd", "str", "command printing the key on its first line"),
    Key("api_key_cmd_timeout", "float", "seconds api_key_cmd may take before it is stopped", 30, 0.1, 3600),
    Key("headers", "table", "extra request headers"),
    Key("default_profile", "str", "profile used when none is chosen"),
    Key("log", "bool", "keep every turn in history.db", True),
    Key("auto_approve", "approve", "run local MCP tools without asking: true, or a list of server__tool", False),
    Key("max_tool_rounds", "int", "tool rounds per message before stopping", 8, 1, 100),
    Key("ca_bundle", "str", "certificate authorities to trust (a PEM file), e.g. a corporate proxy's"),
    Key("links", "str", "where a markdown link's target shows: inline, footnotes or hidden", "inline",
        choices=("inline", "footnotes", "hidden")),
    Key("soft_breaks", "str", "a single newline in a reply's prose: keep (a line break, as written) or join"
        " (CommonMark: one paragraph line)", "keep", choices=("keep", "join")),
    Key("response_format", "bool", "send --schema as response_format too (false: only as a system message)", True),
    Key("content_parts", "bool", "send a local tool's images to the model as image parts (false: a line naming each)",
        False),
]
TOP: dict[str, Key] = {key.name: key for key in _KEYS}
PROFILE: dict[str, Key] = {name: key for name, key in TOP.items() if name != "default_profile"}
ROLE: dict[str, Key] = {name: TOP[name] for name in ("system", "model", "tools", "temperature")}
_STRING = Key("value", "str", "a string")
TABLES = {"profiles": "profile settings, [profiles.NAME]", "aliases": "model aliases", "roles": "roles, [roles.NAME]",
          "mcp": "local MCP servers, [mcp.servers.NAME]"}
MCP_SERVER: dict[str, Key] = {key.name: key for key in [
    Key("command", "str", "the server's executable (stdio)"),
    Key("args", "list", "its arguments", []),
    Key("env", "table", "extra environment variables"),
    Key("cwd", "str", "its working directory"),
    Key("url", "url", "a streamable-HTTP server's URL"),
    Key("headers", "table", "HTTP headers; values may use ${VAR}"),
    Key("timeout", "float", "seconds a tool call may take", 60, 0.001),
    Key("enabled", "bool", "use it in every run (else only with --mcp NAME)", True),
    Key("trust", "bool", "believe its read-only hints: its tools marked read-only run without asking", False),
]}


def split_key(dotted: str) -> list[str]:
    """`profiles.local.base_url` → parts; `"a.b"` quotes a part; an alias name keeps its dots."""
    parts: list[str] = []
    for match in re.finditer(r'"([^"]*)"|([^.]+)', dotted):
        parts.append(match.group(1) if match.group(1) is not None else match.group(2))
    if not parts or "".join(parts) == "" or dotted.startswith(".") or dotted.endswith(".") or ".." in dotted:
        raise UsageError(f"not a config key: {dotted!r}")
    if parts[0] == "aliases" and len(parts) > 2:
        parts = ["aliases", ".".join(parts[1:])]
    return parts


def lookup(parts: list[str]) -> Key:
    """The Key a path names (a table is `kind == "table"`); unknown paths are a UsageError."""
    n = len(parts)
    head = parts[0]
    if n == 1 and head in TOP:
        return TOP[head]
    if n == 1 and head in TABLES:
        return Key(head, "table", TABLES[head])
    if head == "headers" and n == 2:
        return _STRING
    if head == "aliases" and n == 2:
        return Key(parts[1], "str", "the model id this alias stands for")
    if head == "profiles" and n >= 2:
        if n == 2:
            return Key(parts[1], "table", "a profile")
        if n == 3 and parts[2] in PROFILE:
            return PROFILE[parts[2]]
        if n == 4 and parts[2] == "headers":
            return _STRING
    if head == "mcp" and n >= 2 and parts[1] == "servers":
        if n == 2:
            return Key("servers", "table", "local MCP servers")
        if n == 3:
            return Key(parts[2], "table", "an MCP server")
        if n == 4 and parts[3] in MCP_SERVER:
            return MCP_SERVER[parts[3]]
        if n == 5 and parts[3] in ("env", "headers"):
            return _STRING
    if head == "roles" and n >= 2:
        if n == 2:
            return Key(parts[1], "table", "a role")
        if n == 3 and parts[2] in ROLE:
            return ROLE[parts[2]]
    raise UsageError(f"unknown config key: {'.'.join(parts)}", hint=_known_hint(parts))


def _known_hint(parts: list[str]) -> str:
    if parts[0] == "api_key":
        return "the key never goes in config.toml: use otchat auth login"
    if parts[0] == "profiles":
        return "profile keys: " + ", ".join(PROFILE)
    if parts[0] == "roles":
        return "role keys: " + ", ".join(ROLE)
    return "known keys: " + ", ".join([*TOP, *TABLES])


def parse_value(key: Key, text: str, where: str) -> JSON:
    """A command-line string converted to the key's type, or a UsageError naming `where`."""
    kind = key.kind
    try:
        if kind in ("str", "url"):
            value: JSON = text
        elif kind == "int":
            value = int(text)
        elif kind == "float":
            # `60` stays the integer the user typed: TOML and `config get` show it as 60, not 60.0.
            value = int(text) if re.fullmatch(r"\s*[+-]?\d+\s*", text) else float(text)
        elif kind == "bool":
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "yes", "no", "1", "0", "on", "off"):
                raise ValueError
            value = lowered in ("true", "yes", "1", "on")
        elif kind == "list":
            value = _parse_list(text)
        elif kind == "approve":
            lowered = text.strip().lower()
            value = lowered in ("true", "yes", "1", "on") if lowered in (
                "true", "false", "yes", "no", "1", "0", "on", "off") else _parse_list(text)
        else:
            raise UsageError(f"{where} is a table: set its keys one by one ({where}.NAME VALUE)")
    except ValueError:
        raise UsageError(f"{where} must be {_kind_name(kind)}, got {text!r}") from None
    check_value(key, value, where, UsageError)
    return value


def _parse_list(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("["):
        value = json.loads(text)
        if not isinstance(value, list):
            raise ValueError
        return value
    return [item.strip() for item in text.split(",") if item.strip()]


def check_value(key: Key, value: JSON, where: str, error: type[Exception]) -> None:
    """Type and range of a value (from TOML or the command line); raises `error(message)`."""
    problem = _problem(key, value, where)
    if problem:
        raise error(problem)


def _problem(key: Key, value: JSON, where: str) -> str | None:
    kind = key.kind
    ok = {
        "str": isinstance(value, str),
        "url": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "list": isinstance(value, list) and all(isinstance(item, str) and item for item in value),
        "table": isinstance(value, dict),
        "approve": isinstance(value, bool)
        or (isinstance(value, list) and all(isinstance(item, str) and item for item in value)),
    }[kind]
    if not ok:
        return f"{where} must be {_kind_name(kind)}, not {_describe(value)}"
    if key.choices and value not in key.choices:
        return f"{where} must be one of {', '.join(key.choices)}, got {value!r}"
    if kind == "url" and not re.match(r"https?://[^/\s]+", value):
        return f"{where} must be an http:// or https:// URL, got {value!r}"
    if key.low is not None and value < key.low:
        return f"{where} must be at least {key.low:g}, got {value!r}"
    if key.high is not None and value > key.high:
        return f"{where} must be at most {key.high:g}, got {value!r}"
    return None


def validate(data: JSONObject, error: type[Exception], where: str = "",
             line_of: Callable[[list[str]], int | None] | None = None) -> list[str]:
    """Check a whole config document; returns the unknown keys (for a warning), raises on bad values.

    `line_of` finds a key's line in the file's text, so a wrong value is reported like a
    syntax error: with where it stands.
    """
    unknown: list[str] = []

    def walk(node: JSONObject, prefix: list[str]) -> None:
        for name, value in node.items():
            path = [*prefix, name]
            dotted = ".".join(path)
            try:
                key = lookup(path)
            except UsageError:
                unknown.append(dotted)
                continue
            label = f"{where}{dotted}"
            if key.kind == "table":
                problem = None if isinstance(value, dict) else f"{label} must be a table, not {_describe(value)}"
            else:
                problem = _problem(key, value, label)
            if problem:
                line = line_of(path) if line_of is not None else None
                raise error(problem if line is None else f"{problem} (at line {line})")
            if key.kind == "table":
                walk(value, path)

    walk(data, [])
    return unknown


def _kind_name(kind: str) -> str:
    return {
        "str": "a string",
        "url": "a URL",
        "int": "an integer",
        "float": "a number",
        "bool": "true or false",
        "list": "a list of strings",
        "table": "a table",
        "approve": "true, false or a list of server__tool names",
    }[kind]


def _describe(value: JSON) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    return f"{type(value).__name__} {value!r}"
