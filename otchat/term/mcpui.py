"""The terminal's side of local MCP sessions (`mcp.asking.McpUi`): a tool call's progress as one
line under its panel (a terminal only), a server's log lines at -v, a changed list as one dim
line, elicitation forms (declined, with one line, when nobody is there to ask). Everything a
server wrote is shown with its control characters visible."""

from __future__ import annotations

from collections.abc import Callable

from ..env import Env, screen
from ..seams import Answer, Elicitation
from ..text import clip, visible
from .keys import CTRL_C, CTRL_D, ESC
from .prompts import ask

BAR = 20
CLEAR = "\r\x1b[2K"


def progress_line(function: str, done: float, total: float | None, message: str | None, width: int) -> str:
    """`⋯ NAME 3/5 ██████░░░░ message`, clipped to `width` (a counter when the total is unknown)."""
    count = f"{done:g}/{total:g}" if total else f"{done:g}"
    bar = ""
    if total and total > 0:
        filled = max(0, min(BAR, round(BAR * done / total)))
        bar = " " + "█" * filled + "░" * (BAR - filled)
    return clip(f"⋯ {function} {count}{bar}" + (f" {message}" if message else ""), max(10, width - 1))


class TermMcpUi:
    def __init__(self, env: Env, *, verbose: bool, read_key: Callable[[], str] | None = None) -> None:
        self.env = env
        self.verbose = verbose
        self.read_key = read_key  # tests script keys; None: the terminal's
        self._line = ""  # the progress line on the screen ("" none)

    @property
    def drawing(self) -> bool:
        return self.env.stderr_isatty

    def progress(self, function: str, done: float, total: float | None, message: str | None) -> None:
        if not self.drawing:
            return  # nothing in pipes
        import shutil

        width = shutil.get_terminal_size((80, 24)).columns
        self._line = progress_line(visible(function), done, total, visible(message) if message else None, width)
        out = screen(self.env.stderr)
        out.write(f"{CLEAR}\x1b[2m{self._line}\x1b[0m")
        out.flush()

    def progress_end(self) -> None:
        if self._line:
            self._line = ""
            out = screen(self.env.stderr)
            out.write(CLEAR)
            out.flush()

    def _around_progress(self, write: Callable[[], None]) -> None:
        """Write a line of its own while a progress line is shown: it stays under it."""
        line = self._line
        if line:
            screen(self.env.stderr).write(CLEAR)
        write()
        if line:
            out = screen(self.env.stderr)
            out.write(f"\x1b[2m{line}\x1b[0m")
            out.flush()

    def log(self, server: str, level: str, text: str) -> None:
        if self.verbose:
            self._around_progress(lambda: self.env.log(f"* mcp {visible(server)} {level}: {visible(text)}"))

    def note(self, line: str) -> None:
        def write() -> None:
            if self.drawing:
                out = screen(self.env.stderr)
                out.write(f"\x1b[2m{visible(line)}\x1b[0m\n")
                out.flush()
            else:
                self.env.stderr.write(line + "\n")
                self.env.stderr.flush()

        self._around_progress(write)

    def elicit(self, request: Elicitation) -> Answer:
        from .form import elicit

        read_key = self.read_key or self._terminal_keys()
        if read_key is None:
            what = "a URL opened" if request.mode == "url" else "input"
            self.env.warn(f"MCP server {request.server} asked for {what} ({clip(request.message, 80)});"
                          " declined: no terminal to ask on")
            return Answer("decline")
        self.progress_end()
        err = self.env.stderr

        def say(text: str) -> None:
            err.write(text)
            err.flush()

        return elicit(request, lambda q: ask(self.env, q), lambda keys: self._key(keys, read_key, say), say)

    def _key(self, keys: str, read_key: Callable[[], str], say: Callable[[str], None]) -> str:
        """One of the keys in `keys` (`[a]nswer / ...`): Esc and Ctrl-D are `c`; Ctrl-C interrupts."""
        allowed = [part.strip()[1] for part in keys.split("/")]
        say(f"  {keys}: ")
        while True:
            key = read_key().lower()
            if key == CTRL_C:
                say("^C\n")
                raise KeyboardInterrupt
            if key in (ESC, CTRL_D):
                key = "c"
            if key in allowed:
                word = next(part.strip() for part in keys.split("/") if part.strip()[1] == key)
                say(word.replace("[", "").replace("]", "") + "\n")
                return key
            say(f"\n  press {', '.join(allowed)} ({keys}): ")

    def _terminal_keys(self) -> Callable[[], str] | None:
        from .prompts import Approver

        return Approver(self.env, False).terminal_keys()
