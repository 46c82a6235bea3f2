"""The code in an answer: fenced blocks for `-x`, and a reply cleaned into one command for `otchat cmd`."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from pathlib import PurePosixPath

# A reasoning model may put its thinking in the content, before the answer, as a <think> block
# (wire/thinking.py splits it out while a reply streams; a reply read whole may still hold it).
_THINK = re.compile(r"\A\s*<think>.*?</think>", re.DOTALL)
_PROMPT = "$ "


def code_blocks(markdown_text: str) -> list[str]:
    """The code of each fenced block, in order, without fences or language tags.

    Fenced blocks only: indented code blocks are left out, because models fence code and an
    indented line in an answer is far more often prose or a list's continuation gone astray.
    The parser finds fences anywhere (in lists, quotes), longer or tilde fences holding
    shorter ones, and an unclosed fence at the end (a cut-off answer) running to the end.
    """
    from markdown_it import MarkdownIt  # only `-x` and `cmd` pay for the parser

    tokens = MarkdownIt("commonmark").parse(markdown_text)
    return [token.content for token in tokens if token.type == "fence"]


def fenced(markdown_text: str, last: bool = False) -> list[tuple[str, str]]:
    """(language, code) of each fenced block that holds code, as `extract` joins them.

    The language is the info string's first word ("" when there is none): a terminal
    highlights each block with its own lexer. `last` keeps only the last block.
    """
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(markdown_text)
    pairs = [(token.info.split()[0] if token.info.split() else "", _trim_blank_lines(token.content))
             for token in tokens if token.type == "fence"]
    pairs = [(language, code) for language, code in pairs if code]  # blank blocks add only blank lines
    return pairs[-1:] if last else pairs


def extract(text: str, last: bool = False) -> str | None:
    """The code of `text`'s fenced blocks joined by one blank line, ending with one newline.

    `last` keeps only the last block. Blank blocks are skipped (they would only add blank
    lines). None when there is no block with code in it: the caller prints the whole answer.
    """
    blocks = [code for _, code in fenced(text, last)]
    if not blocks:
        return None
    return "\n\n".join(blocks) + "\n"


def clean_command(reply: str) -> str:
    """The reply of the model reduced to the command it proposes ("" when there is none).

    - a leading `<think>…</think>` block is dropped;
    - a fenced block is unwrapped and any prose around it dropped; with several blocks the
      first is taken: models put the command first and alternatives or sample output after,
      and running all of them in sequence could run two alternatives (`cmd`'s `d` and `m`
      are there for the rest);
    - otherwise the reply is the command, with surrounding backticks (`` `ls` ``, or a
      one-line ```` ```ls``` ````) unwrapped;
    - a leading `$ ` prompt is stripped (from every line when every line has one);
    - common indentation and surrounding blank space are trimmed; lines inside are kept,
      so a here-document stays as written.
    """
    text = _THINK.sub("", reply, count=1)
    blocks = code_blocks(text)
    command = blocks[0] if blocks else _unwrap_backticks(text.strip())
    return _strip_prompts(textwrap.dedent(_trim_blank_lines(command))).strip()


def command_system_prompt(shell_name: str, os_name: str) -> str:
    """The built-in system prompt of `otchat cmd` (`-s` or a role's `system` replaces it)."""
    fish = "\nfish has no here-documents: feed text with printf or echo instead." if shell_name == "fish" else ""
    return (
        f"You turn requests into shell commands. The user's shell is {shell_name}, on {os_name}.\n"
        f"Reply with exactly one {shell_name} command that does what the user asks, and nothing else: "
        "no explanation, no prose, no Markdown, no code fences, no backticks, no leading `$`.\n"
        "Write it on one line (join steps with && or pipes); use several lines only when a "
        "here-document needs them.\n"
        "Prefer standard tools that are present on this system, and commands that are safe to re-run. "
        "If the request is ambiguous, choose the most likely meaning. Text after the request is "
        "context (for example the output of another command): use it, do not repeat it." + fish
    )


def shell_name(environ: Mapping[str, str]) -> str:
    """The user's shell as a name for the prompt: the basename of `$SHELL`, else `sh`."""
    # A login shell's argv[0] starts with "-" ("-zsh"); some people export that.
    name = PurePosixPath(environ.get("SHELL", "").strip()).name.lstrip("-")
    return name or "sh"


def os_name(system: str | None = None, os_release: Mapping[str, str] | None = None) -> str:
    """The OS for the prompt, from `platform`: "macOS", "Linux (Debian GNU/Linux 12)", "Windows"…

    Linux names its distribution (from os-release) so the model picks its package manager.
    """
    import platform

    system = system if system is not None else platform.system()
    if system == "Darwin":
        return "macOS"
    if system != "Linux":
        return system or "an unknown OS"
    if os_release is None:
        try:
            os_release = platform.freedesktop_os_release()
        except OSError:
            os_release = {}
    distribution = os_release.get("PRETTY_NAME") or os_release.get("NAME")
    return f"Linux ({distribution})" if distribution else "Linux"


def _trim_blank_lines(text: str) -> str:
    """`text` without its leading and trailing blank lines (indentation of the first kept)."""
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def _unwrap_backticks(text: str) -> str:
    """`` `ls -la` `` → `ls -la`; text with other backticks inside (`` `a` or `b` ``) is kept."""
    fence = text[: len(text) - len(text.lstrip("`"))]
    if not fence or len(text) <= 2 * len(fence) or not text.endswith(fence):
        return text
    inner = text[len(fence):-len(fence)]
    if inner.startswith("`") or inner.endswith("`") or fence in inner:
        return text
    return inner.strip()


def _strip_prompts(command: str) -> str:
    lines = command.split("\n")
    if all(line.startswith(_PROMPT) for line in lines if line.strip()):
        return "\n".join(line.removeprefix(_PROMPT) for line in lines)
    if lines[0].startswith(_PROMPT):  # a here-document's body has no prompt: keep it as is
        lines[0] = lines[0].removeprefix(_PROMPT)
    return "\n".join(lines)
