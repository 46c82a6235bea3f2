"""Questions asked on the terminal: a line of input, yes or no, a hidden key, a tool call's approval."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..env import Env
from ..text import clip

Ask = Callable[[str], str]


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
    """Whether a local tool call may run: read-only tools, --yes, auto_approve and "always"
    say yes; otherwise the person at the terminal is asked, and in a pipe the call is refused."""

    def __init__(self, env: Env, auto: bool | list[str]) -> None:
        self.env = env
        self.auto = auto
        self.always: set[str] = set()

    def __call__(self, tool: Any, arguments: Any) -> bool:
        auto = self.auto
        if tool.read_only or auto is True or tool.function in self.always or (
                isinstance(auto, list) and tool.function in auto):
            return True
        env = self.env
        if env.stdin_isatty and env.stderr_isatty and env.stdin is not None:
            shown = clip(json.dumps(arguments, ensure_ascii=False), 200)
            answer = ask(env, f"Run {tool.function} {shown}? [y]es / [n]o / [a]lways for this tool: ")
            answer = answer.strip().lower()
            if answer.startswith("a"):
                self.always.add(tool.function)
                return True
            return answer.startswith("y")
        env.warn(f"{tool.function} was not run: not approved (pass --yes, or set auto_approve)")
        return False
