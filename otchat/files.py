"""Atomic, permission-aware file writes: a crash or a full disk never leaves half a file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


def write_atomic(path: Path, text: str, *, mode: int | None = None, make_dirs: bool = True) -> None:
    """Write `text` to a temp file beside `path`, fsync it, then rename it over `path`.

    The new file keeps the old one's permissions unless `mode` is given; a new file
    without `mode` gets the default (umask) permissions. `make_dirs` False: a missing
    directory is an error (a file the user named goes where they said, or nowhere).
    """
    if make_dirs:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    elif not path.parent.is_dir():
        raise FileNotFoundError(2, f"no directory {path.parent}")
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


FALLBACK_EDITORS = ("/usr/bin/editor", "/usr/bin/nano", "/usr/bin/vi")


def run_editor(path: Path, environ: Mapping[str, str]) -> int:
    """Open `path` in $VISUAL, $EDITOR or a common editor; the editor's exit status."""
    import shlex
    import subprocess

    from .errors import UsageError

    for editor in (environ.get("VISUAL"), environ.get("EDITOR"), *FALLBACK_EDITORS):
        if editor:
            try:
                return subprocess.call([*shlex.split(editor), str(path)])
            except OSError:
                continue
    raise UsageError("no editor found", hint="set VISUAL or EDITOR")


def edit_text(initial: str, environ: Mapping[str, str], suffix: str = ".md") -> str | None:
    """Let the user edit `initial` in their editor; None when the editor failed."""
    fd, name = tempfile.mkstemp(prefix="otchat-", suffix=suffix)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(initial)
        if run_editor(path, environ) != 0:
            return None
        return path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)
