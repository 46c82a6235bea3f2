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
        from .env import Env
        from .shell.complete import run as complete

        raise SystemExit(complete(Env.from_process(), shell, args))
    if args in (["--version"], ["version"]):
        # Answered before typer is even imported: scripts call this in loops.
        from . import __version__

        sys.stdout.write(f"otchat {__version__}\n")
        raise SystemExit(0)
    _install_signal_handlers()
    from .env import Env
    from .headstart import head_start

    env = Env.from_process()
    head_start(env, args)  # a prompt of plain words: its connection opens while the rest loads
    from .app import run

    raise SystemExit(run(args, env))


def entry() -> NoReturn:
    """The `otchat` executable: `main`, then the interpreter's own exit (exit handlers
    run, output is flushed, threads that are not daemons are waited for).

    stdout is flushed here first, so a reader that has gone away (piped into `head`) is
    seen here: the run then ends quietly with 141, as SIGPIPE would have it.
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
    try:
        sys.stdout.flush()
    except OSError:  # stdout closed early: exit as SIGPIPE would
        code = code or 141
        from .env import silence

        silence(sys.stdout)  # so the interpreter's own last flush is quiet
    # The interpreter's teardown collects garbage through every object of the run (most
    # of its cost: measured 100+ ms against ~25 ms with this); the objects need no
    # collecting, the process ends. Frozen objects are skipped by those collections.
    import gc

    gc.freeze()
    raise SystemExit(code)




def _install_signal_handlers() -> None:
    """SIGTERM/SIGHUP unwind like Ctrl-C (finally blocks run), then exit 143/129."""
    from .errors import Terminated

    def handler(signum: int, frame: object) -> None:
        raise Terminated(signum)

    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None:
            signal.signal(signum, handler)
