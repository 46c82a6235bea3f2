"""Options before a command: `otchat --profile llama models` runs `models` with the profile.

The rule (the typo guard's, after options): the first word after the leading options is the
command when it stands alone or is followed by one of its subcommands or options; `cmd` and
`chat` take a prompt, so any words may follow them. The leading options then go to the command
(after its subcommands), and one it does not accept is a usage error naming both. Otherwise
the words stay a prompt: `otchat -s terse models of the mind` is a question.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import click

from ..errors import UsageError

TAKE_A_PROMPT = ("cmd", "chat")


@dataclass(frozen=True)
class Leading:
    """The options before the first word: each option's name (`-m`, `--profile`) and every
    token they span, with their values; `word` the index of the first word, None when none
    comes (or `--` ends the options first)."""

    names: list[str]
    tokens: list[str]
    word: int | None


def leading(args: list[str], params: list[click.Parameter]) -> Leading:
    """Split off the options that come before the first word, as `params` would parse them."""
    takes = _values_taken(params)
    names: list[str] = []
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--":
            return Leading(names, args[:i], None)
        if not token.startswith("-") or token == "-":
            return Leading(names, args[:i], i)
        if token.startswith("--"):
            name, _, joined = token.partition("=")
            names.append(name)
            i += 1 + (0 if joined else takes.get(name, 0))
            continue
        i += 1
        for j, char in enumerate(token[1:], start=1):  # a cluster: -vy, or -mgpt
            names.append(f"-{char}")
            wanted = takes.get(f"-{char}", 0)
            if wanted:
                i += 0 if j + 1 < len(token) else wanted
                break
    return Leading(names, args, None)


def route(args: list[str], lead: Leading, commands: Mapping[str, click.Command]) -> list[str] | None:
    """The arguments as the command they name would take them (its path, then the leading
    options, then the rest), or None when the words are a prompt."""
    if lead.word is None or not lead.tokens:
        return None
    word = args[lead.word]
    command = commands.get(word)
    if command is None or command.hidden:
        return None
    rest = args[lead.word + 1:]
    path = [word]
    while isinstance(command, click.Group) and rest and rest[0] in command.commands:
        command = command.commands[rest[0]]
        path.append(rest.pop(0))
    named = len(path) > 1 or not rest or word in TAKE_A_PROMPT or _an_option_of(command, rest[0])
    if not named:
        return None
    accepted = _option_names(command)
    for name in lead.names:
        if name not in accepted:
            shown = " ".join(["otchat", *path])
            raise UsageError(f"{name} does not apply to {shown!r}", hint=f"see {shown} --help")
    return [*path, *lead.tokens, *rest]


def _an_option_of(command: click.Command, token: str) -> bool:
    return token.startswith("-") and token.partition("=")[0] in _option_names(command)


def _option_names(command: click.Command) -> set[str]:
    names = {"--help", "-h"}
    for param in command.params:
        if isinstance(param, click.Option):
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def _values_taken(params: list[click.Parameter]) -> dict[str, int]:
    """How many values follow each option name (0 for flags and counters)."""
    takes: dict[str, int] = {}
    for param in params:
        if isinstance(param, click.Option):
            count = 0 if param.is_flag or param.count else param.nargs
            for name in (*param.opts, *param.secondary_opts):
                takes[name] = count
    return takes
