"""The API key: where it comes from, and the private credentials file that can hold it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..files import write_atomic
from .resolve import KEY_ENV, Settings

CREDENTIALS = "credentials"
CMD_TIMEOUT = 30


@dataclass
class FoundKey:
    value: str | None = field(repr=False)
    source: str


def credentials_path(config_dir: Path) -> Path:
    return config_dir / CREDENTIALS


def find_key(settings: Settings, environ: Mapping[str, str], config_dir: Path, *, run_command: bool = True) -> FoundKey:
    """The key by precedence: the profile's api_key_env > OPENTOOLS_API_KEY > credentials file > api_key_cmd.

    With `run_command=False` (a dry run) api_key_cmd is not run; a placeholder stands in.
    """
    where = f"profile {settings.profile!r}" if settings.profile else "config.toml"
    if settings.api_key_env is not None:
        name = settings.api_key_env
        if name == "":
            return FoundKey(None, f"none (api_key_env is empty in {where})")
        value = environ.get(name)
        if not value:
            raise ConfigError(f"{where} reads the API key from ${name}, which is not set")
        return FoundKey(value.strip(), f"${name} (api_key_env of {where})")
    if environ.get(KEY_ENV):
        return FoundKey(environ[KEY_ENV].strip(), f"${KEY_ENV}")
    path = credentials_path(config_dir)
    stored = read_credentials(path)
    if stored:
        return FoundKey(stored, f"credentials file {path}")
    if settings.api_key_cmd:
        if not run_command:
            return FoundKey("<api_key_cmd>", f"api_key_cmd ({settings.api_key_cmd})")
        return FoundKey(run_key_command(settings.api_key_cmd), f"api_key_cmd ({settings.api_key_cmd})")
    return FoundKey(None, "none")


def run_key_command(command: str) -> str:
    try:
        proc = subprocess.run(command, shell=True, capture_output=True, timeout=CMD_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False)  # its status is reported below
    except subprocess.TimeoutExpired:
        raise ConfigError(f"api_key_cmd did not finish within {CMD_TIMEOUT} s: {command}") from None
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = f": {detail[-1]}" if detail else ""
        raise ConfigError(f"api_key_cmd failed with exit status {proc.returncode}{reason}")
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    key = lines[0].strip() if lines else ""
    if not key:
        raise ConfigError(f"api_key_cmd printed no key: {command}")
    return key


def read_credentials(path: Path) -> str | None:
    import tomllib

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        value = tomllib.loads(raw.decode("utf-8")).get("api_key")
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        raise ConfigError(f"{path} is damaged", hint="run otchat auth login again") from None
    return value.strip() if isinstance(value, str) and value.strip() else None


def write_credentials(path: Path, key: str) -> None:
    """Store the key in a file only its owner can read (0600), in a 0700 directory."""
    import json

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # json.dumps gives a valid TOML basic string for any key text.
    text = f"# otchat API key; keep this file private\napi_key = {json.dumps(key, ensure_ascii=False)}\n"
    write_atomic(path, text, mode=0o600)


def loose_permissions(path: Path) -> bool:
    """True when someone besides the owner can read or write the file."""
    try:
        return bool(os.stat(path).st_mode & 0o077)
    except FileNotFoundError:
        return False
