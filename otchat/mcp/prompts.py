"""MCP prompts: a server's templated messages (prompts/list, prompts/get) and the values its
`completion/complete` offers for their arguments, as plain data for the front doors.

Everything here comes from the server and is untrusted: the callers show it through `visible`
on a terminal. The SDK's types are read by attribute only; the SDK loads with the hub.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from mcp import ClientSession
    from mcp.types import ListPromptsResult

    from .hub import Hub

TIMEOUT = 20.0  # a listing or a prompts/get
COMPLETE_TIMEOUT = 2.0  # a Tab's completion/complete: a slow server offers nothing
Turn = tuple[str, str]  # (role, text)


@dataclass(frozen=True)
class Argument:
    name: str
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class Prompt:
    server: str
    name: str
    title: str = ""
    description: str = ""
    arguments: list[Argument] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """How it is named on the command line: SERVER:NAME."""
        return f"{self.server}:{self.name}"

    def missing(self, given: dict[str, str]) -> list[Argument]:
        """Its required arguments that `given` has no value for."""
        return [a for a in self.arguments if a.required and not given.get(a.name)]

    def to_json(self) -> dict[str, Any]:
        return {"server": self.server, "name": self.name, "title": self.title, "description": self.description,
                "arguments": [{"name": a.name, "description": a.description, "required": a.required}
                              for a in self.arguments]}


def parse_ref(text: str) -> tuple[str, str]:
    """`SERVER:NAME` → (server, name); anything else is a usage error."""
    server, sep, name = text.partition(":")
    if not sep or not server or not name:
        raise UsageError(f"a prompt is named SERVER:NAME, not {text!r}", hint="otchat mcp prompts lists them")
    return server, name


def parse_arguments(words: list[str]) -> dict[str, str]:
    """`key=value` words → {key: value} (the value may hold `=` and spaces)."""
    given: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not re.fullmatch(r"[\w.-]+", key):
            raise UsageError(f"a prompt's arguments are key=value, not {word!r}")
        given[key] = value
    return given


def capable(hub: Hub, server: str, what: str) -> bool:
    """Whether the server declared capability `what` (`prompts`, `completions`); one that
    declared nothing is asked anyway."""
    async def capabilities(session: Any) -> Any:
        return getattr(session, "server_capabilities", None)

    declared = hub.ask(server, capabilities, TIMEOUT)
    return declared is None or getattr(declared, what, None) is not None


def list_prompts(hub: Hub, server: str, timeout: float = TIMEOUT) -> list[Prompt]:
    """Every prompt of a started server, all pages of them."""
    from mcp.types import PaginatedRequestParams

    if not capable(hub, server, "prompts"):
        return []
    prompts: list[Prompt] = []
    cursor: str | None = None
    for _ in range(100):  # a server whose cursor never ends gets 100 pages
        page = hub.ask(server, _page(PaginatedRequestParams(cursor=cursor) if cursor else None), timeout)
        prompts.extend(_prompt(server, p) for p in page.prompts)
        cursor = getattr(page, "next_cursor", None)
        if not cursor:
            break
    return prompts


def _page(params: Any) -> Callable[[ClientSession], Awaitable[ListPromptsResult]]:
    return lambda session: session.list_prompts(params=params)


def _prompt(server: str, p: Any) -> Prompt:
    arguments = [Argument(str(a.name), str(a.description or ""), bool(a.required)) for a in p.arguments or []]
    return Prompt(server, str(p.name), str(getattr(p, "title", None) or ""), str(p.description or ""), arguments)


def find(hub: Hub, server: str, name: str, timeout: float = TIMEOUT) -> Prompt:
    """The prompt `name` of `server`; a usage error that names those it has."""
    prompts = list_prompts(hub, server, timeout)
    for prompt in prompts:
        if prompt.name == name:
            return prompt
    known = ", ".join(p.name for p in prompts) or "none"
    raise UsageError(f"MCP server {server} has no prompt {name!r}; its prompts: {known}")


def get_turns(hub: Hub, prompt: Prompt, arguments: dict[str, str], timeout: float = TIMEOUT) -> list[Turn]:
    """The prompt's messages with these arguments (prompts/get), as text turns, one role at a time."""
    try:
        result = hub.ask(prompt.server, lambda session: session.get_prompt(prompt.name, arguments or None), timeout)
    except (TimeoutError, OSError) as exc:
        why = str(exc) or "no answer in time"
        raise UsageError(f"MCP server {prompt.server} did not give prompt {prompt.name}: {why}") from None
    except Exception as exc:  # noqa: BLE001 - a JSON-RPC error: the server refused the arguments
        why = " ".join(str(exc).split()) or type(exc).__name__
        raise UsageError(f"MCP server {prompt.server} refused prompt {prompt.name}: {why}") from None
    messages = getattr(result, "messages", None)
    if messages is None:
        raise UsageError(f"MCP server {prompt.server} asked for input to give prompt {prompt.name}; not supported")
    return join([(str(m.role), content_text(m.content)) for m in messages])


def content_text(content: Any) -> str:
    """One message's content as text: text as it is; an embedded text resource as a fenced block
    headed by its URI; an image, audio or a binary resource as a one-line note (not sent)."""
    kind = getattr(content, "type", None)
    if kind == "text":
        return str(content.text)
    if kind == "resource":
        resource = content.resource
        uri, mime = str(resource.uri), getattr(resource, "mime_type", None) or "binary"
        text = getattr(resource, "text", None)
        if isinstance(text, str):
            from ..wire.request import fenced

            return fenced(uri, text)
        return f"[resource {uri} ({mime}) left out: binary]"
    if kind == "resource_link":
        return f"[resource link {content.uri}]"
    if kind in ("image", "audio"):
        data = str(getattr(content, "data", "") or "")  # base64: 4 characters hold 3 bytes
        size = len(data) * 3 // 4 - data[-2:].count("=")
        return f"[{kind} {getattr(content, 'mime_type', None) or '?'} {_size(size)} left out: only text is sent]"
    return f"[{kind or 'unknown'} content left out]"


def _size(n: int) -> str:
    return f"{n} B" if n < 1000 else f"{n / 1000:.1f} kB"


def join(turns: list[Turn]) -> list[Turn]:
    """Consecutive messages of one role become one (blank line between), so no request holds
    two user turns in a row."""
    out: list[Turn] = []
    for role, text in turns:
        if out and out[-1][0] == role:
            out[-1] = (role, f"{out[-1][1]}\n\n{text}")
        else:
            out.append((role, text))
    return out


def split(prompt: Prompt, turns: list[Turn]) -> tuple[list[Turn], str]:
    """(the turns before the last user message, that message): the context and the question.
    A prompt with no user message, or whose last message is not the user's, has nothing to ask."""
    if not turns or turns[-1][0] != "user":
        last = turns[-1][0] if turns else None
        said = f"ends with an {last} message" if last else "has no messages"
        raise UsageError(f"prompt {prompt.ref} {said}: nothing to send as the question")
    return turns[:-1], turns[-1][1]


def complete(hub: Hub, prompt: Prompt, argument: str, value: str, given: dict[str, str],
             timeout: float = COMPLETE_TIMEOUT) -> list[str]:
    """The values the server offers for `argument` starting from `value` (completion/complete,
    with the arguments already given as context); [] when it offers none or fails."""
    from mcp.types import PromptReference

    if not capable(hub, prompt.server, "completions"):
        return []
    reference = PromptReference(type="ref/prompt", name=prompt.name)
    context = {k: v for k, v in given.items() if k != argument} or None
    try:
        result = hub.ask(prompt.server, lambda session: session.complete(
            reference, {"name": argument, "value": value}, context), timeout)
    except Exception:  # noqa: BLE001 - nothing to offer is the answer
        return []
    return [str(v) for v in result.completion.values]
