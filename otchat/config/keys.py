"""The API key a run's host may get: a profile's own source, or the default key (which goes only
to the default base URL); and api_key_cmd, run in a process group of its own under a time limit."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from .credentials import credentials_path, read_credentials
from .resolve import KEY_ENV, Settings, default_host

CMD_TIMEOUT = 30.0


@dataclass
class FoundKey:
    value: str | None = field(repr=False)
    source: str  # where it comes from, as `auth status` says it (never the command's text)
    missing: bool = False  # the default key was wanted and nothing holds one
    withheld: str | None = None  # why this host gets no key (said under -v)
    renew: str | None = None  # the command that replaces a stored key


def rejected_hint(found: FoundKey, profile: str | None) -> str:
    """The hint of a 401/403: where the key sent came from, or that none was."""
    if found.value is None:
        return "no API key was sent; see otchat auth status" + (f" --profile {profile}" if profile else "")
    return f"check the key in {found.source}" + (f"; {found.renew} replaces it" if found.renew else "")


def find_key(settings: Settings, environ: Mapping[str, str], config_dir: Path, *, run_command: bool = True) -> FoundKey:
    """The key for `settings.base_url`. A profile's own source wins: its api_key_env > a key stored
    with `auth login --profile` > its api_key_cmd. Else the default key: api_key_env in config.toml >
    OPENTOOLS_API_KEY > the credentials file > api_key_cmd in config.toml; it goes only to the
    default base URL, so a profile on another host with no key of its own sends none.

    With `run_command=False` (a dry run) api_key_cmd is not run; a placeholder stands in.
    """
    if settings.profile:
        own = _own_key(settings, environ, config_dir, run_command)
        if own is not None:
            return own
    if not default_host(settings):
        whose = f"profile {settings.profile!r}" if settings.profile else "this conversation"
        why = (f"no API key sent: {whose} goes to {settings.base_url} and has no key of its own"
               f" (the default key goes only to {settings.default_base_url})")
        return FoundKey(None, f"none ({why})", withheld=why)
    return _default_key(settings, environ, config_dir, run_command)


def _own_key(settings: Settings, environ: Mapping[str, str], config_dir: Path, run_command: bool) -> FoundKey | None:
    """The active profile's own key (None: it has no source of its own)."""
    where = f"profile {settings.profile!r}"
    if settings.api_key_env is not None:
        return _from_env(settings.api_key_env, environ, where)
    path = credentials_path(config_dir)
    stored = read_credentials(path, settings.profile)
    if stored:
        return FoundKey(stored, f"credentials file {path} (profile {settings.profile})",
                        renew=f"otchat auth login --profile {settings.profile}")
    if settings.api_key_cmd:
        label = f"api_key_cmd of {where}"
        return _from_command(settings.api_key_cmd, settings.api_key_cmd_timeout, label, run_command,
                             f"profiles.{settings.profile}.api_key_cmd_timeout")
    return None


def _default_key(settings: Settings, environ: Mapping[str, str], config_dir: Path, run_command: bool) -> FoundKey:
    """The default key, from config.toml's sources and the environment."""
    # Without a profile the settings' own sources are config.toml's.
    name, command, timeout = ((settings.default_key_env, settings.default_key_cmd, settings.default_key_cmd_timeout)
                              if settings.profile else
                              (settings.api_key_env, settings.api_key_cmd, settings.api_key_cmd_timeout))
    if name is not None:
        return _from_env(name, environ, "config.toml")
    if environ.get(KEY_ENV):
        return FoundKey(environ[KEY_ENV].strip(), f"${KEY_ENV}")
    path = credentials_path(config_dir)
    stored = read_credentials(path)
    if stored:
        return FoundKey(stored, f"credentials file {path}", renew="otchat auth login")
    if command:
        return _from_command(command, timeout, "api_key_cmd", run_command)
    return FoundKey(None, "none", missing=True)


def _from_env(name: str, environ: Mapping[str, str], where: str) -> FoundKey:
    if name == "":
        return FoundKey(None, f"none (api_key_env is empty in {where})")
    value = environ.get(name)
    if not value:
        raise ConfigError(f"{where} reads the API key from ${name}, which is not set")
    return FoundKey(value.strip(), f"${name} (api_key_env of {where})")


def _from_command(command: str, timeout: float, label: str, run_command: bool,
                  timeout_key: str = "api_key_cmd_timeout") -> FoundKey:
    source = label if label != "api_key_cmd" else "api_key_cmd (config.toml)"
    if not run_command:
        return FoundKey("<api_key_cmd>", source)
    return FoundKey(run_key_command(command, timeout, label, timeout_key), source)


def run_key_command(command: str, timeout: float = CMD_TIMEOUT, label: str = "api_key_cmd",
                    timeout_key: str = "api_key_cmd_timeout") -> str:
    """The first line the command prints. It runs in a session of its own, so at the time limit (or
    on Ctrl-C) its whole process group is killed: a shell's children would keep the pipe open.
    Errors name `label` (the config key), never the command's text, which may hold a key; the
    hint of a timeout names `timeout_key`, the limit's."""
    try:
        proc = subprocess.Popen(command, shell=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        raise ConfigError(f"{label} could not be started: {exc.strerror or exc}") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise ConfigError(f"{label} did not finish within {timeout:g} s", hint=f"raise {timeout_key}") from None
    except BaseException:
        _kill_group(proc)
        raise
    if proc.returncode != 0:
        detail = err.decode("utf-8", "replace").strip().splitlines()
        reason = f": {detail[-1]}" if detail else ""
        raise ConfigError(f"{label} failed with exit status {proc.returncode}{reason}")
    lines = out.decode("utf-8", "replace").splitlines()
    key = lines[0].strip() if lines else ""
    if not key:
        raise ConfigError(f"{label} printed no key")
    return key


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the command and everything it started, then reap it without reading its pipes."""
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # already gone
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    proc.wait()
