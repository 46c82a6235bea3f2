"""Questions asked on the terminal: a line of input, yes or no, a hidden key, a tool call's approval (one key)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..env import Env
from ..text import clip

if TYPE_CHECKING:
    from ..seams import JSON, Tool

Ask = Callable[[str], str]
APPROVAL_KEYS = "[y]es / [n]o / [t] always for this tool"  # not [a]: in `cmd`'s menu, a aborts
DESTRUCTIVE_KEYS = "[y]es / [n]o"  # a tool its server calls destructive: asked every time


def ask(env: Env, question: str) -> str:
    """Write `question` on stderr and read one line of stdin ("" at the end of input)."""
    env.stderr.write(question)
    env.stderr.flush()
    line = env.stdin.readline() if env.stdin is not None else b""
    return line.decode("utf-8", "replace")


def yes(answer: str) -> bool:
    """Whether an answer to a `[y/N]` question says yes (anything else, Enter included, is no)."""
    return answer.strip().lower().startswith("y")


def confirm(env: Env, question: str, ask_line: Ask | None = None) -> bool:
    """Ask a `[y/N]` question; `ask_line` answers it in tests."""
    return yes((ask_line or (lambda q: ask(env, q)))(question))


def read_hidden(prompt: str) -> str:
    """A line typed without echo (the API key)."""
    import getpass

    return getpass.getpass(prompt)


class Approver:
    """Whether a local tool call may run: --yes, auto_approve, "always for this tool" and the
    read-only tools of servers the config trusts say yes; otherwise the person at the terminal
    is asked for one key, and in a pipe the call is refused. A server's own readOnlyHint is its
    word about itself, not trust: alone it skips nothing. A tool its server calls destructive is
    asked for every time (--yes and auto_approve = true do not cover it), unless auto_approve
    names it: believing that word can only make a call ask more."""

    def __init__(self, env: Env, auto: bool | list[str], *, read_key: Callable[[], str] | None = None) -> None:
        self.env = env
        self.auto = auto
        self.always: set[str] = set()
        self.read_key = read_key  # one key press (tests script them); None: the terminal's, raw

    def __call__(self, tool: Tool, arguments: JSON) -> bool:
        if self.approved(tool):
            return True
        read_key = self.read_key or self.terminal_keys()
        if read_key is None:
            how = f"list {tool.function} in auto_approve" if tool.destructive else "pass --yes, or set auto_approve"
            what = "its server calls it destructive" if tool.destructive else "not approved"
            self.env.warn(f"{tool.function} was not run: {what} ({how})")
            return False
        return self.ask(tool, arguments, read_key)

    def approved(self, tool: Tool) -> bool:
        """Approved without asking: by the config, the command line or an earlier "always"."""
        auto = self.auto
        if isinstance(auto, list) and tool.function in auto:
            return True
        if tool.destructive:
            return False
        return bool(tool.trusted_read_only or auto is True or tool.function in self.always)

    def terminal_keys(self) -> Callable[[], str] | None:
        """Where keys are read when a person is there to ask (stdin and stderr a terminal), else None."""
        env = self.env
        if not (env.stdin_isatty and env.stderr_isatty and env.stdin is not None):
            return None
        try:
            fd = env.stdin.fileno()
        except (AttributeError, OSError, ValueError):
            return None
        from .keys import Keys

        return Keys(fd, own=False).read

    def ask(self, tool: Tool, arguments: JSON, read_key: Callable[[], str]) -> bool:
        """One key, no Enter: y yes; n, Enter, Esc or Ctrl-D no; t always for this tool. Ctrl-C
        interrupts the turn as it would anywhere else. The answer is echoed."""
        from ..cmdcheck import shown
        from .keys import CTRL_C, CTRL_D, ESC

        err = self.env.stderr
        # The arguments come from the model: on one line, clipped, nothing hidden in them.
        called = clip(shown(json.dumps(arguments, ensure_ascii=False, default=str)), 200)
        said = f" ({', '.join(tool.hints)})" if tool.hints else ""
        choices = DESTRUCTIVE_KEYS if tool.destructive else APPROVAL_KEYS
        err.write(f"Run {tool.function} {called}{said}? {choices}: ")
        while True:
            err.flush()
            key = read_key().lower()
            if key == CTRL_C:
                err.write("^C\n")
                raise KeyboardInterrupt
            if key == "t" and tool.destructive:
                key = "?"  # not offered: asked every time
            if key in ("y", "t"):
                err.write("yes\n" if key == "y" else f"always for {tool.function}\n")
                if key == "t":
                    self.always.add(tool.function)
                return True
            if key in ("n", "\r", "\n", ESC, CTRL_D):
                err.write("no\n")
                return False
            err.write(f"\npress y or n ({choices}): " if tool.destructive else f"\npress y, n or t ({choices}): ")
