"""The REPL's `/prompt SERVER:NAME key=value ...`: a local MCP server's prompt as the next turn
(its earlier messages join the conversation, its last user message is sent), and what Tab
offers for it: prompt names, argument names, and the values the server's completion/complete
gives. Only servers the session runs (config.toml's enabled ones, --mcp, --mcp-command)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..conversation import Entry
from ..env import Env
from ..errors import UsageError
from ..session import Session
from ..text import visible

if TYPE_CHECKING:
    from ..mcp.hub import Hub
    from ..mcp.prompts import Prompt

USAGE = "/prompt SERVER:NAME [KEY=VALUE...]"


def hub_of(session: Session) -> Hub | None:
    """The session's running MCP servers, if it has any."""
    from ..mcp.hub import Hub

    return session.tools if isinstance(session.tools, Hub) else None


def prompt_turn(session: Session, arg: str) -> str:
    """Get the prompt with its arguments; its turns before the last user message join the
    conversation; that message (to send next) is returned. A missing required argument is
    asked for on a terminal, a usage error in a script."""
    import shlex

    from ..mcp.prompts import find, get_turns, parse_arguments, parse_ref, split

    try:  # a value with spaces is quoted: city="Saint Malo"
        ref, *words = shlex.split(arg)
    except ValueError as exc:
        raise UsageError(f"usage: {USAGE} ({exc})") from None
    server, name = parse_ref(ref)
    hub = hub_of(session)
    running = hub.servers() if hub is not None else []
    if hub is None or server not in running:
        raise UsageError(f"no MCP server {server!r} in this session; running: {', '.join(running) or 'none'}")
    prompt = find(hub, server, name)
    try:
        given = fill_missing(session.env, hub, prompt, parse_arguments(words), f"{USAGE}; Tab offers names and values")
    except KeyboardInterrupt:  # Ctrl-C at the question: back to the REPL's prompt
        raise UsageError(f"prompt {prompt.ref}: nothing sent") from None
    context, question = split(prompt, get_turns(hub, prompt, given))
    for role, text in context:
        session.conversation.add(Entry(role if role in ("user", "assistant") else "user", text))
    return question


def fill_missing(env: Env, hub: Hub, prompt: Prompt, given: dict[str, str], hint: str) -> dict[str, str]:
    """The required arguments not given, asked for on a terminal (with the values the server's
    completion/complete offers, when it does); in a pipe, a usage error (`hint` says what to do)."""
    missing = prompt.missing(given)
    if not missing:
        return given
    if not (env.stdin_isatty and env.stdin is not None):
        names = ", ".join(f"{a.name}=..." for a in missing)
        raise UsageError(f"prompt {prompt.ref} needs {names}", hint=hint)
    from ..mcp.prompts import complete
    from .prompts import ask

    filled = dict(given)
    for argument in missing:
        about = f" ({' '.join(argument.description.split())})" if argument.description else ""
        offered = complete(hub, prompt, argument.name, "", filled)
        about += f" [{', '.join(offered[:8])}{', ...' if len(offered) > 8 else ''}]" if offered else ""
        while not filled.get(argument.name):
            line = ask(env, visible(f"{argument.name}{about}: "))
            if not line:  # Ctrl-D: nothing more will be typed
                raise UsageError(f"prompt {prompt.ref} needs {argument.name}=...")
            filled[argument.name] = line.strip()
    return filled


def candidates(session: Session, arg: str) -> list[str]:
    """What Tab offers after `/prompt `: whole argument texts that start with `arg`."""
    hub = hub_of(session)
    if hub is None:
        return []
    try:  # what the server sends goes into the line only when it holds no control character
        return [word for word in _candidates(hub, arg) if visible(word) == word]
    except Exception:  # noqa: BLE001 - a server that fails or is slow offers nothing; Tab never fails
        return []


def _candidates(hub: Hub, arg: str) -> list[str]:
    from ..mcp.prompts import list_prompts

    if " " not in arg:  # the prompt's name
        server = arg.partition(":")[0]
        chosen = [s for s in hub.servers() if s == server] or [s for s in hub.servers() if s.startswith(server)]
        return [prompt.ref + " " for s in chosen for prompt in list_prompts(hub, s, 2.0)]
    ref, _, rest = arg.partition(" ")
    server, _, name = ref.partition(":")
    if server not in hub.servers():
        return []
    prompt = next((p for p in list_prompts(hub, server, 2.0) if p.name == name), None)
    if prompt is None:
        return []
    done, _, last = rest.rpartition(" ")
    head = arg[:len(arg) - len(last)]  # what was typed before the last word, spaces and all
    return [head + word for word in _words(hub, prompt, done.split(), last)]


def _words(hub: Hub, prompt: Prompt, done: list[str], last: str) -> list[str]:
    """The argument word being typed: `name=` of those not given yet, or `name=value` values."""
    from ..mcp.prompts import complete

    given = dict(word.partition("=")[::2] for word in done if "=" in word)
    key, sep, value = last.partition("=")
    if not sep:
        return [f"{a.name}=" for a in prompt.arguments if a.name not in given]
    return [f"{key}={v}" for v in complete(hub, prompt, key, value, given) if " " not in v]
