"""Slash commands of the REPL: parsing, dispatch, help, and what each one does to the session.

A command that changes a setting changes the same Flags the command-line flags fill, and the
session resolves them again (`session.Session.change`): one implementation, two front doors.
Values are checked by the config schema, as `otchat config set` checks them. No prompt-toolkit here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import schema
from ..config.resolve import Flags
from ..conversation import Entry
from ..errors import UsageError
from ..session import Session
from . import mcp_slash


@dataclass(frozen=True)
class Say:
    """Print a line (on stdout in the REPL, stderr when scripted)."""

    text: str


@dataclass(frozen=True)
class Recap:
    """Show, dimmed, where the conversation now stands: (role, text) of its last exchange."""

    exchange: list[tuple[str, str]]


@dataclass(frozen=True)
class Send:
    """Send this message next (/retry)."""

    text: str


@dataclass(frozen=True)
class Edit:
    """Write the next message in $EDITOR."""


@dataclass(frozen=True)
class GoOn:
    """/continue the last reply."""


@dataclass(frozen=True)
class Compare:
    """Ask the last question of these models too."""

    models: list[str]


@dataclass(frozen=True)
class ShowCode:
    """Show only the code of a reply (its last block only when `last`)."""

    reply: str
    last: bool = False


@dataclass(frozen=True)
class Leave:
    """Leave the REPL."""


@dataclass(frozen=True)
class Overwrite:
    """Replace the file at `path` with `text` if the user says so (asked on a terminal; /save! says so)."""

    path: Path
    text: str
    said: str  # the line once written


Action = Say | Recap | Send | Edit | GoOn | Compare | ShowCode | Leave | Overwrite
Handler = Callable[[Session, str], list[Action]]


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    help: str
    run: Handler
    complete: str | None = None  # what the argument completes from: models, roles, tools, branches
    needs_arg: bool = False  # without one, the usage is the answer

    def __call__(self, session: Session, arg: str) -> list[Action]:
        if self.needs_arg and not arg:
            raise UsageError(f"usage: {self.usage}")
        return self.run(session, arg)


def is_command(line: str) -> bool:
    return line.startswith("/") and not line.startswith("//")


def dispatch(session: Session, line: str) -> list[Action]:
    """Run one slash command: what the REPL should do, in order; a bad one is a UsageError
    the REPL prints as a hint."""
    name, _, arg = line[1:].strip().partition(" ")
    command = BY_NAME.get(name)
    if command is None:
        close = [c.name for c in COMMANDS if c.name.startswith(name[:2])] if name else []
        hint = f"did you mean /{close[0]}? " if close else ""
        raise UsageError(f"unknown command /{name}; {hint}/help lists them")
    return command(session, arg.strip())


# The REPL's keys, as /help and the man page list them (bound in term/repl.py and by prompt-toolkit).
KEYS = [
    ("Enter", "sends (with --multiline: a new line)"),
    ("Alt-Enter or Ctrl-J", "a new line (with --multiline: sends)"),
    ("Ctrl-C", "stops a reply or clears the line"),
    ("Ctrl-D", "leaves"),
    ("Ctrl-X Ctrl-E", "writes the message in $EDITOR"),
    ("Tab", "completes slash commands and their arguments"),
    ("Up, Down", "earlier input (Right takes the grey suggestion)"),
]


def help_text(columns: int | None = None) -> str:
    """The commands and keys; within `columns` (a terminal's) each help wraps at a word, under itself."""
    import textwrap

    width = max(len(c.usage) for c in COMMANDS)
    indent = " " * (width + 4)
    room = max(20, (columns or 10_000) - len(indent))
    rows = ["\n".join(textwrap.wrap(f"  {c.usage:<{width}}  {c.help}", width=room + len(indent),
                                    subsequent_indent=indent)) for c in COMMANDS]
    keys = " · ".join(f"{key}: {what}" for key, what in KEYS)
    return "\n".join(["Commands:", *rows, *textwrap.wrap(keys, width=columns or 10_000)])


def _model(s: Session, arg: str) -> list[Action]:
    if arg:
        name = schema.parse_value(schema.TOP["model"], arg, "model")
        s.change(lambda f: setattr(f, "model", name))
    return [Say(f"model: {s.settings.model}")]


def _system(s: Session, arg: str) -> list[Action]:
    if not arg:
        return [Say(f"system prompt: {s.settings.system}" if s.settings.system else "no system prompt")]
    s.set_system("" if arg.strip() == "-" else arg)
    return [Say(f"system prompt: {s.settings.system}" if s.settings.system else "system prompt cleared")]


def _schema(s: Session, arg: str) -> list[Action]:
    import json

    from ..structured import parse_spec

    if arg.strip() == "-":
        s.set_schema(None)
        return [Say("schema cleared")]
    if arg.strip():
        s.set_schema(parse_spec(arg.strip()))
    return [Say(f"schema: {json.dumps(s.schema, ensure_ascii=False)}" if s.schema else "no schema")]


def _role(s: Session, arg: str) -> list[Action]:
    if not arg:
        roles = ", ".join(sorted(s.setup.file.get("roles", {}))) or "none defined in config.toml"
        return [Say(f"role: {s.settings.role or 'none'} (roles: {roles})")]
    s.change(lambda f: setattr(f, "role", arg))
    return [Say(f"role: {arg} (model {s.settings.model})")]


def _tool(s: Session, arg: str) -> list[Action]:
    action, _, ref = arg.partition(" ")
    ref = ref.strip()
    if action == "add" and ref:
        def add(f: Flags) -> None:
            f.no_tools = [r for r in f.no_tools if r != ref]
            if ref not in f.tools:
                f.tools.append(ref)

        s.change(add)
        return _tools(s, "")
    if action in ("rm", "remove") and ref:
        if ref not in s.settings.tool_refs():
            raise UsageError(f"{ref} is not in use; tools: {s.settings.tool_refs_text()}")

        def remove(f: Flags) -> None:
            f.tools = [r for r in f.tools if r != ref]
            if ref not in f.no_tools:
                f.no_tools.append(ref)

        s.change(remove)
        return _tools(s, "")
    raise UsageError("usage: /tool add REF or /tool rm REF")


def _tools(s: Session, arg: str) -> list[Action]:
    return [Say(f"tools: {s.settings.tool_refs_text()}")]


def _temperature(s: Session, arg: str) -> list[Action]:
    if not arg:
        value = s.settings.temperature
        return [Say(f"temperature: {'server default' if value is None else f'{value:g}'}")]
    number = schema.parse_value(schema.TOP["temperature"], arg, "temperature")
    s.change(lambda f: setattr(f, "temperature", number))
    return [Say(f"temperature: {number:g}")]


def _usage(s: Session, arg: str) -> list[Action]:
    t = s.conversation.totals
    requests = f" ({t.requests} request{'s' if t.requests != 1 else ''})" if t.requests != t.turns else ""
    return [Say(f"this session: {t.turns} turn{'s' if t.turns != 1 else ''}{requests}, {t.prompt_tokens:,} in · "
                f"{t.completion_tokens:,} out · {t.seconds:.1f} s")]


def _rewind(s: Session, arg: str) -> list[Action]:
    """Back to just after a turn; the later turns stay in the log as a branch."""
    if arg and not arg.isdigit():
        raise UsageError("usage: /rewind [N] (N: a turn number, 0 the start)")
    s.rewind(int(arg) if arg else None)
    turns = len(s.conversation.turns())
    where = f"after turn {turns}" if turns else "at the start"
    return [Say(f"back {where}; the next message starts a new branch (/branches lists them)"),
            Recap(s.conversation.last_exchange())]


def _undo(s: Session, arg: str) -> list[Action]:
    if not s.conversation.turns():
        return [Say("nothing to undo")]
    s.rewind(None)
    return [Say("dropped the last exchange; it stays as a branch (/branches lists them)"),
            Recap(s.conversation.last_exchange())]


def _retry(s: Session, arg: str) -> list[Action]:
    text = s.conversation.retry()
    if text is None:
        raise UsageError("nothing to retry yet")
    s.save()
    return [Send(text)]


def _branches(s: Session, arg: str) -> list[Action]:
    lines = s.log.branches()
    return [Say("\n".join(lines) if lines else "one branch only: nothing to switch to")]


def _switch(s: Session, arg: str) -> list[Action]:
    model = f", model {s.settings.model}" if s.follow(s.log.switch(arg)) else ""
    turns = len(s.conversation.turns())
    return [Say(f"switched to #{arg.lstrip('#')} ({turns} turn{'s' if turns != 1 else ''}{model})"),
            Recap(s.conversation.last_exchange())]


def _continue(s: Session, arg: str) -> list[Action]:
    if s.conversation.continuable() is None:
        last = s.conversation.entries[-1] if s.conversation.entries else None
        why = "the last reply finished normally" if last and last.role == "assistant" else "no reply to continue"
        return [Say(f"{why}; nothing sent")]
    return [GoOn()]


def _compare(s: Session, arg: str) -> list[Action]:
    """The models to ask the last question of, checked before anything is sent."""
    from ..compare import model_ids
    from ..plan import MAX_MODELS, MODELS_LIMIT

    names = arg.replace(",", " ").split()
    if len(names) > MAX_MODELS:
        raise UsageError(f"{len(names)} models named; /compare asks {MODELS_LIMIT}")
    if not s.conversation.turns():
        raise UsageError("nothing to compare yet: ask a question first")
    if s.schema is not None or s.tools is not None:
        why = "a /schema" if s.schema is not None else "local MCP servers"
        raise UsageError(f"/compare cannot be used with {why} yet: one model answers at a time")
    for name in names:
        schema.check_value(schema.TOP["model"], name, "/compare", UsageError)
    return [Compare(model_ids(names, s.setup.file))]


def _clear(s: Session, arg: str) -> list[Action]:
    s.clear()
    return [Say("new conversation")]


def _save(s: Session, path_text: str, *, force: bool = False) -> list[Action]:
    """/save FILE: the conversation as markdown, titled as `history show` titles it; an existing
    FILE is replaced only when the user says so (/save! FILE says so)."""
    from ..store.db import title_of
    from ..store.recorder import to_message
    from ..store.views import markdown_of

    conversation = s.conversation
    messages = [to_message(e) for e in conversation.entries if e.role != "system"]
    if s.settings.system:
        messages.insert(0, to_message(Entry("system", s.settings.system)))
    first = next((e.content for e in conversation.entries if e.role == "user"), None)
    title = conversation.title or (title_of(first) if first is not None else "otchat conversation")
    path = Path(path_text).expanduser()
    text, said = markdown_of(title, messages), f"saved {len(messages)} messages to {path}"
    if path.exists() and not force:
        return [Overwrite(path, text, said)]
    write_file(path, text)
    return [Say(said)]


def write_file(path: Path, text: str) -> None:
    """Write a file the user named: where they said (no directory is made), or a UsageError."""
    from ..files import write_atomic

    try:
        write_atomic(path, text, make_dirs=False)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _extract(s: Session, arg: str) -> list[Action]:
    if arg not in ("", "last"):
        raise UsageError("usage: /extract [last]")
    reply = next((e for e in reversed(s.conversation.entries) if e.role == "assistant" and e.content), None)
    if reply is None:
        raise UsageError("no reply to extract code from yet")
    return [ShowCode(reply.content, last=arg == "last")]


def _recent(s: Session, arg: str) -> list[Action]:
    from ..store.db import Store
    from ..store.views import listing

    with Store.open(s.env.data_dir) as store:
        rows = store.conversations(10)
    return [Say("\n".join(listing(rows, s.env.columns())) if rows else "no conversations yet")]


def _help(s: Session, arg: str) -> list[Action]:
    return [Say(help_text(s.env.columns()))]


def _edit(s: Session, arg: str) -> list[Action]:
    return [Edit()]


def _resume(s: Session, ref: str) -> list[Action]:
    return [Say(s.resume(ref))]


def _prompt(s: Session, arg: str) -> list[Action]:
    from .prompt_turn import prompt_turn

    return [Send(prompt_turn(s, arg))]


def _leave(s: Session, arg: str) -> list[Action]:
    return [Leave()]


COMMANDS = [
    Command("help", "/help", "this list", _help),
    Command("model", "/model [NAME]", "show or switch the model for this session (alias or id)", _model, "models"),
    Command("system", "/system [TEXT|-]", "show, set or (with -) clear the system prompt", _system),
    Command("schema", "/schema [SPEC|-]", "show, set or (with -) clear the JSON Schema replies must match", _schema),
    Command("role", "/role NAME", "switch to a role from config.toml", _role, "roles"),
    Command("tool", "/tool add|rm REF", "add or remove a hosted MCP tool", _tool, "tools"),
    Command("tools", "/tools", "the tools in use", _tools),
    Command("temperature", "/temperature X", "set the sampling temperature (0 to 2)", _temperature),
    Command("usage", "/usage", "tokens and time used this session", _usage),
    Command("retry", "/retry", "ask the last message again (both answers are kept)", _retry),
    Command("undo", "/undo", "go back one turn (same as /rewind)", _undo),
    Command("rewind", "/rewind [N]", "go back to just after turn N (0: the start); later turns stay a branch",
            _rewind),
    Command("branches", "/branches", "the other branches of this conversation", _branches),
    Command("switch", "/switch ID", "make branch ID (#12, as /branches shows it) current", _switch, "branches",
            needs_arg=True),
    Command("continue", "/continue", "go on with a reply that was cut short", _continue),
    Command("compare", "/compare MODEL [MODEL...]", "ask the last question of other models too (this answer stays)",
            _compare, "models", needs_arg=True),
    Command("clear", "/clear", "start a new conversation", _clear),
    Command("edit", "/edit", "write the next message in $EDITOR (also Ctrl-X Ctrl-E)", _edit),
    Command("save", "/save[!] FILE", "save the conversation as markdown (! replaces FILE without asking)", _save,
            needs_arg=True),
    Command("extract", "/extract [last]", "print only the code of the last reply (last: its last block)", _extract),
    Command("history", "/history", "recent conversations", _recent),
    Command("resume", "/resume ID", "continue a past conversation", _resume, needs_arg=True),
    Command("resources", "/resources [SERVER]", "the local MCP servers' resources and templates",
            lambda s, arg: [Say(mcp_slash.resources_text(s, arg))]),
    Command("read", "/read SERVER URI", "show a resource (@SERVER:URI in a message attaches it)",
            lambda s, arg: [Say(mcp_slash.read_text(s, arg))], "resources", needs_arg=True),
    Command("prompt", "/prompt SERVER:NAME [KEY=VALUE...]", "a local MCP server's prompt as the next turn", _prompt,
            "prompts", needs_arg=True),
    Command("exit", "/exit", "leave (also Ctrl-D)", _leave),
]
# /quit leaves too; /help and Tab name /exit only.
BY_NAME = {command.name: command for command in COMMANDS} | {"quit": COMMANDS[-1]} | {
    "save!": Command("save!", "/save! FILE", "", lambda s, arg: _save(s, arg, force=True), needs_arg=True)}
