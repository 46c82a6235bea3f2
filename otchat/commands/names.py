"""The names of otchat's commands, and whether words after the options are a prompt or one of
them: light enough for the entry to ask before typer is imported (headstart.py)."""

from __future__ import annotations

# Commands first, then groups: the order --help, the man page and completion list them in.
COMMANDS = ("chat", "cmd", "models", "completion", "shell-integration")
GROUPS = ("config", "auth", "history", "mcp")
GROUP_FLAGS = ("--help", "-h", "--version")


def a_prompt(words: list[str]) -> bool:
    """Whether `words` (what follows the leading options) are a prompt: no command name or near
    miss of one (refused by the whole tree) first."""
    word = words[0] if words else ""
    if word in COMMANDS or word in GROUPS:
        return False
    if not word or word.startswith("-") or any(c.isspace() for c in word):
        return True
    from .typos import mistyped

    return mistyped(word, [*COMMANDS, *GROUPS], alone=len(words) == 1) is None
