"""The REPL's MCP resource commands (/resources, /read) and the `@SERVER:URI` mentions of a
REPL line: what they say, as text (term/slash.py declares the commands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..env import Env
from ..errors import OtchatError, UsageError
from ..mcp import resources
from ..session import Session

if TYPE_CHECKING:
    from ..mcp.hub import Hub


def _hub(session: Session) -> Hub:
    from ..mcp.hub import Hub

    if not isinstance(session.tools, Hub) or not session.tools.servers():
        raise UsageError("no local MCP server is running", hint="configure [mcp.servers.NAME] or pass --mcp-command")
    return session.tools


def resources_text(session: Session, arg: str) -> str:
    """/resources [SERVER]: the running servers' resources and templates."""
    hub = _hub(session)
    servers = hub.servers()
    if arg:
        if arg not in servers:
            raise UsageError(f"no running MCP server {arg!r}; servers: {', '.join(servers)}")
        servers = [arg]
    found = [item for server in servers for item in resources.listing(hub, server)]
    return "\n".join(resources.table(servers, found))


def read_text(session: Session, arg: str) -> str:
    """/read SERVER URI: a text resource's text, or a blob's type and size."""
    hub = _hub(session)
    server, _, uri = arg.partition(" ")
    uri = uri.strip()
    if not uri:
        raise UsageError("usage: /read SERVER URI")
    if server not in hub.servers():
        raise UsageError(f"no running MCP server {server!r}; servers: {', '.join(hub.servers())}")
    uri = resources.fill(uri, _ask(session.env), uri)
    parts = [resources.blob_line(c) if c.blob is not None else (c.text or "").rstrip("\n")
             for c in resources.read(hub, server, uri)]
    return "\n".join(parts) or f"{uri} is empty"


def with_resources(env: Env, session: Session, line: str) -> str:
    """A REPL line with the resources it mentions (`@SERVER:URI`) attached as fenced blocks."""
    from ..wire.request import compose_user_message

    text, blocks = resources.expand(session.tools, line, _ask(env), session.settings.max_input_bytes)
    return compose_user_message(text, blocks, None, placeholder=False) if blocks else text


def _ask(env: Env) -> resources.Ask | None:
    if not env.stdin_isatty:
        return None
    from .prompts import ask

    return lambda question: ask(env, question)


# TAB: `/read SERVER URI` and `@SERVER:URI` ---------------------------------------------------

LISTED_FOR = 30.0  # seconds a server's listing answers TAB before it is asked again
_listed_at: dict[int, tuple[float, list[resources.Listed]]] = {}


def _listed(hub: Hub) -> list[resources.Listed]:
    """Every running server's resources and templates, asked at most every LISTED_FOR seconds."""
    import time

    now = time.monotonic()
    hit = _listed_at.get(id(hub))
    if hit is not None and now - hit[0] < LISTED_FOR:
        return hit[1]
    found: list[resources.Listed] = []
    for server in hub.servers():
        try:
            found += resources.listing(hub, server)
        except OtchatError:  # a server that cannot list offers nothing; TAB never fails
            continue
    _listed_at[id(hub)] = (now, found)
    return found


def _running(session: Session) -> Hub | None:
    try:
        return _hub(session)
    except UsageError:
        return None


def read_candidates(session: Session, arg: str) -> list[str]:
    """What `/read ARG` completes to: a running server's name, then that server's URIs."""
    hub = _running(session)
    if hub is None:
        return []
    server, sep, uri = arg.partition(" ")
    if not sep:
        return [f"{name} " for name in hub.servers()]
    if server not in hub.servers():
        return []
    return [f"{server} {u}" for u in resources.completions(hub, server, _listed(hub), uri) if _typable(u)]


def mention_candidates(session: Session, text: str) -> list[str]:
    """What the last word of a REPL line completes to when it starts a mention: `@SERVER:`,
    then `@SERVER:URI` of that server's resources and templates."""
    word = "" if not text or text[-1].isspace() else text.rsplit(maxsplit=1)[-1]
    if not word.startswith("@") or word.startswith("@@"):
        return []
    hub = _running(session)
    if hub is None:
        return []
    server, sep, uri = word[1:].partition(":")
    if not sep:
        return [f"@{name}:" for name in hub.servers()]
    if server not in hub.servers():
        return []
    return [f"@{server}:{u}" for u in resources.completions(hub, server, _listed(hub), uri) if _typable(u)]


def _typable(uri: str) -> bool:
    return uri.isprintable() and not any(c.isspace() for c in uri)
