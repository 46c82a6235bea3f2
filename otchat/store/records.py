"""What the log holds, as Python values: messages, conversations, branches off the current path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Message:
    role: str
    content: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_call_id: str | None = None
    model: str | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    latency: float | None = None
    interrupted: bool = False
    created: float = 0.0
    reasoning: str | None = None
    hidden: bool = False
    id: int | None = None  # the row, once stored
    parent: int | None = None  # the message this one follows; None for a root
    items: list[dict[str, Any]] = field(default_factory=list)  # a tool result's content by type

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if v not in (None, [], False) and k not in ("id", "parent")}
        data["role"], data["content"] = self.role, self.content
        if self.id is not None:  # a stored message says where it stands in the tree (null: a root)
            data["id"], data["parent"] = self.id, self.parent
        return data


@dataclass
class StoredConversation:
    id: str
    title: str
    model: str | None
    profile: str | None
    created: float
    updated: float
    count: int = 0
    messages: list[Message] = field(default_factory=list)
    current: int | None = None  # the message the conversation goes on from; None: the start
    branches: int = 0  # its leaves (1 for a conversation never rewound or retried; 0 when empty)
    base_url: str | None = None  # where it was last held (None: logged before otchat kept it)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "model": self.model,
            "profile": self.profile,
            "base_url": self.base_url,
            "created": self.created,
            "updated": self.updated,
            "message_count": self.count,
            "current": self.current,
            "branches": self.branches,
            "messages": [m.to_json() for m in self.messages],
        }


@dataclass
class Branch:
    """A leaf off the current path: `from_id` is the path's message it leaves from (None: the
    start of the conversation), `messages` run from there (exclusive) down to the leaf."""

    leaf: int
    from_id: int | None
    messages: list[Message]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.leaf, "from": self.from_id, "messages": [m.to_json() for m in self.messages]}


class _Current:
    def __repr__(self) -> str:
        return "CURRENT"


CURRENT: Any = _Current()  # add_messages' default parent: the conversation's current position
