"""Views of the log shared by `otchat history …` and the REPL's /history and /save: the
listing of conversations, a conversation as markdown or JSON, times as people read them."""

from __future__ import annotations

import json
import time
from typing import Any

from .db import Conversation, Message


def when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def listing(conversations: list[Conversation]) -> list[str]:
    """One line a conversation: id, last change, model, message count, title."""
    return [f"{c.id[:8]}  {when(c.updated)}  {(c.model or '-'):<28}  {c.count:>3}  {c.title}" for c in conversations]


def markdown_of(title: str, messages: list[Message]) -> str:
    lines = [f"# {title}", ""]
    for m in messages:
        head = f"## {m.role}" + (f" ({m.model})" if m.role == "assistant" and m.model else "")
        if m.hidden:  # undone, replaced by /retry, or never answered: kept, never sent again
            head += " · not sent again"
        lines += [head, ""]
        if m.reasoning:  # marked as what it is, apart from the answer
            lines += ["> *reasoning*", ">", *(f"> {line}".rstrip() for line in m.reasoning.strip().split("\n")), ""]
        lines.append(m.content)
        for call in m.tool_calls:
            function = call.get("function", {})
            lines += ["", f"tool call `{function.get('name')}`: `{function.get('arguments')}`"]
        if m.interrupted:
            lines += ["", "*[interrupted]*"]
        lines.append("")
    return "\n".join(lines)


def export_text(conversation: Conversation, fmt: str, schema: dict[str, Any] | None = None) -> str:
    """A conversation as `markdown` or `json` (which holds the JSON Schema its replies match, or null)."""
    if fmt == "json":
        data = {**conversation.to_json(), "schema": schema}
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return markdown_of(conversation.title, conversation.messages)
