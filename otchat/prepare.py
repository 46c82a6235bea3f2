"""A run's start: the config file, where a continued conversation was held, the settings they
resolve to, and the key their host may get: the default key (OPENTOOLS_API_KEY, the
credentials file, a top-level api_key_cmd) only to the base URL resolved without a profile,
a profile on another host only its own (README, "The API key")."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .config import resolve as config
from .config.redact import is_secret_header
from .config.resolve import Flags, Held, Settings
from .env import Env
from .errors import ConfigError
from .plan import Mode, Resume


@dataclass(frozen=True)
class Setup:
    """What a run starts from: its flags and config file, where a continued conversation was held,
    and the settings they resolve to."""

    flags: Flags
    file: dict[str, Any]
    settings: Settings
    held: Held | None = None
    need_key: bool = True
    mode: Mode = field(default_factory=Mode)


def settings_for(env: Env, flags: Flags, file: dict[str, Any], key: str | None, held: Held | None = None,
                 mode: Mode | None = None) -> Settings:
    """Flags + environment + config file (+ a continued conversation's route, + the mode's own
    role and system prompt) → Settings, with the key: the one place a run resolves."""
    roles = file.get("roles", {})
    if mode is not None and mode.role is not None and flags.role is None and mode.role in roles:
        flags = dataclasses.replace(flags, role=mode.role)
    settings = config.resolve(flags, env.environ, file, held)
    if mode is not None and mode.system is not None:  # the mode's prompt, not config.toml's top-level one
        role_system = roles.get(flags.role, {}).get("system") if flags.role else None
        settings = dataclasses.replace(settings, system=flags.system or role_system or mode.system)
    return dataclasses.replace(settings, api_key=key)


def prepare(env: Env, flags: Flags, *, need_key: bool = True, resume: Resume | None = None,
            mode: Mode | None = None) -> Setup:
    """Config file + environment + flags, the route of the conversation `resume` continues, and
    the key for the host they resolve to (required unless `need_key` is False).

    A dry run still shows which key would be sent (redacted) but never runs api_key_cmd.
    """
    file = config.load_file(config.config_path(env.config_dir), warn=env.warn)
    held = None
    if resume is not None:
        from .store.recorder import held_route

        held = held_route(env, resume.ref)
    settings = with_key(env, settings_for(env, flags, file, None, held, mode), need_key=need_key)
    return Setup(flags, file, settings, held, need_key, mode or Mode())


def with_key(env: Env, settings: Settings, *, need_key: bool = True) -> Settings:
    """`settings` with the key its host may get (see the module's docstring), kept out of all output."""
    from .config.keys import find_key, rejected_hint

    found = find_key(settings, env.environ, env.config_dir, run_command=need_key)
    settings = dataclasses.replace(settings, api_key=found.value, key_note=found.withheld,
                                   key_hint=rejected_hint(found, settings.profile))
    if found.value:
        env.secrets.add(found.value)
    env.secrets.update(value for name, value in settings.headers.items() if is_secret_header(name))
    if need_key and found.missing:
        raise ConfigError(f"no API key: set {config.KEY_ENV} or run otchat auth login")
    return settings


def key_route(settings: Settings) -> tuple[Any, ...]:
    """What decides which key a run sends: two settings alike here send the same one."""
    return (settings.profile, settings.api_key_env, settings.api_key_cmd, config.default_host(settings))


def load_settings(env: Env, flags: Flags, *, need_key: bool = True) -> Settings:
    return prepare(env, flags, need_key=need_key).settings
