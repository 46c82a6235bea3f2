"""Settings resolution: flags > environment > config.toml > built-in defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError

DEFAULT_BASE_URL = "https://api.opentools.com/v1"
DEFAULT_MODEL = "anthropic/claude-3.7-sonnet"
DEFAULT_TIMEOUT = 300.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_RETRIES = 2
DEFAULT_MAX_INPUT_BYTES = 10 * 1024 * 1024
KEY_ENV = "OPENTOOLS_API_KEY"

# Keys config.toml may hold today, with the type each must have.
FILE_KEYS: dict[str, tuple[type, ...]] = {
    "model": (str,),
    "base_url": (str,),
    "system": (str,),
    "temperature": (int, float),
    "max_tokens": (int,),
    "tools": (list,),
    "timeout": (int, float),
    "retries": (int,),
    "max_input_bytes": (int,),
}


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


@dataclass
class Settings:
    """The resolved settings of one run; the only input of `request.build` besides messages."""

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
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES

    def declared_functions(self) -> set[str]:
        """Names of the function tools this client declared (and could answer)."""
        return {
            tool["function"]["name"]
            for tool in self.tools
            if tool.get("type") == "function" and isinstance(tool.get("function"), dict)
        }


def config_path(config_dir: Path) -> Path:
    return config_dir / "config.toml"


def load_file(path: Path) -> dict[str, Any]:
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
        raise ConfigError(f"{path}: invalid TOML: {exc}", hint="fix or remove the file") from exc
    _check_types(path, data)
    return data


def _check_types(path: Path, data: dict[str, Any]) -> None:
    for key, types in FILE_KEYS.items():
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, types):
            wanted = " or ".join(t.__name__ for t in types)
            raise ConfigError(f"{path}: {key} must be {wanted}, not {type(value).__name__}")
    tools = data.get("tools", [])
    if not all(isinstance(ref, str) and ref for ref in tools):
        raise ConfigError(f"{path}: tools must be a list of tool refs (strings)")


def resolve(flags: Flags, environ: Mapping[str, str], file: Mapping[str, Any]) -> Settings:
    """Merge the sources by precedence; pure, so every combination is testable."""

    def pick(flag: Any, env_name: str | None, key: str, default: Any) -> Any:
        if flag is not None:
            return flag
        if env_name and environ.get(env_name):
            return environ[env_name]
        if key in file:
            return file[key]
        return default

    tools = [mcp_tool(ref) for ref in [*file.get("tools", []), *flags.tools]]
    tools = _unique(tools) + list(flags.functions)
    return Settings(
        model=pick(flags.model, "OTCHAT_MODEL", "model", DEFAULT_MODEL),
        base_url=pick(flags.base_url, "OTCHAT_BASE_URL", "base_url", DEFAULT_BASE_URL).rstrip("/"),
        api_key=environ.get(KEY_ENV) or None,
        system=pick(flags.system, None, "system", None),
        tools=tools,
        tool_choice=flags.tool_choice,
        temperature=pick(flags.temperature, None, "temperature", None),
        max_tokens=pick(flags.max_tokens, None, "max_tokens", None),
        options=dict(flags.options),
        stream=flags.stream,
        timeout=float(pick(flags.timeout, None, "timeout", DEFAULT_TIMEOUT)),
        retries=int(pick(flags.retries, None, "retries", DEFAULT_RETRIES)),
        max_input_bytes=int(file.get("max_input_bytes", DEFAULT_MAX_INPUT_BYTES)),
    )


def mcp_tool(ref: str) -> dict[str, Any]:
    return {"type": "mcp", "ref": ref}


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out
