"""MCP resources: listing a server's resources and templates, reading one, and the `@SERVER:URI`
mentions in words the user typed, which attach a resource's text to the message.

Everything here talks to servers through `Hub.ask`; nothing prints. What a server sends is
untrusted text: the callers show it through `Env.out` (visible on a terminal).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import OtchatError, UsageError
from ..text import visible

if TYPE_CHECKING:
    from .hub import Hub

LIST_TIMEOUT = 30.0
MAX_PAGES = 50  # a server whose cursors never end stops being asked here
NOT_FOUND = (-32002, -32602)  # "resource not found" in the spec, and the invalid params servers send instead
NO_METHOD = -32601

# `@SERVER:URI` at the start of a word (or after an opening bracket or quote); `@@` escapes it.
MENTION = re.compile(r"(?<![^\s(\[\"'`])(@@?)([A-Za-z0-9_.-]+):(\S+)")
TRAILING = ".,;:!?)]'\"`"  # punctuation after a mention ends the sentence, not the URI
VARIABLE = re.compile(r"\{([^{}]*)\}")

Ask = Callable[[str], str]  # asks the person at the terminal one question, answers the line


@dataclass(frozen=True)
class Listed:
    """One resource, or one template (its URI then has `{variables}`)."""

    server: str
    uri: str
    name: str
    mime_type: str | None = None
    size: int | None = None
    description: str = ""
    template: bool = False


@dataclass(frozen=True)
class Content:
    """One item of a read resource: text, or the bytes of a blob."""

    uri: str
    mime_type: str | None
    text: str | None = None
    blob: bytes | None = None

    @property
    def size(self) -> int:
        return len(self.blob) if self.blob is not None else len((self.text or "").encode("utf-8"))


@dataclass(frozen=True)
class Mention:
    server: str
    uri: str

    @property
    def name(self) -> str:
        """What heads its fenced block."""
        return f"{self.server}:{self.uri}"


def listing(hub: Hub, server: str) -> list[Listed]:
    """The server's resources, then its templates (none for a server without resources)."""
    found: list[Listed] = []
    for page in _pages(hub, server, "resources"):
        found += [Listed(server, str(r.uri), r.name, r.mime_type, r.size, r.description or "")
                  for r in page.resources]
    for page in _pages(hub, server, "templates"):
        found += [Listed(server, t.uri_template, t.name, t.mime_type, None, t.description or "", template=True)
                  for t in page.resource_templates]
    return found


def _pages(hub: Hub, server: str, kind: str) -> list[Any]:
    pages: list[Any] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        try:
            page = _page(hub, server, kind, cursor)
        except Exception as exc:  # noqa: BLE001 - a server without resources says "method not found"
            if _code(exc) == NO_METHOD:
                return pages
            raise OtchatError(f"MCP server {server} did not list its {kind}: {_why(exc)}") from None
        pages.append(page)
        cursor = page.next_cursor
        if not cursor:
            break
    return pages


def _page(hub: Hub, server: str, kind: str, cursor: str | None) -> Any:
    from mcp.types import PaginatedRequestParams

    params = PaginatedRequestParams(cursor=cursor) if cursor else None
    if kind == "resources":
        return hub.ask(server, lambda s: s.list_resources(params=params), LIST_TIMEOUT)
    return hub.ask(server, lambda s: s.list_resource_templates(params=params), LIST_TIMEOUT)


def read(hub: Hub, server: str, uri: str, timeout: float | None = None) -> list[Content]:
    """The contents of resource `uri`; an unknown one is a UsageError (the user named it)."""
    from mcp.types import BlobResourceContents, TextResourceContents

    try:
        result = hub.ask(server, lambda s: s.read_resource(uri), timeout or LIST_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - any failure is one line
        if _code(exc) in NOT_FOUND:
            raise UsageError(f"MCP server {server} has no resource {uri!r}: {_why(exc)}",
                             hint=f"otchat mcp resources {server} lists them") from None
        raise OtchatError(f"MCP server {server} could not read {uri!r}: {_why(exc)}") from None
    contents: list[Content] = []
    for item in getattr(result, "contents", None) or []:
        if isinstance(item, TextResourceContents):
            contents.append(Content(str(item.uri), item.mime_type, text=item.text))
        elif isinstance(item, BlobResourceContents):
            try:
                data = base64.b64decode(item.blob, validate=False)
            except ValueError:
                raise OtchatError(f"MCP server {server} sent {uri!r} as a blob that is not base64") from None
            contents.append(Content(str(item.uri), item.mime_type, blob=data))
    return contents


def _code(exc: BaseException) -> int | None:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    return code if isinstance(code, int) else None


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return re.sub(r"^MCP error -?\d+:\s*", "", text)


# Templates ---------------------------------------------------------------------------------


def variables(uri: str) -> list[str]:
    """The `{variables}` a URI still has (RFC 6570 operators such as `{+path}` dropped)."""
    names = [match.group(1).lstrip("+#./;?&").split(",")[0].rstrip("*") for match in VARIABLE.finditer(uri)]
    return list(dict.fromkeys(name for name in names if name))


def fill(uri: str, ask: Ask | None, where: str) -> str:
    """`uri` with each `{variable}` left in it asked for (no `ask`, no terminal: a UsageError)."""
    missing = variables(uri)
    if not missing:
        return uri
    if ask is None:
        raise UsageError(f"{where} leaves {{{missing[0]}}} unfilled, and there is no terminal to ask",
                         hint="put its value in the URI")
    values = {}
    for name in missing:
        answer = ask(f"{name} for {where}: ").strip()
        if not answer:
            raise UsageError(f"{where}: no value given for {{{name}}}")
        values[name] = answer

    def sub(match: re.Match[str]) -> str:
        name = match.group(1).lstrip("+#./;?&").split(",")[0].rstrip("*")
        return values.get(name, match.group(0))

    return VARIABLE.sub(sub, uri)


def completions(hub: Hub, server: str, found: list[Listed], typed: str) -> list[str]:
    """URIs that `typed` may become: the listed resources and templates that start with it, and
    where it fills a template's last `{variable}`, the server's `completion/complete` values."""
    offered = [item.uri for item in found if item.server == server and item.uri.startswith(typed)]
    for item in found:
        head, brace, tail = item.uri.partition("{")
        if not item.template or not brace or not typed.startswith(head) or not tail.endswith("}"):
            continue
        name = variables(item.uri)
        value = typed[len(head):]
        if len(name) != 1 or "{" in tail[:-1] or not all(c.isalnum() or c in "-_." for c in value):
            continue
        offered += [head + v for v in _complete(hub, server, item.uri, name[0], value)]
    return list(dict.fromkeys(offered))


def _complete(hub: Hub, server: str, template: str, name: str, value: str) -> list[str]:
    from mcp.types import ResourceTemplateReference

    ref = ResourceTemplateReference(type="ref/resource", uri=template)
    try:
        result = hub.ask(server, lambda s: s.complete(ref, {"name": name, "value": value}), LIST_TIMEOUT)
    except Exception:  # noqa: BLE001 (a server without completions offers nothing; TAB never fails)
        return []
    return [v for v in result.completion.values if v.startswith(value) and v.isprintable() and " " not in v]


# Mentions in the user's words ---------------------------------------------------------------


def mentions(text: str, servers: list[str]) -> tuple[str, list[Mention]]:
    """The text with `@@SERVER:` made a literal `@SERVER:`, and the `@SERVER:URI` it mentions, in
    order, once each. Only the names in `servers` count: any other `@word:` stays text."""
    found: list[Mention] = []

    def each(match: re.Match[str]) -> str:
        at, server, rest = match.groups()
        if server not in servers:
            return match.group(0)
        if at == "@@":
            return match.group(0)[1:]
        uri = rest.rstrip(TRAILING)
        if uri:
            found.append(Mention(server, uri))
        return match.group(0)

    return MENTION.sub(each, text), list(dict.fromkeys(found))


def attach(hub: Hub, found: list[Mention], ask: Ask | None, limit: int | None = None) -> list[tuple[str, str]]:
    """Each mention read as (name, text) for a fenced block; a blob, a text above `limit` bytes
    (max_input_bytes, as for -f files) or a server that is not running is refused (an error,
    nothing is sent)."""
    running = set(hub.servers())
    blocks = []
    for mention in found:
        where = f"@{mention.name}"
        if mention.server not in running:
            raise OtchatError(f"{where}: MCP server {mention.server} is not running",
                              hint="otchat mcp doctor says why")
        uri = fill(mention.uri, ask, where)
        contents = read(hub, mention.server, uri)
        blob = next((c for c in contents if c.blob is not None), None)
        if blob is not None:
            raise UsageError(f"{where} is binary ({blob.mime_type or 'no type'}, {size(blob.size)}):"
                             " only text resources can be attached",
                             hint=f"save it with: otchat mcp read {mention.server} {uri} -o FILE")
        text = "\n".join(c.text or "" for c in contents)
        if limit is not None and len(text.encode("utf-8")) > limit:
            raise UsageError(f"{where} is larger than max_input_bytes ({limit:,} bytes)",
                             hint="send less, or raise max_input_bytes in config.toml")
        blocks.append((f"{mention.server}:{uri}", text))
    return blocks


def expand(tools: object, prompt: str, ask: Ask | None, limit: int | None = None
           ) -> tuple[str, list[tuple[str, str]]]:
    """A prompt's `@SERVER:URI` mentions of the run's servers (`tools`, a Hub) read as (name, text)
    blocks, and the prompt with `@@SERVER:` made literal; without a mention, the prompt as it is."""
    if tools is None or "@" not in prompt:
        return prompt, []
    from .hub import Hub

    if not isinstance(tools, Hub):
        return prompt, []
    text, found = mentions(prompt, [spec.name for spec in tools.specs])
    blocks = attach(tools, found, ask, limit) if found else []
    for mention, (name, _) in zip(found, blocks, strict=True):
        if name != mention.name:  # a template filled in: the prompt names what was read
            text = text.replace(f"@{mention.name}", f"@{name}")
    return text, blocks


def table(servers: list[str], found: list[Listed]) -> list[str]:
    """A block per server: its resources (URI, name, type, size), then its templates."""
    def one_line(text: str | None) -> str:  # a server's words, made visible: a table cell of one line
        return visible(" ".join((text or "-").split()))

    lines = []
    for server in servers:
        mine = [item for item in found if item.server == server]
        plain = [item for item in mine if not item.template]
        templates = [item for item in mine if item.template]
        lines.append(f"{server}: {len(plain)} resource(s), {len(templates)} template(s)")
        rows = [(one_line(i.uri), one_line(i.name), one_line(i.mime_type),
                 "template" if i.template else size(i.size)) for i in plain + templates]
        widths = [max((len(row[k]) for row in rows), default=0) for k in range(3)]
        lines += ["  " + "  ".join(cell.ljust(widths[k]) for k, cell in enumerate(row[:3])) + "  " + row[3]
                  for row in rows]
    return lines


def blob_line(content: Content) -> str:
    return f"{content.uri}: {content.mime_type or 'no type'} blob, {size(content.size)} (-o FILE saves it)"


def size(n: int | None) -> str:
    if n is None:
        return "-"
    if n < 1000:
        return f"{n} B"
    return f"{n / 1000:.1f} kB" if n < 1_000_000 else f"{n / 1_000_000:.1f} MB"
