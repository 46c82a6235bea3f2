"""The TAB protocol: what the completion scripts run, answered from the command tree.

The scripts in completions/ run `_OTCHAT_COMPLETE=SHELL otchat WORD... CURRENT`: the
words typed so far and the word under the cursor (maybe empty). otchat prints one
candidate per line (`value<TAB>help` for zsh and fish), or `__files__` to let the shell
complete file names. Completing commands and options reads no database and imports
nothing heavy (the values themselves come from `shell.values`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click

    from ..env import Env

COMPLETE_VAR = "_OTCHAT_COMPLETE"
FILES = "__files__"


def run(env: Env, shell: str, words: list[str]) -> int:
    """Print the candidates for the last word of `words`; always exits 0 (never break TAB)."""
    # typer < 0.26 builds its commands on click, whose resolver we reuse; none of its
    # shell classes (typer's load rich to format help for zsh and fish).
    import click.shell_completion
    import typer.main

    from ..app import app

    cut = 0
    if shell == "bash":
        words, cut = bash_words(words)
    args, incomplete = words[:-1], words[-1] if words else ""
    command = typer.main.get_command(app)
    completer = click.shell_completion.ShellComplete(command, {"obj": env}, "otchat", COMPLETE_VAR)
    try:
        items = completer.get_completions(args, incomplete)
    except Exception:  # noqa: BLE001 (a half-typed command line must never print a traceback on TAB)
        return 0
    lines = []
    if not items and args and args[-1] in _path_options(command):
        lines.append(FILES)
    for item in items:
        if item.type in ("file", "dir"):
            lines.append(FILES)
        elif shell == "bash":
            lines.append(item.value[cut:])
        else:
            help_text = " ".join((item.help or "").split())
            lines.append(f"{item.value}\t{help_text}" if help_text else item.value)
    env.stdout.write("".join(f"{line}\n" for line in dict.fromkeys(lines)))
    env.stdout.flush()
    return 0


def bash_words(words: list[str]) -> tuple[list[str], int]:
    """bash splits words at `:` (COMP_WORDBREAKS): `everything:ar` comes as `everything`, `:`,
    `ar`. The words glued back, and how much of the last one bash does not replace (what a
    candidate loses in front, as bash-completion's __ltrim_colon_completions does)."""
    glued: list[str] = []
    glue = False
    for word in words:
        if word == ":" and glued:
            glued[-1] += word
            glue = True
        elif glue:
            glued[-1] += word
            glue = False
        else:
            glued.append(word)
    last = words[-1] if words else ""
    return glued, len(glued[-1]) - len(last) if glued else 0


def _path_options(command: click.Command) -> set[str]:
    """Every option name, in any command, whose value is a file path."""
    import click

    names: set[str] = set()
    for param in getattr(command, "params", []):
        if isinstance(param, click.Option) and isinstance(param.type, click.Path):
            names.update(param.opts)
    for sub in getattr(command, "commands", {}).values():
        names |= _path_options(sub)
    return names
