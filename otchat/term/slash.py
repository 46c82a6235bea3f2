"""Slash commands of the REPL: parsing, dispatch and help. No prompt-toolkit here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import UsageError
from ..conversation import Session


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    help: str
    complete: str | None = None  # what the argument completes from: models, roles, tools


COMMANDS = [
    Command("help", "/help", "this list"),
    Command("model", "/model [NAME]", "show or switch the model for this session (alias or id)", "models"),
    Command("system", "/system [TEXT|-]", "show, set or (with -) clear the system prompt"),
    Command("role", "/role NAME", "switch to a role from config.toml", "roles"),
    Command("tool", "/tool add|rm REF", "add or remove a hosted MCP tool", "tools"),
    Command("tools", "/tools", "the tools in use"),
    Command("temperature", "/temperature X", "set the sampling temperature (0 to 2)"),
    Command("usage", "/usage", "tokens and time used this session"),
    Command("retry", "/retry", "send the last message again"),
    Command("undo", "/undo", "drop the last exchange"),
    Command("clear", "/clear", "start a new conversation"),
    Command("edit", "/edit", "write the next message in $EDITOR (also Ctrl-X Ctrl-E)"),
    Command("save", "/save FILE", "save the conversation as markdown"),
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
    return Outcome(s.set_model(arg) if arg else f"model: {s.settings.model}")


def _system(s: Session, arg: str) -> Outcome:
    if not arg:
        return Outcome(f"system prompt: {s.settings.system}" if s.settings.system else "no system prompt")
    return Outcome(s.set_system(arg))


def _role(s: Session, arg: str) -> Outcome:
    if not arg:
        roles = ", ".join(sorted(s.file.get("roles", {}))) or "none defined in config.toml"
        return Outcome(f"role: {s.settings.role or 'none'} (roles: {roles})")
    return Outcome(s.set_role(arg))


def _tool(s: Session, arg: str) -> Outcome:
    action, _, ref = arg.partition(" ")
    ref = ref.strip()
    if action == "add" and ref:
        return Outcome(s.add_tool(ref))
    if action in ("rm", "remove") and ref:
        return Outcome(s.remove_tool(ref))
    raise UsageError("usage: /tool add REF or /tool rm REF")


def _temperature(s: Session, arg: str) -> Outcome:
    if not arg:
        value = s.settings.temperature
        return Outcome(f"temperature: {'server default' if value is None else f'{value:g}'}")
    return Outcome(s.set_temperature(arg))


def _recent(s: Session) -> str:
    from ..commands.history import when
    from ..store.db import Store

    with Store.open(s.env.data_dir) as store:
        rows = store.conversations(10)
    if not rows:
        return "no conversations yet"
    return "\n".join(f"{c.id[:8]}  {when(c.updated)}  {c.count:>3}  {c.title}" for c in rows)


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
    "role": _role,
    "tool": _tool,
    "tools": lambda s, a: Outcome(f"tools: {s.tool_refs_text()}"),
    "temperature": _temperature,
    "usage": lambda s, a: Outcome(s.usage_text()),
    "retry": lambda s, a: Outcome(message=s.retry_text()),
    "undo": lambda s, a: Outcome(s.undo()),
    "clear": lambda s, a: Outcome(s.clear()),
    "edit": lambda s, a: Outcome(edit=True),
    "save": _needs_arg("/save FILE", lambda s, a: Outcome(s.save(a))),
    "history": lambda s, a: Outcome(_recent(s)),
    "resume": _needs_arg("/resume ID", lambda s, a: Outcome(s.resume(a))),
    "exit": lambda s, a: Outcome(exit=True),
    "quit": lambda s, a: Outcome(exit=True),
}
