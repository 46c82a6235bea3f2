"""Views of the log shared by `otchat history …` and the REPL's /history and /save: the
listing of conversations, a conversation as markdown or JSON, times as people read them."""

from __future__ import annotations

import json
import time
from typing import Any

from ..errors import UsageError
from ..text import fit
from .db import Branch, Message, Store, StoredConversation


def when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def listing(conversations: list[StoredConversation], width: int | None = None) -> list[str]:
    """One line a conversation: id, last change, model, message count, title (and its branches,
    if several). Within `width` (a terminal's): below 80 columns without the model, the title cut."""
    wide = width is None or width >= 80
    return [fit(f"{c.id[:8]}  {when(c.updated)}  " + (f"{(c.model or '-'):<28}  " if wide else "")
                + f"{c.count:>3}  {c.title}", width, f"  ({c.branches} branches)" if c.branches > 1 else "")
            for c in conversations]


def markdown_of(title: str, messages: list[Message], *, ids: bool = False) -> str:
    """Messages as markdown; with `ids` each heading says which message it is and which it follows."""
    lines = [f"# {title}", ""]
    for m in messages:
        head = f"## {m.role}" + (f" ({m.model})" if m.role == "assistant" and m.model else "")
        if ids:
            head += f" · #{m.id}" + (f" after #{m.parent}" if m.parent is not None else "")
        if m.hidden:  # undone, replaced by /retry, or never answered: kept, never sent again
            head += " · not sent again"
        lines += [head, ""]
        if m.reasoning:  # marked as what it is, apart from the answer
            lines += ["> *reasoning*", ">", *(f"> {line}".rstrip() for line in m.reasoning.strip().split("\n")), ""]
        lines += _tool_items(m) if m.items else [m.content]
        for call in m.tool_calls:
            function = call.get("function", {})
            lines += ["", f"tool call `{function.get('name')}`: `{function.get('arguments')}`"]
        if m.interrupted:
            lines += ["", "*[interrupted]*"]
        lines.append("")
    return "\n".join(lines)


def _tool_items(m: Message) -> list[str]:
    """A tool result as the screen showed it: its text, then a line for each other item."""
    from ..models import item_line

    texts = [str(item.get("text", "")) for item in m.items if item.get("type") == "text"]
    rendered = any(text.strip() for text in texts)
    rest = [f"- `{item_line(item)}`" for item in m.items
            if item.get("type") != "text" and not (item.get("type") == "structured" and rendered)]
    return ["\n".join(texts), *rest] if rendered else rest


def export_text(conversation: StoredConversation, fmt: str, schema: dict[str, Any] | None = None) -> str:
    """A conversation as `markdown` or `json` (which holds the JSON Schema its replies match, or null)."""
    if fmt == "json":
        data = {**conversation.to_json(), "schema": schema}
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return markdown_of(conversation.title, conversation.messages)


def first_words(text: str, count: int = 8) -> str:
    words = text.split()
    return " ".join(words[:count]) + (" …" if len(words) > count else "")


def pick_leaf(store: Store, cid: str, ref: str) -> int:
    """The message a branch reference names: a message id of `cid` (`#12` or `12`), else the one
    leaf whose id starts with `ref`."""
    digits = ref.strip().lstrip("#")
    if not digits.isdigit():
        raise UsageError(f"not a branch id: {ref!r}", hint="/branches (or otchat history show ID --tree) shows them")
    try:
        path = store.path(cid, int(digits))  # a message of this conversation, named in full
    except UsageError:
        leaves = [m.id for m in store.leaves(cid) if m.id is not None and str(m.id).startswith(digits)]
        if len(leaves) != 1:
            raise UsageError(f"{'no branch' if not leaves else 'more than one branch'} starts with #{digits}",
                             hint="/branches (or otchat history show ID --tree) shows them") from None
        path = store.path(cid, int(leaves[0]))
    return answered(store, path[-1])


def answered(store: Store, message: Message) -> int:
    """Where a switch to `message` lands: the message itself, or for a question its latest answer
    (the last message of its newest exchange), so the path never ends with a question."""
    if message.role != "user":
        return int(message.id or 0)
    exchange, todo = [], [message]
    while todo:  # the question's exchanges: what follows it up to the next question
        follow = [m for m in store.children(int(todo.pop().id or 0)) if m.role != "user" and not m.hidden]
        exchange += follow
        todo += follow
    if not exchange:
        raise UsageError(f"#{message.id} is a question that got no answer: nothing to go on from",
                         hint="/branches (or otchat history show ID --tree) shows the answered ones")
    return max(int(m.id or 0) for m in exchange)


def path_json(conversation: StoredConversation, path: list[Message], branches: list[Branch] | None,
              schema: dict[str, Any] | None = None) -> str:
    """A conversation as JSON: `messages` its current path (each with `id` and `parent`),
    `branches` the other leaves (`id`, `from` where it leaves the path, its `messages`; None: no
    such key, as an export of the path has it), and `schema` the JSON Schema its replies match (or null)."""
    data = conversation.to_json()
    data["messages"] = [m.to_json() for m in path]
    if branches is not None:
        data["branches"] = [b.to_json() for b in branches]
    else:
        del data["branches"]
    data["schema"] = schema
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def open_branches(branches: list[Branch]) -> list[Branch]:
    """The branches one can go on from: not a question that got no reply (logged, nothing after it)."""
    return [b for b in branches
            if not (len(b.messages) == 1 and b.messages[0].role == "user" and b.messages[0].hidden)]


def branch_lines(path: list[Message], branches: list[Branch]) -> list[str]:
    """One line for each branch off `path`: `#LEAF  from turn N  M messages  first words`; an answer
    by another model than the path's answer to the same question (a comparison) says whose it is."""
    turn_at: dict[int | None, int] = {None: 0}
    answered_by = {m.parent: m.model for m in path if m.role == "assistant"}
    turn = 0
    for m in path:
        turn += m.role == "user"
        turn_at[m.id] = turn
    lines = []
    for b in open_branches(branches):
        first = b.messages[0]
        who = f" ({first.model})" if first.role == "assistant" and first.model not in (
            None, answered_by.get(b.from_id, first.model)) else ""
        lines.append(f"#{b.leaf}  from turn {turn_at.get(b.from_id, 0)}  {len(b.messages)} message"
                     f"{'s' if len(b.messages) != 1 else ''}  {first.role}{who}: {first_words(first.content)}")
    return lines


def tree_lines(messages: list[Message], current: int | None, *, drawn: bool, width: int | None = None) -> list[str]:
    """The whole tree, a line a message: a chain stays in its column, each fork indents its
    branches (drawn with box characters on a terminal, `- ` and spaces in a pipe); each line cut
    to `width` (a terminal's), its `← current` kept."""
    children: dict[int | None, list[Message]] = {}
    for m in messages:
        children.setdefault(m.parent, []).append(m)
    lines: list[str] = []

    def line(prefix: str, m: Message, model: bool = False) -> str:
        mark = "  ← current" if m.id == current else ""
        hidden = " (not sent again)" if m.hidden else ""
        who = f" ({m.model})" if model and m.model else ""
        return fit(f"{prefix}#{m.id} {m.role}{who}: {first_words(m.content, 10)}", width, hidden + mark)

    def branch(kids: list[Message], prefix: str) -> None:
        # Answers of several models to one question (a comparison) say whose each is.
        compared = len({kid.model for kid in kids if kid.role == "assistant"}) > 1
        for n, kid in enumerate(kids):
            last = n == len(kids) - 1
            if len(kids) == 1:
                head, rest = prefix, prefix
            elif drawn:
                head, rest = prefix + ("└── " if last else "├── "), prefix + ("    " if last else "│   ")
            else:
                head, rest = prefix + "- ", prefix + "  "
            node: Message | None = kid
            first = True
            while node is not None:  # a chain without forks: one column, no recursion
                lines.append(line(head if first else rest, node, compared and first))
                first = False
                following = children.get(node.id, [])
                if len(following) == 1:
                    node = following[0]
                    continue
                if following:
                    branch(following, rest)
                node = None

    branch(children.get(None, []), "")
    return lines
