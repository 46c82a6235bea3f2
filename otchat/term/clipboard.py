"""Copying text to the user's clipboard: a local tool when one fits, else the terminal's OSC 52."""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Callable, Mapping
from typing import Literal

Method = Literal["wl-copy", "xclip", "pbcopy", "OSC 52"]
Run = Callable[..., "subprocess.CompletedProcess[bytes]"]

# The session is on another machine: its clipboard tools would fill that machine's clipboard.
_REMOTE = ("SSH_CONNECTION", "SSH_TTY", "SSH_CLIENT")


def copy(
    text: str,
    environ: Mapping[str, str],
    *,
    run: Run = subprocess.run,
    which: Callable[[str], str | None] = shutil.which,
    write_tty: Callable[[bytes], None] | None = None,
) -> Method:
    """Put `text` on the clipboard and say how: "wl-copy", "xclip", "pbcopy" or "OSC 52".

    OSC 52 (the terminal sets its own clipboard) when the session is remote, when no tool
    fits, or when the tool fails. Raises OSError when even the terminal cannot be written.
    Terminals may ignore OSC 52 (tmux needs `set-clipboard on`); nothing can tell us so.
    """
    if not any(environ.get(name) for name in _REMOTE):
        for method, argv in _tools(environ, which):
            if _run_tool(run, argv, text):
                return method
    (write_tty or _write_dev_tty)(osc52(text))
    return "OSC 52"


def osc52(text: str) -> bytes:
    """The escape sequence that asks the terminal to set its clipboard ("c") to `text`."""
    # BEL rather than ST as the terminator: more terminals accept it.
    return b"\x1b]52;c;" + base64.b64encode(text.encode("utf-8")) + b"\x07"


def _tools(environ: Mapping[str, str], which: Callable[[str], str | None]) -> list[tuple[Method, list[str]]]:
    """The clipboard tools found for this session, best first, with their argument vectors."""
    wanted: list[tuple[bool, Method, list[str]]] = [
        (bool(environ.get("WAYLAND_DISPLAY")), "wl-copy", []),
        (bool(environ.get("DISPLAY")), "xclip", ["-selection", "clipboard"]),
        (True, "pbcopy", []),  # on PATH only on macOS
    ]
    found: list[tuple[Method, list[str]]] = []
    for fits, method, args in wanted:
        path = which(method) if fits else None
        if path:
            found.append((method, [path, *args]))
    return found


def _run_tool(run: Run, argv: list[str], text: str) -> bool:
    # Output to DEVNULL, not a pipe: xclip and wl-copy leave a child serving the selection,
    # and a captured pipe would stay open (and `run` wait) until that child exits.
    try:
        done = run(argv, input=text.encode("utf-8"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _write_dev_tty(data: bytes) -> None:
    # The controlling terminal, not stdout: stdout may be redirected while the terminal is there.
    with open("/dev/tty", "wb", buffering=0) as tty:
        tty.write(data)
