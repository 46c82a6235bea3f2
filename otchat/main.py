"""The console-script entry: a fast path for --version, signal handlers, then the CLI."""

from __future__ import annotations

import signal
import sys
from typing import NoReturn


def main(argv: list[str] | None = None) -> NoReturn:
    import os

    args = sys.argv[1:] if argv is None else list(argv)
    shell = os.environ.get("_OTCHAT_COMPLETE")
    if shell in ("bash", "zsh", "fish"):
        from .complete import run as complete
        from .env import Env

        raise SystemExit(complete(Env.from_process(), shell, args))
    if args == ["--version"]:
        # Answered before typer is even imported: scripts call this in loops.
        from . import __version__

        sys.stdout.write(f"otchat {__version__}\n")
        raise SystemExit(0)
    _install_signal_handlers()
    from .cli import run

    raise SystemExit(run(args))


def _install_signal_handlers() -> None:
    """SIGTERM/SIGHUP unwind like Ctrl-C (finally blocks run), then exit 143/129."""
    from .errors import Terminated

    def handler(signum: int, frame: object) -> None:
        raise Terminated(signum)

    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None:
            signal.signal(signum, handler)
