"""Env: the one object that touches process globals (stdio, environ, dirs, clock)."""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, TextIO

from .config.redact import mask
from .text import visible

APP_NAME = "otchat"


@dataclass
class Env:
    """Everything a command may read from or write to the outside world.

    Tests build one with byte/str buffers, a tmp config dir and an httpx2 transport;
    `Env.from_process()` builds the real one.
    """

    stdin: BinaryIO | None
    stdout: TextIO
    stderr: TextIO
    stdin_isatty: bool = False
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    environ: Mapping[str, str] = field(default_factory=dict)
    transport: Any = None  # an httpx2.BaseTransport; None means the network
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    # Strings that must never be printed (the API key); see `redact`.
    secrets: set[str] = field(default_factory=set)
    # Per thread: where its warnings and -v lines go instead of stderr (see `diverted`).
    _routes: threading.local = field(default_factory=threading.local, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A terminal never gets a control character of someone else's raw: whatever is
        # written to stdout or stderr as text shows them (`visible`). Rich draws its own
        # codes on the stream beneath (`screen`), and makes what it draws visible itself.
        if self.stdout_isatty and not isinstance(self.stdout, Terminal):
            self.stdout = Terminal(self.stdout)
        if self.stderr_isatty and not isinstance(self.stderr, Terminal):
            self.stderr = Terminal(self.stderr)

    @classmethod
    def from_process(cls) -> Env:
        stdin = sys.stdin.buffer if sys.stdin is not None else None
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, io.TextIOWrapper):  # not when replaced (by None, or a test's capture)
                try:
                    stream.reconfigure(errors="replace")
                except ValueError:
                    pass
        return cls(
            stdin=stdin,
            stdout=sys.stdout,
            stderr=sys.stderr,
            stdin_isatty=_isatty(sys.stdin),
            stdout_isatty=_isatty(sys.stdout),
            stderr_isatty=_isatty(sys.stderr),
            environ=os.environ,
        )

    @property
    def config_dir(self) -> Path:
        return self._dir("OTCHAT_CONFIG_DIR", "user_config_dir")

    @property
    def data_dir(self) -> Path:
        return self._dir("OTCHAT_DATA_DIR", "user_data_dir")

    def _dir(self, variable: str, kind: str) -> Path:
        override = self.environ.get(variable)
        if override:
            return Path(override)
        import platformdirs

        return Path(getattr(platformdirs, kind)(APP_NAME))

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            # A very short "secret" (a test key like "k") would mangle ordinary words.
            if len(secret) >= 8:
                text = text.replace(secret, mask(secret))
        return text

    def columns(self) -> int | None:
        """The terminal's width when stdout is one (None: a pipe or a file, whose lines are whole)."""
        if not self.stdout_isatty:
            return None
        try:
            return os.get_terminal_size(self.stdout.fileno()).columns
        except (OSError, ValueError, io.UnsupportedOperation):
            text = self.environ.get("COLUMNS", "")
            return int(text) if text.isdigit() and int(text) > 0 else 80

    def out(self, line: str = "") -> None:
        """One line of a command's output on stdout (its text as it is: no redaction)."""
        self.stdout.write(line + "\n")
        self.stdout.flush()

    def error(self, message: str) -> None:
        self.stderr.write(f"otchat: error: {self.redact(message)}\n")
        self.stderr.flush()

    def warn(self, message: str) -> None:
        route: Callable[[str], None] | None = getattr(self._routes, "warn", None)
        if route is not None:
            route(self.redact(message))
            return
        self.stderr.write(f"otchat: warning: {self.redact(message)}\n")
        self.stderr.flush()

    def log(self, line: str) -> None:
        """One line of -v's request log on stderr."""
        route: Callable[[str], None] | None = getattr(self._routes, "log", None)
        if route is not None:
            route(self.redact(line))
            return
        self.stderr.write(self.redact(line) + "\n")
        self.stderr.flush()

    @contextmanager
    def diverted(self, warn: Callable[[str], None], log: Callable[[str], None]) -> Iterator[None]:
        """On this thread, meanwhile, warnings and -v lines go to `warn` and `log` (redacted),
        not to stderr: a comparison's worker hands them to its model's place on the board, which
        owns the terminal while it is drawn. What `warn` and `log` do must not come back here."""
        self._routes.warn, self._routes.log = warn, log
        try:
            yield
        finally:
            self._routes.warn = self._routes.log = None

    def echo_off(self) -> Callable[[], None]:
        """Stop the terminal that stdout draws on from echoing keys; returns what turns the
        echo back on. Keys typed meanwhile are kept for whoever reads next (the shell, the
        REPL's prompt); Ctrl-C still interrupts."""
        if not self.stdout_isatty:
            return _nothing
        return _echo_off(self.stdout)


class Terminal(io.TextIOBase, TextIO):
    """A text stream on a terminal: every write shows control characters visibly (`visible`).

    `screen` is the stream beneath, for what draws the terminal's own codes (rich, the
    clipboard's OSC 52); anything else a caller asks of it (`getvalue` of a test's buffer)
    is the stream's own."""

    def __init__(self, screen: TextIO) -> None:
        super().__init__()
        self.screen = screen

    def write(self, text: str) -> int:
        self.screen.write(visible(text))
        return len(text)

    def flush(self) -> None:
        self.screen.flush()

    def fileno(self) -> int:
        return self.screen.fileno()

    def isatty(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> object:
        return getattr(self.screen, name)


def screen(stream: TextIO) -> TextIO:
    """The stream that draws on the terminal itself: beneath a `Terminal`, else `stream`."""
    return stream.screen if isinstance(stream, Terminal) else stream


def _nothing() -> None:
    pass


def _echo_off(stream: IO[str]) -> Callable[[], None]:
    try:
        import termios
    except ImportError:  # not a POSIX system
        return _nothing
    try:
        fd = stream.fileno()
        # A background job that changes its terminal is stopped (SIGTTOU): leave it be.
        if os.tcgetpgrp(fd) != os.getpgrp():
            return _nothing
        attrs = termios.tcgetattr(fd)
        if not attrs[3] & termios.ECHO:
            return _nothing
        # And Enter stays a CR: turned into a newline (ICRNL), a line typed ahead would reach
        # the REPL's prompt as a new line of the message instead of sending it.
        crnl = attrs[0] & termios.ICRNL
        attrs[3] &= ~termios.ECHO
        attrs[0] &= ~termios.ICRNL
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
    except (AttributeError, ValueError, OSError, termios.error):
        return _nothing

    def echo_on() -> None:
        try:
            now = termios.tcgetattr(fd)
            now[3] |= termios.ECHO
            now[0] |= crnl
            termios.tcsetattr(fd, termios.TCSANOW, now)
        except (OSError, termios.error):
            pass

    return echo_on


def _isatty(stream: IO[str] | IO[bytes] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


def silence(stream: IO[str] | IO[bytes]) -> None:
    """After EPIPE, point `stream`'s descriptor at /dev/null so the interpreter's last flush is quiet."""
    try:
        fd = stream.fileno()
    except (AttributeError, ValueError, OSError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
