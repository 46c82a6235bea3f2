"""Settings resolution: flags > role > --profile > environment > default profile > file > defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import schema
from .errors import ConfigError, UsageError
from .schema import DEFAULT_BASE_URL, DEFAULT_MODEL  # noqa: F401  (re-exported)

DEFAULT_CONNECT_TIMEOUT = 10.0
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
    functions: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
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
    yes: bool = False
    max_tool_rounds: int | None = None


@dataclass
class Settings:
    """The resolved settings of one run; with the messages, all `request.build` needs."""

    model: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    system: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    stream: bool = True
    timeout: float = 300.0
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    retries: int = 2
    max_input_bytes: int = 10 * 1024 * 1024
    headers: dict[str, str] = field(default_factory=dict)
    profile: str | None = None
    role: str | None = None
    # Where the key comes from (see `auth.find_key`): None means "not set here".
    api_key_env: str | None = None
    api_key_cmd: str | None = None
    log: bool = True
    mcp_servers: list[Any] = field(default_factory=list)  # mcphub.ServerSpec, started on demand
    auto_approve: bool | list[str] = False
    max_tool_rounds: int = 8
    ca_bundle: str | None = None
    links: str = "inline"  # where a markdown link's target shows (see mdtokens)

    def declared_functions(self) -> set[str]:
        """Names of the function tools this client declared (and could answer)."""
        return {
            tool["function"]["name"]
            for tool in self.tools
            if tool.get("type") == "function" and isinstance(tool.get("function"), dict)
        }


def config_path(config_dir: Path) -> Path:
    return config_dir / "config.toml"


def load_file(path: Path, warn: Any = None) -> dict[str, Any]:
    """Read config.toml; a missing file is empty, a broken one a ConfigError (path and line)."""
    import tomllib

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}", hint="fix it with otchat config edit") from exc
    unknown = schema.validate(data, ConfigError, where=f"{path}: ")
    if unknown and warn is not None:
        warn(f"{path}: unknown key{'s' if len(unknown) > 1 else ''} ignored: {', '.join(unknown)}")
    return data


def choose_profile(flag: str | None, environ: Mapping[str, str], file: Mapping[str, Any]) -> tuple[str | None, bool]:
    """The active profile and whether it was chosen explicitly (with --profile)."""
    profiles = file.get("profiles", {})
    if flag:
        name, explicit, source = flag, True, "--profile"
    elif environ.get("OTCHAT_PROFILE"):
        name, explicit, source = environ["OTCHAT_PROFILE"], False, "OTCHAT_PROFILE"
    elif file.get("default_profile"):
        name, explicit, source = file["default_profile"], False, "default_profile"
    else:
        return None, False
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none defined"
        error = UsageError if explicit else ConfigError
        raise error(f"unknown profile {name!r} (from {source}); known profiles: {known}")
    return name, explicit


def resolve(flags: Flags, environ: Mapping[str, str], file: Mapping[str, Any]) -> Settings:
    """Merge the sources by precedence; pure, so every combination is testable."""
    check_flags(flags)
    profile_name, explicit = choose_profile(flags.profile, environ, file)
    profile = file.get("profiles", {}).get(profile_name, {}) if profile_name else {}
    role = _role(flags.role, file)
    flag_layer = {key: getattr(flags, key) for key in FLAG_KEYS}
    env_layer = {key: environ[var] for key, var in ENV_KEYS.items() if environ.get(var)}
    layers: list[Mapping[str, Any]] = [
        flag_layer,
        role,
        profile if explicit else {},
        env_layer,
        {} if explicit else profile,
        file,
    ]

    def pick(key: str) -> Any:
        for layer in layers:
            value = layer.get(key)
            if value is not None:
                return value
        return schema.TOP[key].default if key in schema.TOP else None

    refs = [*file.get("tools", []), *profile.get("tools", []), *role.get("tools", []), *flags.tools]
    tools = [mcp_tool(ref) for ref in dict.fromkeys(refs) if ref not in flags.no_tools] + list(flags.functions)
    model = pick("model")
    aliases = file.get("aliases", {})
    return Settings(
        model=aliases.get(model, model),
        base_url=str(pick("base_url")).rstrip("/"),
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
        headers={**file.get("headers", {}), **profile.get("headers", {})},
        profile=profile_name,
        role=flags.role,
        api_key_env=profile.get("api_key_env", file.get("api_key_env")),
        api_key_cmd=profile.get("api_key_cmd", file.get("api_key_cmd")),
        log=bool(pick("log")) and not flags.no_log,
        mcp_servers=_mcp_servers(flags, file),
        auto_approve=True if flags.yes else pick("auto_approve"),
        max_tool_rounds=int(flags.max_tool_rounds or pick("max_tool_rounds")),
        ca_bundle=pick("ca_bundle"),
        links=pick("links"),
    )


def check_flags(flags: Flags) -> None:
    """Flag values held to the bounds of their config keys (a UsageError naming the flag)."""
    for key in (*FLAG_KEYS, "max_tool_rounds"):
        value = getattr(flags, key)
        if value is not None:
            schema.check_value(schema.TOP[key], value, "--" + key.replace("_", "-"), UsageError)


def _mcp_servers(flags: Flags, file: Mapping[str, Any]) -> list[Any]:
    """Configured servers that are enabled or named with --mcp, then --mcp-command ones."""
    configured = file.get("mcp", {}).get("servers", {})
    if not configured and not flags.mcp and not flags.mcp_commands:
        return []
    from .mcphub import parse_command, specs_from_config

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


def _role(name: str | None, file: Mapping[str, Any]) -> Mapping[str, Any]:
    if not name:
        return {}
    roles = file.get("roles", {})
    if name not in roles:
        known = ", ".join(sorted(roles)) or "none defined"
        raise UsageError(f"unknown role {name!r}; known roles: {known}")
    return roles[name]


def mcp_tool(ref: str) -> dict[str, Any]:
    return {"type": "mcp", "ref": ref}
