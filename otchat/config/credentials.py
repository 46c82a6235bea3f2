"""The private credentials file (0600): the default key, and one key per profile (`auth login --profile`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..files import write_atomic

CREDENTIALS = "credentials"


def credentials_path(config_dir: Path) -> Path:
    return config_dir / CREDENTIALS


def read_credentials(path: Path, profile: str | None = None) -> str | None:
    """The stored default key, or with `profile` that profile's own (None: none stored)."""
    data = _read(path)
    if profile is not None:
        profiles = data.get("profiles")
        data = profiles.get(profile, {}) if isinstance(profiles, dict) else {}
        if not isinstance(data, dict):
            return None
    value = data.get("api_key")
    return value.strip() if isinstance(value, str) and value.strip() else None


def stored_profiles(path: Path) -> list[str]:
    """The profiles that have a key of their own in the file."""
    profiles = _read(path).get("profiles")
    return sorted(name for name in profiles if read_credentials(path, name)) if isinstance(profiles, dict) else []


def write_credentials(path: Path, key: str, profile: str | None = None) -> None:
    """Store the default key (or `profile`'s) in a file only its owner can read (0600), in a 0700
    directory; the other keys the file holds stay. A damaged file is replaced, not read."""
    try:
        data = _keys(_read(path))
    except ConfigError:
        data = {"api_key": None, "profiles": {}}  # unreadable anyway: logging in again is the cure
    if profile is None:
        data["api_key"] = key
    else:
        data["profiles"][profile] = key
    _write(path, data)


def remove_credentials(path: Path, profile: str | None = None) -> bool:
    """Forget the default key (or `profile`'s); the file goes when it holds no key. False: none was stored."""
    if not path.exists():
        return False
    try:
        data = _keys(_read(path))
    except ConfigError:
        if profile is not None:
            raise
        path.unlink()  # a damaged file holds nothing usable: logging out removes it
        return True
    if profile is None:
        found, data["api_key"] = data["api_key"] is not None, None
    else:
        found = data["profiles"].pop(profile, None) is not None
    if found:
        _write(path, data)
    return found


def loose_permissions(path: Path) -> bool:
    """True when someone besides the owner can read or write the file."""
    try:
        return bool(os.stat(path).st_mode & 0o077)
    except FileNotFoundError:
        return False


def _read(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        raise ConfigError(f"{path} is damaged", hint="run otchat auth login again") from None


def _keys(data: dict[str, Any]) -> dict[str, Any]:
    """The file's keys only: {"api_key": str | None, "profiles": {name: key}}."""
    value = data.get("api_key")
    profiles = data.get("profiles")
    own = {name: entry["api_key"] for name, entry in profiles.items()
           if isinstance(entry, dict) and isinstance(entry.get("api_key"), str)} if isinstance(profiles, dict) else {}
    return {"api_key": value if isinstance(value, str) else None, "profiles": own}


def _write(path: Path, data: dict[str, Any]) -> None:
    if data["api_key"] is None and not data["profiles"]:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # json.dumps gives a valid TOML basic string (a value, or a quoted key) for any text.
    lines = ["# otchat API keys; keep this file private"]
    if data["api_key"] is not None:
        lines.append(f"api_key = {json.dumps(data['api_key'], ensure_ascii=False)}")
    for name, key in sorted(data["profiles"].items()):
        lines += ["", f"[profiles.{json.dumps(name, ensure_ascii=False)}]",
                  f"api_key = {json.dumps(key, ensure_ascii=False)}"]
    write_atomic(path, "\n".join(lines) + "\n", mode=0o600)
