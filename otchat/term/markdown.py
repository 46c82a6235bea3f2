"""How markdown looks on a terminal: one shared parser, tokens rewritten so nothing the model
wrote is lost (HTML as text, link targets shown), rich Markdown classes for committed blocks
and the live tail, and printing without blank ends."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from markdown_it import MarkdownIt
from markdown_it.token import Token
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Markdown, MarkdownElement, TextElement
from rich.segment import Segment
from rich.syntax import Syntax, SyntaxTheme

from ..models import Prose

if TYPE_CHECKING:
    from pygments.lexer import Lexer

LINKS = ("inline", "footnotes", "hidden")

# Reference definitions are shown as the model wrote them (the parser leaves them as
# text, see _parser): a streamed block is printed before a definition below it can
# arrive, so resolving them would make the streamed and the whole render differ.
_DEFINITION = re.compile(r"\[[^\]\n]+\]:[ \t]*\S")
_ENCODED = re.compile(r"(?:%[89A-Fa-f][0-9A-Fa-f])+")
_SCHEME = re.compile(r"^(?:https?://|mailto:)", re.IGNORECASE)


def rewrite(tokens: list[Token], prose: Prose) -> list[Token]:
    """`tokens` with raw HTML as text, images as links, a single newline in a paragraph a line
    break (unless `prose.soft_breaks` is "join") and, unless `prose.links` is "hidden", each
    link's target shown where its text does not already show it: after it ("inline") or
    numbered under its top-level block ("footnotes")."""
    out: list[Token] = []
    notes: list[str] = []
    links, keep = prose.links, prose.soft_breaks == "keep"
    for token in tokens:
        if token.type == "inline" and token.children:
            content = token.content
            # Only HTML, autolinks, links and images need a rewrite; all start so.
            if "<" in content or "[" in content:
                token = token.copy(children=_inline(token.children, links, notes))
            if keep and "\n" in content:  # as the model wrote it (GitHub's comments, chat UIs)
                token = token.copy(children=_breaks(token.children or []))
        out.append(token)
        if notes and token.level == 0 and token.nesting == -1:
            out += _footnotes(notes)
            notes = []
    if notes:
        out += _footnotes(notes)
    return out


def _inline(children: list[Token], links: str, notes: list[str]) -> list[Token]:
    out: list[Token] = []
    opened: list[tuple[str, int]] = []  # each open link's target, and where its text starts
    definitions = False
    for child in children:
        kind = child.type
        if kind == "html_inline":
            out.append(_text(child.content))
        elif kind == "image":
            # rich draws an image apart from its paragraph; as a link it stays in place.
            src = str(child.attrs.get("src", ""))
            out += [_link_open(src), _text("🌆 " + child.content), Token("link_close", "a", -1)]
            out += _target(src, child.content, links, notes)
        elif kind == "link_open":
            opened.append((str(child.attrs.get("href", "")), len(out)))
            out.append(child)
        elif kind == "link_close" and opened:
            href, start = opened.pop()
            out.append(child)
            if child.markup != "autolink":
                text = "".join(t.content for t in out[start:] if t.type in ("text", "code_inline"))
                out += _target(href, text, links, notes)
        elif kind == "text" and _DEFINITION.match(child.content):
            definitions = True
            out.append(child)
        else:
            out.append(child)
    if definitions:  # one definition a line, as written, not run together
        out = [Token("hardbreak", "br", 0) if t.type == "softbreak" else t for t in out]
    return out


def _breaks(children: list[Token]) -> list[Token]:
    return [Token("hardbreak", "br", 0) if t.type == "softbreak" else t for t in children]


def _target(href: str, text: str, links: str, notes: list[str]) -> list[Token]:
    """What follows a link so its target is visible: ` (url)`, `[n]`, or nothing."""
    shown = shown_url(href)
    if links == "hidden" or not href or _same(text, shown):
        return []
    if links == "footnotes":
        if shown not in notes:
            notes.append(shown)
        return [_text(f"[{notes.index(shown) + 1}]")]
    return [_text(" ("), _link_open(href), _text(shown), Token("link_close", "a", -1), _text(")")]


def _footnotes(urls: list[str]) -> list[Token]:
    children: list[Token] = []
    for number, url in enumerate(urls, 1):
        if children:
            children.append(Token("hardbreak", "br", 0))
        children += [_text(f"[{number}] "), _link_open(url), _text(url), Token("link_close", "a", -1)]
    return [Token("paragraph_open", "p", 1), Token("inline", "", 0, children=children, level=1),
            Token("paragraph_close", "p", -1)]


def shown_url(href: str) -> str:
    """A link target as the model most likely wrote it: the parser percent-encodes
    non-ASCII characters, which are decoded back for reading."""
    if "%" not in href:
        return href

    def decode(match: re.Match[str]) -> str:
        try:
            return bytes.fromhex(match.group().replace("%", "")).decode("utf-8")
        except UnicodeDecodeError:
            return match.group()

    return _ENCODED.sub(decode, href)


def _same(text: str, url: str) -> bool:
    """Whether a link's text already shows its target (`example.com` for `https://example.com/`)."""
    return _SCHEME.sub("", text.strip()).rstrip("/") == _SCHEME.sub("", url).rstrip("/")


def _text(content: str) -> Token:
    return Token("text", "", 0, content=content)


def _link_open(href: str) -> Token:
    return Token("link_open", "a", 1, attrs={"href": href})


class HtmlBlock(TextElement):
    """A block of raw HTML, shown as the characters the model wrote (rich shows nothing)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        self.text.rstrip()
        yield self.text


def _parser() -> MarkdownIt:
    # rich's Markdown builds a new MarkdownIt for every instance: ~40% of its cost.
    # Reference definitions stay text (see _DEFINITION): a block streamed before them is final.
    return MarkdownIt("commonmark").enable("strikethrough").enable("table").disable("reference")


PARSER = _parser()


class StreamMarkdown(Markdown):
    """rich's Markdown, parsed with one shared parser (or given its tokens), with lexers
    and themes looked up once, showing everything the model wrote: raw HTML as text, link
    targets as `links` says (see rewrite)."""

    elements: ClassVar[dict[str, type[MarkdownElement]]] = {**Markdown.elements, "html_block": HtmlBlock}
    prose = Prose()
    _defaults: dict[str, Any] | None = None

    def __init__(self, markup: str, parsed: list[Token] | None = None) -> None:
        cls = type(self)
        if cls._defaults is None:
            Markdown.__init__(self, "")  # rich's own defaults, whatever its version keeps
            cls._defaults = dict(self.__dict__)
        self.__dict__.update(cls._defaults)
        self.markup = markup
        self.parsed = rewrite(PARSER.parse(markup) if parsed is None else parsed, self.prose)


class _CodeBlock(CodeBlock):
    """rich's code block, with the lexer and theme looked up once per name, not per render."""

    highlight = True

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # A lexer object, never a name: rich looks a name up on every render.
        lexer = (_lexer(self.lexer_name) if self.highlight else None) or _lexer("text") or "text"
        yield Syntax(str(self.text).rstrip(), lexer, theme=_theme(self.theme), word_wrap=True, padding=1)


class _PlainCodeBlock(_CodeBlock):
    """A code block laid out as usual but not highlighted: the live tail is redrawn up to
    ten times a second and highlighting was most of that; committed blocks keep it."""

    highlight = False


@functools.cache
def _lexer(name: str) -> Lexer | None:
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(name, stripnl=False, ensurenl=True, tabsize=4)
    except ClassNotFound:
        return None


@functools.cache
def _theme(name: str) -> SyntaxTheme:
    return Syntax.get_theme(name)


class CommitMarkdown(StreamMarkdown):
    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **StreamMarkdown.elements, "fence": _CodeBlock, "code_block": _CodeBlock
    }


class TailMarkdown(StreamMarkdown):
    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **StreamMarkdown.elements, "fence": _PlainCodeBlock, "code_block": _PlainCodeBlock
    }


@functools.cache
def with_links(base: type[StreamMarkdown], prose: Prose) -> type[StreamMarkdown]:
    """`base`, showing link targets and soft breaks as `prose` says."""
    return base if prose == base.prose else type(base.__name__, (base,), {"prose": prose})


def print_markdown(console: Console, make: Callable[..., Markdown], text: str, parsed: list[Token] | None,
                   *, blank_before: bool) -> None:
    """Print `text` as markdown, without blank lines at its ends (one before, if asked)."""
    console.print(Trimmed(make(text, parsed), blank_before=blank_before))


class Trimmed:
    """A renderable without blank lines at its ends, optionally only its last lines."""

    def __init__(self, renderable: Markdown, keep_last: int | None = None, blank_before: bool = False) -> None:
        self.renderable = renderable
        self.keep_last = keep_last
        self.blank_before = blank_before

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = console.render_lines(self.renderable, options, pad=False)
        while lines and _blank(lines[-1]):
            lines.pop()
        start = 0
        while start < len(lines) and _blank(lines[start]):
            start += 1
        lines = lines[start:]
        if self.keep_last is not None:
            lines = lines[-self.keep_last :]
        newline = Segment.line()
        if self.blank_before:
            yield newline
        for line in lines:
            yield from line
            yield newline


def _blank(line: list[Segment]) -> bool:
    return all(not seg.text.strip() and not (seg.style and seg.style.bgcolor) for seg in line)
