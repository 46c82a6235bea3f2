"""`otchat auth login|status|logout`: the stored API key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from ..config.redact import mask
from ..config.resolve import KEY_ENV, Flags, choose_profile, config_path, load_file
from ..env import Env
from ..errors import ExitCode, UsageError
from .group import env_of, new_group
from .options import ProfileOpt

app = new_group("Store, check or remove the API key (the default one, or a profile's own).")


@app.command("login")
def login(ctx: typer.Context, profile: ProfileOpt = None) -> int:
    """Store the API key (typed hidden, or piped on stdin) in a private credentials file; with
    --profile, a key of that profile's own (sent only where the profile goes)."""
    from ..term.prompts import read_hidden

    return auth_login(env_of(ctx), read_hidden=read_hidden, profile=profile)


@app.command("status")
def status(ctx: typer.Context, profile: ProfileOpt = None) -> int:
    """Say which key a run would send, and where it comes from, masked."""
    return auth_status(env_of(ctx), profile)


@app.command("logout")
def logout(ctx: typer.Context, profile: ProfileOpt = None) -> int:
    """Remove the stored key (with --profile: that profile's)."""
    return auth_logout(env_of(ctx), profile)


def _profile(env: Env, name: str | None) -> dict[str, Any]:
    """The config of profile `name` ({} for none); an unknown one is a usage error naming the known."""
    file = load_file(config_path(env.config_dir), warn=env.warn)
    if name is None:
        return {}
    choose_profile(name, {}, file)
    profile: dict[str, Any] = file["profiles"][name]
    return profile


def auth_login(env: Env, read_hidden: Callable[[str], str] | None = None, profile: str | None = None) -> int:
    from ..config.credentials import credentials_path, write_credentials

    own = _profile(env, profile)
    whose = f"profile {profile}'s" if profile else "OpenTools"
    if env.stdin_isatty and read_hidden is not None:
        key = read_hidden(f"{whose} API key (input hidden): ")
    elif env.stdin is not None and not env.stdin_isatty:
        key = env.stdin.readline(64 * 1024).decode("utf-8", "replace")
    else:
        raise UsageError("no key given", hint="pipe it in: … | otchat auth login")
    key = key.strip()
    if not key:
        raise UsageError("no key given; nothing stored")
    if any(ch.isspace() for ch in key):
        raise UsageError("that does not look like an API key (it contains spaces); nothing stored")
    env.secrets.add(key)
    path = credentials_path(env.config_dir)
    write_credentials(path, key, profile)
    env.stderr.write(f"Stored the key ({mask(key)}){f' of profile {profile}' if profile else ''} in {path}\n")
    if profile and own.get("api_key_env") is not None:
        env.warn(f"profile {profile}'s api_key_env takes precedence over the stored key")
    elif not profile and env.environ.get(KEY_ENV):
        env.warn(f"${KEY_ENV} is set and takes precedence over the stored key")
    return ExitCode.OK


def auth_status(env: Env, profile: str | None) -> int:
    from ..config.credentials import credentials_path, loose_permissions
    from ..config.keys import find_key
    from ..config.resolve import resolve

    settings = resolve(Flags(profile=profile), env.environ, load_file(config_path(env.config_dir), warn=env.warn))
    found = find_key(settings, env.environ, env.config_dir)
    if found.value:
        env.secrets.add(found.value)
    path = credentials_path(env.config_dir)
    if loose_permissions(path):
        env.warn(f"{path} is readable by others; run: chmod 600 {path}")
    where = f" (profile {settings.profile})" if settings.profile else ""
    env.out(f"endpoint: {settings.base_url}{where}")
    env.out(f"key: {mask(found.value) if found.value else 'none'}")
    env.out(f"source: {found.source}")
    if found.missing:
        env.error(f"no API key: set {KEY_ENV} or run otchat auth login")
        return ExitCode.CONFIG
    return ExitCode.OK


def auth_logout(env: Env, profile: str | None = None) -> int:
    from ..config.credentials import credentials_path, remove_credentials

    path = credentials_path(env.config_dir)
    if not remove_credentials(path, profile):
        why = f"profile {profile} has no key in {path}" if profile else f"{path} holds no default key"
        env.stderr.write(f"No stored key ({why})\n")
        return ExitCode.OK
    env.stderr.write(f"Removed the key{f' of profile {profile}' if profile else ''} from {path}\n"
                     if path.exists() else f"Removed {path}\n")
    if not profile and env.environ.get(KEY_ENV):
        env.warn(f"${KEY_ENV} is still set in this environment")
    return ExitCode.OK
