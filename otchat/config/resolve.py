"""Settings resolution: flags > role > a continued conversation's route > --profile (or the
conversation's) > environment > default profile > file > defaults."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError, UsageError
from ..models import Prose
from ..seams import JSON, JSONObject
from . import schema
from .schema import DEFAULT_BASE_URL, DEFAULT_MODEL  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from ..mcp.specs import ServerSpec

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_KEY_CMD_TIMEOUT = 30.0
KEY_ENV = "OPENTOOLS_API_KEY"
# Environment variables that stand for config keys (between the two kinds of profile).
ENV_KEYS = {"model": "OTCHAT_MODEL", "base_url": "OTCHAT_BASE_URL"}
# Keys a flag can set; None in Flags means "not given".
FLAG_KEYS = ("model", "system", "base_url", "temperature", "max_tokens", "timeout", "retries")


@dataclass
class Flags:
    """Request settings given on the command line; None means "not given"."""

    model: str | None = None
    system: str | None = None
    tools: list[str] = field(default_factory=list)
    functions: list[JSONObject] = field(default_factory=list)
    tool_choice: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    options: JSONObject = field(default_factory=dict)
    stream: bool = True
    base_url: str | None = None
    timeout: float | None = None
    retries: int | None = None
    profile: str | None = None
    role: str | None = None
    no_tools: list[str] = field(default_factory=list)
    no_log: bool = False
    mcp: list[str] = field(default_factory=list)
    mcp_commands: list[str] = field(default_factory=list)
    no_mcp: bool = False  # none of the configured servers (--mcp-command ones still run)
    yes: bool = False
    max_tool_rounds: int | None = None
    # Several models at once (`-m` repeated, `--models`): the names as given, first = `model`.
    # Empty for one model, which behaves as it always did.
    models: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Held:
    """Where a continued conversation was held (`-c`, `--cid`, `/resume`): below the flags of the
    call, above the environment. `--profile` on the call replaces all three."""

    profile: str | None
    base_url: str | None
    model: str | None
    cid: str = ""  # the conversation's id, for messages


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one run; with the messages, all `request.build` needs."""

    model: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    system: str | None = None
    tools: list[JSONObject] = field(default_factory=list)
    tool_choice: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    options: JSONObject = field(default_factory=dict)
    stream: bool = True
    timeout: float = 300.0
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    retries: int = 2
    max_input_bytes: int = 10 * 1024 * 1024
    headers: dict[str, str] = field(default_factory=dict)
    profile: str | None = None
    role: str | None = None
    # Where the key comes from (see `keys.find_key`): None means "not set here". With a profile these
    # are its own sources and default_key_* config.toml's; without one, config.toml's.
    api_key_env: str | None = None
    api_key_cmd: str | None = None
    api_key_cmd_timeout: float = DEFAULT_KEY_CMD_TIMEOUT
    default_key_env: str | None = None
    default_key_cmd: str | None = None
    default_key_cmd_timeout: float = DEFAULT_KEY_CMD_TIMEOUT
    # Where the default key may go: the base URL resolved without a profile (None: `base_url` itself).
    default_base_url: str | None = None
    key_note: str | None = None  # why no key is sent (shown under -v)
    key_hint: str | None = None  # the hint of a rejected key (401/403): where the key sent came from
    log: bool = True
    mcp_servers: list[ServerSpec] = field(default_factory=list)  # started on demand
    auto_approve: bool | list[str] = False
    max_tool_rounds: int = 8
    ca_bundle: str | None = None
    links: str = "inline"  # where a markdown link's target shows (see term.markdown)
    soft_breaks: str = "keep"  # a single newline in prose: a line break ("keep") or a space ("join")
    # How a schema also goes as `response_format`: "json_schema", "json_object" (a server that takes
    # only that), or None (config key false, or a server that refuses the field).
    response_format: str | None = "json_schema"
    content_parts: bool = False  # a local tool's images go to the model as image parts
    schema: JSONObject | None = None  # --schema / /schema: set by the session, never resolved

    def tool_refs(self) -> list[str]:
        """The hosted tools in use (their registry refs)."""
        return [tool["ref"] for tool in self.tools if tool.get("type") == "mcp"]

    def tool_refs_text(self) -> str:
        return ", ".join(self.tool_refs() + sorted(self.declared_functions())) or "none"

    @property
    def prose(self) -> Prose:
        """How a terminal shows the model's markdown."""
        return Prose(self.links, self.soft_breaks)

    def declared_functions(self) -> set[str]:
        """Names of the function tools this client declared (and could answer)."""
        return {tool["function"]["name"] for tool in self.tools
                if tool.get("type") == "function" and isinstance(tool.get("function"), dict)}


def config_path(config_dir: Path) -> Path:
    return config_dir / "config.toml"


def load_file(path: Path, warn: Callable[[str], None] | None = None) -> JSONObject:
    """Read config.toml; a missing file is empty, a broken one a ConfigError (path and line)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    import tomllib  # only once there is a file: most runs before a request have none

    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}", hint="fix it with otchat config edit") from exc
    unknown = schema.validate(data, ConfigError, where=f"{path}: ", line_of=lambda parts: _find_line(text, parts))
    if unknown and warn is not None:
        warn(f"{path}: unknown key{'s' if len(unknown) > 1 else ''} ignored: {', '.join(unknown)}")
    return data


def _find_line(text: str, parts: list[str]) -> int | None:
    from .file import find_line  # only when a value is wrong: it is not needed to start

    return find_line(text, parts)


def choose_profile(flag: str | None, environ: Mapping[str, str], file: Mapping[str, JSON],
                   held: Held | None = None) -> tuple[str | None, str]:
    """The active profile and what chose it: "--profile", "the conversation", "OTCHAT_PROFILE" or
    "default_profile"."""
    profiles = file.get("profiles", {})
    if flag:
        name, source = flag, "--profile"
    elif held is not None:
        if held.profile is None:
            return None, ""  # held without a profile: it goes on without one
        name, source = held.profile, "the conversation"
        if name not in profiles:
            raise ConfigError(f"conversation {held.cid[:8]} was held with profile {name!r}, which config.toml"
                              " no longer has", hint="continue it with --profile NAME, or define the profile again")
    elif environ.get("OTCHAT_PROFILE"):
        name, source = environ["OTCHAT_PROFILE"], "OTCHAT_PROFILE"
    elif file.get("default_profile"):
        name, source = file["default_profile"], "default_profile"
    else:
        return None, ""
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none defined"
        error = UsageError if source == "--profile" else ConfigError
        raise error(f"unknown profile {name!r} (from {source}); known profiles: {known}")
    return name, source


@dataclass
class Sources:
    """Where settings come from, first match wins; `resolve` and `config list` both read it."""

    layers: list[tuple[str, Mapping[str, JSON]]]  # (what `config list` calls it, its values)
    profile_name: str | None
    profile: Mapping[str, JSON]
    role: Mapping[str, JSON]

    def pick(self, key: str) -> tuple[JSON, str]:
        """The value of a top-level key and the name of the layer it came from."""
        for source, layer in self.layers:
            value = layer.get(key)
            if value is not None:
                return value, source
        if key in schema.TOP and schema.TOP[key].default is not None:
            return schema.TOP[key].default, "default"
        return None, ""

    def merged(self, key: str) -> tuple[JSON, dict[str, str]]:
        """A key whose values add up over the layers (a list: tools; a table: headers),
        and for each item or name the layer that set it (for a table, the one that wins)."""
        total: JSONObject = {}
        origins: dict[str, str] = {}
        for source, layer in reversed(self.layers):
            value = layer.get(key)
            if isinstance(value, dict):
                total.update(value)
                origins.update(dict.fromkeys(value, source))
            elif isinstance(value, list):
                for item in value:
                    total.setdefault(item, item)
                    origins.setdefault(item, source)
        return (list(total) if schema.TOP[key].kind == "list" else total), origins


def sources(flags: Flags, environ: Mapping[str, str], file: Mapping[str, JSON], held: Held | None = None) -> Sources:
    """The precedence of the module docstring, in one place: layers in order, the first that sets a key wins."""
    held = None if flags.profile else held  # --profile replaces the conversation's profile, URL and model
    profile_name, chosen_by = choose_profile(flags.profile, environ, file, held)
    profile = file.get("profiles", {}).get(profile_name, {}) if profile_name else {}
    explicit = chosen_by in ("--profile", "the conversation")
    profile_layer = (f"profile {profile_name} ({chosen_by})", profile)
    # A role holds only role keys; others were reported as ignored when the file was read.
    role = {key: value for key, value in _role(flags.role, file).items() if key in schema.ROLE}
    layers: list[tuple[str, Mapping[str, JSON]]] = [
        ("flag", {key: getattr(flags, key) for key in FLAG_KEYS}),
        (f"role {flags.role}", role),
        ("the conversation", {"base_url": held.base_url, "model": held.model} if held else {}),
        profile_layer if explicit else ("", {}),
        # One layer per variable: each names itself, and they never set the same key.
        *((f"${var}", {key: environ[var]}) for key, var in ENV_KEYS.items() if environ.get(var)),
        ("", {}) if explicit else profile_layer,
        ("config.toml", file),
    ]
    return Sources(layers, profile_name, profile, role)


def resolve(flags: Flags, environ: Mapping[str, str], file: Mapping[str, JSON], held: Held | None = None) -> Settings:
    """Merge the sources by precedence; pure, so every combination is testable."""
    check_flags(flags)
    check_environ(environ)
    found = sources(flags, environ, file, held)
    own = found.profile if found.profile_name else file
    base_url = str(found.pick("base_url")[0]).rstrip("/")
    default_url = default_base_url(flags, environ, file)

    def pick(key: str) -> JSON:
        return found.pick(key)[0]

    refs = [*found.merged("tools")[0], *flags.tools]
    tools = [mcp_tool(ref) for ref in dict.fromkeys(refs) if ref not in flags.no_tools] + list(flags.functions)
    return Settings(
        model=model_id(pick("model"), file),
        base_url=base_url,
        system=pick("system"),
        tools=tools,
        tool_choice=flags.tool_choice,
        temperature=pick("temperature"),
        max_tokens=pick("max_tokens"),
        options=dict(flags.options),
        stream=flags.stream,
        timeout=float(pick("timeout")),
        retries=int(pick("retries")),
        max_input_bytes=int(pick("max_input_bytes")),
        headers=_headers(found, same_host(base_url, default_url)),
        profile=found.profile_name,
        role=flags.role,
        api_key_env=own.get("api_key_env"),
        api_key_cmd=own.get("api_key_cmd"),
        api_key_cmd_timeout=float(own.get("api_key_cmd_timeout", file.get("api_key_cmd_timeout",
                                                                          DEFAULT_KEY_CMD_TIMEOUT))),
        default_key_env=file.get("api_key_env"),
        default_key_cmd=file.get("api_key_cmd"),
        default_key_cmd_timeout=float(file.get("api_key_cmd_timeout", DEFAULT_KEY_CMD_TIMEOUT)),
        default_base_url=default_url,
        log=bool(pick("log")) and not flags.no_log,
        mcp_servers=_mcp_servers(flags, file),
        auto_approve=True if flags.yes else pick("auto_approve"),
        max_tool_rounds=int(flags.max_tool_rounds or pick("max_tool_rounds")),
        ca_bundle=pick("ca_bundle"),
        links=pick("links"),
        soft_breaks=pick("soft_breaks"),
        response_format="json_schema" if pick("response_format") else None,
        content_parts=bool(pick("content_parts")),
    )


def default_base_url(flags: Flags, environ: Mapping[str, str], file: Mapping[str, JSON]) -> str:
    """The base URL resolved without a profile (nor a conversation's): the one the default key
    and config.toml's secret headers may go to."""
    url = flags.base_url or environ.get(ENV_KEYS["base_url"]) or file.get("base_url") or DEFAULT_BASE_URL
    return str(url).rstrip("/")


def same_host(url: str, other: str) -> bool:
    """Whether two URLs name one origin: the same scheme, host and port."""
    from urllib.parse import urlsplit

    def origin(text: str) -> tuple[str, str, int | None]:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        try:
            port = parts.port
        except ValueError:
            port = None
        return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)

    return origin(url) == origin(other)


def default_host(settings: Settings) -> bool:
    """May the default key go to the settings' base URL?"""
    return settings.default_base_url is None or same_host(settings.base_url, settings.default_base_url)


def _headers(found: Sources, default: bool) -> dict[str, str]:
    """The headers of every layer; config.toml's secret ones only for the default base URL."""
    from .redact import is_secret_header

    headers, origins = found.merged("headers")
    return {name: value for name, value in headers.items()
            if default or origins[name] != "config.toml" or not is_secret_header(name)}


def model_id(name: str, file: Mapping[str, JSON]) -> str:
    """The model id a name stands for: an alias from config.toml's [aliases], or the name itself."""
    aliases: Mapping[str, str] = file.get("aliases", {})
    return aliases.get(name, name)


def check_flags(flags: Flags) -> None:
    """Flag values held to the bounds of their config keys (a UsageError naming the flag)."""
    for key in (*FLAG_KEYS, "max_tool_rounds"):
        value = getattr(flags, key)
        if value is not None:
            schema.check_value(schema.TOP[key], value, "--" + key.replace("_", "-"), UsageError)
    for name in flags.models:
        schema.check_value(schema.TOP["model"], name, "--model", UsageError)


def check_environ(environ: Mapping[str, str]) -> None:
    """The variables' values held to their config keys' types, as config.toml's are (a ConfigError
    naming the variable)."""
    for key, var in ENV_KEYS.items():
        value = environ.get(var)
        if value:
            schema.check_value(schema.TOP[key], value, f"${var}", ConfigError)


def _mcp_servers(flags: Flags, file: Mapping[str, JSON]) -> list[ServerSpec]:
    """Configured servers that are enabled or named with --mcp (none with --no-mcp), then --mcp-command ones."""
    if flags.no_mcp and flags.mcp:
        raise UsageError("--no-mcp and --mcp contradict each other")
    configured = {} if flags.no_mcp else file.get("mcp", {}).get("servers", {})
    if not configured and not flags.mcp and not flags.mcp_commands:
        return []
    from ..mcp.specs import parse_command, specs_from_config

    for name in flags.mcp:
        if name not in configured:
            known = ", ".join(sorted(configured)) or "none configured"
            raise UsageError(f"unknown MCP server {name!r}; configured servers: {known}")
    specs = [spec for spec in specs_from_config(configured) if spec.enabled or spec.name in flags.mcp]
    specs += [parse_command(text) for text in flags.mcp_commands]
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UsageError(f"two MCP servers are named {duplicates[0]!r}; name one with --mcp-command 'NAME=CMD'")
    return specs


def _role(name: str | None, file: Mapping[str, JSON]) -> Mapping[str, JSON]:
    if not name:
        return {}
    roles = file.get("roles", {})
    if name not in roles:
        known = ", ".join(sorted(roles)) or "none defined"
        raise UsageError(f"unknown role {name!r}; known roles: {known}")
    role: Mapping[str, JSON] = roles[name]
    return role


def mcp_tool(ref: str) -> JSONObject:
    return {"type": "mcp", "ref": ref}
