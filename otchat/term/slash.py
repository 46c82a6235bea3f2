"""Slash commands of the REPL: parsing, dispatch, help, and what each one does to the session.

A command that changes a setting changes the same Flags the command-line flags fill, and the
session resolves them again (`runner.Session.change`): one implementation, two front doors.
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


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    help: str
    complete: str | None = None  # what the argument completes from: models, roles, tools, branches


COMMANDS = [
    Command("help", "/help", "this list"),
    Command("model", "/model [NAME]", "show or switch the model for this session (alias or id)", "models"),
    Command("system", "/system [TEXT|-]", "show, set or (with -) clear the system prompt"),
    Command("schema", "/schema [SPEC|-]", "show, set or (with -) clear the JSON Schema replies must match"),
    Command("role", "/role NAME", "switch to a role from config.toml", "roles"),
    Command("tool", "/tool add|rm REF", "add or remove a hosted MCP tool", "tools"),
    Command("tools", "/tools", "the tools in use"),
    Command("temperature", "/temperature X", "set the sampling temperature (0 to 2)"),
    Command("usage", "/usage", "tokens and time used this session"),
    Command("retry", "/retry", "ask the last message again (both answers are kept)"),
    Command("undo", "/undo", "go back one turn (same as /rewind)"),
    Command("rewind", "/rewind [N]", "go back to just after turn N (0: the start); later turns stay a branch"),
    Command("branches", "/branches", "the other branches of this conversation"),
    Command("switch", "/switch ID", "make branch ID (#12, as /branches shows it) current", "branches"),
    Command("continue", "/continue", "go on with a reply that was cut short"),
    Command("compare", "/compare MODEL [MODEL...]", "ask the last question of other models too (this answer stays)",
            "models"),
    Command("clear", "/clear", "start a new conversation"),
    Command("edit", "/edit", "write the next message in $EDITOR (also Ctrl-X Ctrl-E)"),
    Command("save", "/save FILE", "save the conversation as markdown"),
    Command("extract", "/extract [last]", "print only the code of the last reply (last: its last block)"),
    Command("history", "/history", "recent conversations"),
    Command("resume", "/resume ID", "continue a past conversation"),
    Command("exit", "/exit", "leave (also Ctrl-D)"),
]
BY_NAME = {command.name: command for command in COMMANDS}


@dataclass
class Outcome:
    """What the REPL does after a slash command: print `text`, maybe send `message`, maybe exit."""

    text: str = ""
    message: str | None = None
    edit: bool = False
    exit: bool = False
    recap: list[tuple[str, str]] | None = None  # (role, text) shown dimmed: where the conversation stands
    go_on: bool = False  # /continue the last reply
    code: str | None = None  # a reply to show only the code of (/extract)
    compare: list[str] | None = None  # model ids to ask the last question of (/compare)
    last_block: bool = False


def is_command(line: str) -> bool:
    return line.startswith("/") and not line.startswith("//")


def run(session: Session, line: str) -> Outcome:
    """Run one slash command; a bad one is a UsageError the REPL prints as a hint."""
    name, _, arg = line[1:].strip().partition(" ")
    arg = arg.strip()
    handler = _HANDLERS.get(name)
    if handler is None:
        close = [c.name for c in COMMANDS if c.name.startswith(name[:2])] if name else []
        hint = f"did you mean /{close[0]}? " if close else ""
        raise UsageError(f"unknown command /{name}; {hint}/help lists them")
    return handler(session, arg)


def help_text() -> str:
    width = max(len(c.usage) for c in COMMANDS)
    rows = [f"  {c.usage:<{width}}  {c.help}" for c in COMMANDS]
    keys = ("Enter sends · Alt-Enter or Ctrl-J: new line · Ctrl-C stops a reply or clears the line"
            " · Ctrl-D leaves")
    return "\n".join(["Commands:", *rows, keys])


def _model(s: Session, arg: str) -> Outcome:
    if not arg:
        return Outcome(f"model: {s.settings.model}")
    name = schema.parse_value(schema.TOP["model"], arg, "model")
    s.change(lambda f: setattr(f, "model", name))
    return Outcome(f"model: {s.settings.model}")


def _system(s: Session, arg: str) -> Outcome:
    if not arg:
        return Outcome(f"system prompt: {s.settings.system}" if s.settings.system else "no system prompt")
    value = "" if arg.strip() == "-" else arg
    s.change(lambda f: setattr(f, "system", value))
    return Outcome(f"system prompt: {s.settings.system}" if s.settings.system else "system prompt cleared")


def _schema(s: Session, arg: str) -> Outcome:
    import json

    from ..structured import parse_spec

    if arg.strip() == "-":
        s.set_schema(None)
        return Outcome("schema cleared")
    if arg.strip():
        s.set_schema(parse_spec(arg.strip()))
    return Outcome(f"schema: {json.dumps(s.schema, ensure_ascii=False)}" if s.schema else "no schema")


def _role(s: Session, arg: str) -> Outcome:
    if not arg:
        roles = ", ".join(sorted(s.setup.file.get("roles", {}))) or "none defined in config.toml"
        return Outcome(f"role: {s.settings.role or 'none'} (roles: {roles})")
    s.change(lambda f: setattr(f, "role", arg))
    return Outcome(f"role: {arg} (model {s.settings.model})")


def _tool(s: Session, arg: str) -> Outcome:
    action, _, ref = arg.partition(" ")
    ref = ref.strip()
    if action == "add" and ref:
        def add(f: Flags) -> None:
            f.no_tools = [r for r in f.no_tools if r != ref]
            if ref not in f.tools:
                f.tools.append(ref)

        s.change(add)
        return Outcome(f"tools: {s.settings.tool_refs_text()}")
    if action in ("rm", "remove") and ref:
        if ref not in s.settings.tool_refs():
            raise UsageError(f"{ref} is not in use; tools: {s.settings.tool_refs_text()}")

        def remove(f: Flags) -> None:
            f.tools = [r for r in f.tools if r != ref]
            if ref not in f.no_tools:
                f.no_tools.append(ref)

        s.change(remove)
        return Outcome(f"tools: {s.settings.tool_refs_text()}")
    raise UsageError("usage: /tool add REF or /tool rm REF")


def _temperature(s: Session, arg: str) -> Outcome:
    if not arg:
        value = s.settings.temperature
        return Outcome(f"temperature: {'server default' if value is None else f'{value:g}'}")
    number = schema.parse_value(schema.TOP["temperature"], arg, "temperature")
    s.change(lambda f: setattr(f, "temperature", number))
    return Outcome(f"temperature: {number:g}")


def _usage(s: Session) -> str:
    t = s.totals
    requests = f" ({t.requests} request{'s' if t.requests != 1 else ''})" if t.requests != t.turns else ""
    return (f"this session: {t.turns} turn{'s' if t.turns != 1 else ''}{requests}, {t.prompt_tokens:,} in · "
            f"{t.completion_tokens:,} out · {t.seconds:.1f} s")


def _rewind(s: Session, arg: str) -> Outcome:
    """Back to just after a turn; the later turns stay in the log as a branch."""
    if arg and not arg.isdigit():
        raise UsageError("usage: /rewind [N] (N: a turn number, 0 the start)")
    s.rewind(int(arg) if arg else None)
    turns = len(s.conversation.turns())
    where = f"after turn {turns}" if turns else "at the start"
    return Outcome(f"back {where}; the next message starts a new branch (/branches lists them)",
                   recap=s.conversation.last_exchange())


def _undo(s: Session) -> Outcome:
    if not s.conversation.turns():
        return Outcome("nothing to undo")
    s.rewind(None)
    return Outcome("dropped the last exchange; it stays as a branch (/branches lists them)",
                   recap=s.conversation.last_exchange())


def _retry(s: Session) -> str:
    text = s.conversation.retry()
    if text is None:
        raise UsageError("nothing to retry yet")
    s.save()
    return text


def _branches(s: Session) -> str:
    lines = s.log.branches()
    return "\n".join(lines) if lines else "one branch only: nothing to switch to"


def _switch(s: Session, arg: str) -> Outcome:
    model = f", model {s.settings.model}" if s.switch(arg) else ""
    turns = len(s.conversation.turns())
    return Outcome(f"switched to #{arg.lstrip('#')} ({turns} turn{'s' if turns != 1 else ''}{model})",
                   recap=s.conversation.last_exchange())


def _continue(s: Session) -> Outcome:
    if s.conversation.continuable() is None:
        last = s.conversation.entries[-1] if s.conversation.entries else None
        why = "the last reply finished normally" if last and last.role == "assistant" else "no reply to continue"
        return Outcome(f"{why}; nothing sent")
    return Outcome(go_on=True)


def _compare(s: Session, arg: str) -> Outcome:
    """The models to ask the last question of, checked before anything is sent."""
    from ..compare import model_ids
    from ..config.resolve import MAX_MODELS

    names = arg.replace(",", " ").split()
    if len(names) > MAX_MODELS:
        raise UsageError(f"{len(names)} models named; /compare asks at most {MAX_MODELS} at once")
    if not s.conversation.turns():
        raise UsageError("nothing to compare yet: ask a question first")
    if s.schema is not None or s.tools is not None:
        why = "a /schema" if s.schema is not None else "local MCP servers"
        raise UsageError(f"/compare cannot be used with {why} yet: one model answers at a time")
    for name in names:
        schema.check_value(schema.TOP["model"], name, "/compare", UsageError)
    return Outcome(compare=model_ids(names, s.setup.file))


def _clear(s: Session) -> str:
    s.clear()
    return "new conversation"


def _save(s: Session, path_text: str) -> str:
    from ..files import write_atomic
    from ..store.recorder import to_message
    from ..store.views import markdown_of

    conversation = s.conversation
    messages = [to_message(e) for e in conversation.entries]
    if s.settings.system:
        messages.insert(0, to_message(Entry("system", s.settings.system)))
    path = Path(path_text).expanduser()
    try:
        write_atomic(path, markdown_of(conversation.title or "otchat conversation", messages))
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    return f"saved {len(conversation.entries)} messages to {path}"


def _extract(s: Session, arg: str) -> Outcome:
    if arg not in ("", "last"):
        raise UsageError("usage: /extract [last]")
    reply = next((e for e in reversed(s.conversation.entries) if e.role == "assistant" and e.content), None)
    if reply is None:
        raise UsageError("no reply to extract code from yet")
    return Outcome(code=reply.content, last_block=arg == "last")


def _recent(s: Session) -> str:
    from ..store.db import Store
    from ..store.views import listing

    with Store.open(s.env.data_dir) as store:
        rows = store.conversations(10)
    return "\n".join(listing(rows)) if rows else "no conversations yet"


def _resume(s: Session, ref: str) -> str:
    return s.resume(ref)


def _needs_arg(usage: str, handler: Callable[[Session, str], Outcome]) -> Callable[[Session, str], Outcome]:
    def wrapped(s: Session, arg: str) -> Outcome:
        if not arg:
            raise UsageError(f"usage: {usage}")
        return handler(s, arg)

    return wrapped


_HANDLERS: dict[str, Callable[[Session, str], Outcome]] = {
    "help": lambda s, a: Outcome(help_text()),
    "model": _model,
    "system": _system,
    "schema": _schema,
    "role": _role,
    "tool": _tool,
    "tools": lambda s, a: Outcome(f"tools: {s.settings.tool_refs_text()}"),
    "temperature": _temperature,
    "usage": lambda s, a: Outcome(_usage(s)),
    "retry": lambda s, a: Outcome(message=_retry(s)),
    "undo": lambda s, a: _undo(s),
    "rewind": _rewind,
    "branches": lambda s, a: Outcome(_branches(s)),
    "switch": _needs_arg("/switch ID", _switch),
    "continue": lambda s, a: _continue(s),
    "compare": _needs_arg("/compare MODEL [MODEL...]", _compare),
    "clear": lambda s, a: Outcome(_clear(s)),
    "edit": lambda s, a: Outcome(edit=True),
    "save": _needs_arg("/save FILE", lambda s, a: Outcome(_save(s, a))),
    "extract": _extract,
    "history": lambda s, a: Outcome(_recent(s)),
    "resume": _needs_arg("/resume ID", lambda s, a: Outcome(_resume(s, a))),
    "exit": lambda s, a: Outcome(exit=True),
    "quit": lambda s, a: Outcome(exit=True),
}
