"""Generated documentation: the man page from the command tree, the completion scripts, the README's exit table.

    python -m otchat.shell.docgen      # rewrite completions/ and man/ (a test fails when they drift)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click

from .. import __version__
from ..errors import EXIT_STATUS
from .scripts import FILES, completion_script

ENVIRONMENT = [
    ("OPENTOOLS_API_KEY", "The default API key (after api_key_env, before the credentials file); sent only to"
                          " the base URL resolved without a profile, never to a profile's other host."),
    ("OTCHAT_MODEL", "The model, between a --profile and the default profile in precedence."),
    ("OTCHAT_BASE_URL", "The API base URL, like OTCHAT_MODEL."),
    ("OTCHAT_PROFILE", "The profile to use when --profile is not given."),
    ("OTCHAT_CONFIG_DIR", "Where config.toml and credentials live."),
    ("OTCHAT_DATA_DIR", "Where history.db, the input history and the model cache live."),
    ("OTCHAT_TRACEBACK", "Set to 1 to show tracebacks of unexpected errors."),
    ("VISUAL, EDITOR", "The editor for config edit, /edit and Ctrl-X Ctrl-E."),
    ("NO_COLOR", "Turn colour off (layout stays)."),
    ("TERM", "With TERM=dumb output is plain text."),
    ("HTTPS_PROXY, HTTP_PROXY, NO_PROXY", "Proxies, as httpx2 (the HTTP stack: httpx's maintained continuation,"
                                          " the MCP SDK's too) reads them."),
    ("SSL_CERT_FILE", "Certificate authorities to trust."),
]

FILES_SECTION = [
    ("$OTCHAT_CONFIG_DIR/config.toml", "Settings, profiles, aliases and roles (e.g. ~/.config/otchat/config.toml)."),
    ("$OTCHAT_CONFIG_DIR/credentials", "The keys stored by auth login (and auth login --profile), mode 0600."),
    ("$OTCHAT_DATA_DIR/history.db", "Every conversation (SQLite), e.g. ~/.local/share/otchat/history.db."),
    ("$OTCHAT_DATA_DIR/input_history", "What you typed in the REPL, for Up and auto-suggestion."),
    ("$OTCHAT_DATA_DIR/models.json", "The model list cache, refreshed after a day."),
]

EXAMPLES = [
    ("Ask once; markdown on a terminal, plain text in a pipe:", 'otchat "why is the sky blue"'),
    ("Pipe data in:", 'git diff | otchat "write a commit message"'),
    ("Use a hosted MCP tool from the OpenTools registry:", 'otchat -t firecrawl "what is on example.com?"'),
    ("Chat interactively:", "otchat chat -m sonnet"),
    ("Continue the last conversation:", 'otchat -c "and in French?"'),
    ("Talk to a local OpenAI-compatible server through a profile:",
     "otchat config set profiles.local.base_url http://127.0.0.1:8080/v1\n"
     'otchat config set profiles.local.api_key_env ""\n'
     'otchat --profile local "hello"'),
    ("Find an old conversation:", "otchat history search otters"),
    ("Ask the last question again, of another model (both answers are kept):", "otchat -c --regenerate -m gpt-4o"),
    ("See a conversation's branches, and copy its first two turns into a new one:",
     "otchat history show 3f2a --tree\notchat history fork 3f2a --at 2"),
    ("Get JSON that matches a schema (exit 10 when the model never gets it right):",
     'cat invoice.txt | otchat --schema "vendor, date, total float" | jq .total'),
]


COMMAND_AFTER_OPTIONS = (
    "Options may come before a command. The first word after them is the command when it stands alone "
    "or is followed by one of its subcommands or options (cmd and chat take a prompt, so any words may "
    "follow them); the options then apply to it, and one it does not take is a usage error (exit 2) "
    "naming the option and the command. Otherwise the words are a prompt: otchat -s terse models of the "
    "mind asks a question. A near miss of a command name, alone or before one of its subcommands, is "
    "refused (exit 2) with a suggestion; otchat -- WORDS sends the words as they are.\n\n"
    "otchat help and otchat version, alone, show the help and the version."
)


def man_page() -> str:
    import click
    import typer.main

    from ..app import ONESHOT, app

    root = typer.main.get_command(app)
    assert isinstance(root, click.Group)  # the root app has subcommands
    out = [
        f'.TH OTCHAT 1 "" "otchat {__version__}" "User Commands"',
        ".SH NAME",
        r"otchat \- the command-line chat client for the OpenTools API",
        ".SH SYNOPSIS",
        ".B otchat",
        r"[\fIOPTIONS\fR] [\fIPROMPT\fR]...",
        ".br",
        ".B otchat",
        r"\fICOMMAND\fR [\fIARGS\fR]...",
        ".SH DESCRIPTION",
    ]
    out += _paragraphs(root.commands[ONESHOT].help or "")
    out += [".SH OPTIONS"]
    out += _options(root.commands[ONESHOT], with_help=True)
    out += [".PP", r"Every command takes \fB\-\-help\fR."]
    out += [".SS Options before a command"]
    out += _paragraphs(COMMAND_AFTER_OPTIONS)
    out += [".SH COMMANDS"]
    for name, command in root.commands.items():
        if command.hidden:
            continue
        out += _command(f"otchat {name}", command)
    out += _reference()
    out += [".SH ENVIRONMENT"]
    out += _definitions(ENVIRONMENT, bold=True)
    out += [".SH FILES"]
    out += _definitions(FILES_SECTION, italic=True)
    out += [".SH EXIT STATUS"]
    out += _definitions([(code, _sentence(long)) for code, _, long in EXIT_STATUS], bold=True)
    out += [".SH EXAMPLES"]
    for text, example in EXAMPLES:
        out += [".PP", _escape(text), ".PP", ".RS 4", ".nf"]
        out += [_escape(line) for line in example.splitlines()]
        out += [".fi", ".RE"]
    out += [
        ".SH SEE ALSO",
        r"\fBcurl\fR(1), \fBjq\fR(1), \fBsqlite3\fR(1);",
        r"the README of the otchat project; \fBotchat \-\-help\fR and \fBotchat \fICOMMAND\fB \-\-help\fR.",
    ]
    return "\n".join(out) + "\n"


def _reference() -> list[str]:
    """The REPL's slash commands and keys, the config keys and the function-file format, from
    the tables --help, /help and config set read."""
    from ..commands.inputs import FUNCTION_FILE
    from ..config.schema import TOP
    from ..term.slash import COMMANDS, KEYS

    out = [".SH REPL COMMANDS", ".PP", _escape("In otchat chat, a line starting with / is a command "
                                                "(// sends a line starting with /):")]
    out += _definitions([(c.usage, c.help) for c in COMMANDS], bold=True)
    out += [".SS Keys"]
    out += _definitions(KEYS, bold=True)
    out += [".SH CONFIGURATION", ".PP", _escape("config.toml keys (otchat config set KEY VALUE); a profile "
                                                 "([profiles.NAME]) takes the same keys but default_profile:")]
    for key in TOP.values():
        kind = " | ".join(key.choices) if key.choices else key.kind
        default = f"; default {key.default}" if key.default not in (None, "", []) else ""
        out += [".TP", rf"\fB{_escape(key.name)}\fR ({_escape(kind)}{_escape(str(default))})",
                _escape(key.help[:1].upper() + key.help[1:] + ".")]
    out += [".SH FUNCTION FILES"]
    out += _paragraphs(FUNCTION_FILE)
    return out


def _command(path: str, command: click.Command) -> list[str]:
    out: list[str] = []
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in subcommands.items():
            out += _command(f"{path} {name}", sub)
        return out
    usage = " ".join(_escape(piece) for piece in command.collect_usage_pieces(_context(command)))
    out += [".SS " + _quote(f"{path} {usage}".strip())]
    out += _paragraphs(command.help or "")
    out += _options(command)
    return out


def _options(command: click.Command, *, with_help: bool = False) -> list[str]:
    out: list[str] = []
    ctx = _context(command)
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None or param.param_type_name == "argument":
            continue
        if "--help" in getattr(param, "opts", ()) and not with_help:  # said once: every command takes it
            continue
        names, help_text = record
        out += [".TP", _option_names(names), _escape(help_text) if help_text else ""]
    return out


def _context(command: click.Command) -> click.Context:
    import typer

    return typer.Context(command, info_name=command.name)


def _option_names(names: str) -> str:
    def bold(match: re.Match[str]) -> str:
        return r"\fB" + match.group(0).replace("-", r"\-") + r"\fR"

    escaped = _escape(names).replace(r"\-", "-")
    return re.sub(r"(?<![\w-])--?[\w-]+", bold, escaped)


def _definitions(rows: list[tuple[str, str]], *, bold: bool = False, italic: bool = False) -> list[str]:
    out: list[str] = []
    font = r"\fB" if bold else r"\fI" if italic else ""
    for term, text in rows:
        out += [".TP", f"{font}{_escape(term)}\\fR" if font else _escape(term), _escape(text)]
    return out


def _paragraphs(text: str) -> list[str]:
    out: list[str] = []
    for paragraph in text.strip().split("\n\n"):
        out += [".PP", _escape(" ".join(paragraph.split()))]
    return out


def _sentence(text: str) -> str:
    """A README table cell as a man page sentence (groff takes no "…")."""
    text = text.replace("`", "").replace("…", "...")
    return text[:1].upper() + text[1:] + "."


def _escape(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\(dq') + '"'


README_TABLE_HEAD = "| code | meaning |"


def readme_exit_table() -> str:
    """The README's table of exit statuses, from errors.EXIT_STATUS."""
    rows = [README_TABLE_HEAD, "|---|---|"]
    rows += [f"| {code} | {long.replace('|', chr(92) + '|')} |" for code, _, long in EXIT_STATUS]
    return "\n".join(rows) + "\n"


def with_exit_table(readme: str) -> str:
    """`readme` with its exit-status table (from its header to the next blank line) regenerated."""
    start = readme.index(README_TABLE_HEAD)
    end = readme.index("\n\n", start) + 1
    return readme[:start] + readme_exit_table() + readme[end:]


def write(root: Path) -> list[Path]:
    written = []
    for shell, name in FILES.items():
        path = root / "completions" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(completion_script(shell))
        written.append(path)
    man = root / "man" / "otchat.1"
    man.parent.mkdir(exist_ok=True)
    man.write_text(man_page())
    written.append(man)
    readme = root / "README.md"
    readme.write_text(with_exit_table(readme.read_text()))
    written.append(readme)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
    for path in write(target):
        print(path.relative_to(target))
