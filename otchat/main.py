"""The console-script entry: a fast path for --version, signal handlers, then the CLI."""

from __future__ import annotations

import os
import signal
import sys
from typing import NoReturn


def main(argv: list[str] | None = None) -> NoReturn:
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


def entry() -> NoReturn:
    """The `otchat` executable: `main`, then an exit without the interpreter's teardown.

    Freeing every object of a finished run takes Python 40-80 ms (more after a long
    answer) and releases nothing the system does not reclaim anyway. What matters of a
    normal exit is kept: exit handlers run and buffered output is flushed. A thread that
    is not a daemon (none of otchat's) would get the normal, waiting exit.
    """
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    import atexit
    import threading

    if any(not thread.daemon for thread in threading.enumerate() if thread is not threading.main_thread()):
        raise SystemExit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except OSError:  # stdout closed early (piped into head): exit as SIGPIPE would
        code = code or 141
    try:
        sys.stderr.flush()
    except OSError:
        pass
    os._exit(code)


def _install_signal_handlers() -> None:
    """SIGTERM/SIGHUP unwind like Ctrl-C (finally blocks run), then exit 143/129."""
    from .errors import Terminated

    def handler(signum: int, frame: object) -> None:
        raise Terminated(signum)

    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None:
            signal.signal(signum, handler)
