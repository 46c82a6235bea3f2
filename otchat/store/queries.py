"""Reading the log: conversations, the tree of their messages (paths, children, leaves,
branches), and full-text search. `Store` (db.py) adds the connection and the writes."""

from __future__ import annotations

import json
import sqlite3

from ..errors import UsageError
from .records import CURRENT, Branch, Message, StoredConversation


class Queries:
    """The reads of history.db, on the connection `db` that `Store` opens."""

    db: sqlite3.Connection

    def resolve(self, prefix: str) -> str:
        """The conversation id a unique prefix names."""
        prefix = prefix.strip().lower()
        if not prefix or any(ch not in "0123456789abcdef" for ch in prefix):
            raise UsageError(f"not a conversation id: {prefix!r}")
        rows: list[tuple[str]] = self.db.execute(
            "SELECT id FROM conversations WHERE id >= ? AND id < ? ORDER BY id LIMIT 2",
            (prefix, prefix + "g"),
        ).fetchall()
        if not rows:
            raise UsageError(f"no conversation {prefix}", hint="otchat history list shows them")
        if len(rows) > 1:
            raise UsageError(f"{prefix} names more than one conversation; give more of the id")
        return rows[0][0]

    def latest(self) -> str | None:
        row = self.db.execute("SELECT id FROM conversations ORDER BY updated DESC, rowid DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def conversations(self, limit: int) -> list[StoredConversation]:
        """The most recently updated conversations, with their message and branch counts."""
        rows: list[tuple[str, str, str | None, str | None, float, float, int, int | None, int]] = self.db.execute(
            "SELECT c.id, c.title, c.model, c.profile, c.created, c.updated,"
            " (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.hidden = 0), c.current_id,"
            # Leaves are the messages no message follows (the index on (conversation, parent) covers this).
            " (SELECT COUNT(*) - COUNT(DISTINCT m.parent_id) FROM messages m WHERE m.conversation_id = c.id)"
            " FROM conversations c ORDER BY c.updated DESC, c.rowid DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [StoredConversation(*row[:7], current=row[7], branches=row[8]) for row in rows]

    def conversation(self, cid: str) -> StoredConversation:
        """A conversation with every message it holds, on the current path or not, in id order."""
        row = self.db.execute("SELECT id, title, model, profile, created, updated, current_id, base_url"
                              " FROM conversations WHERE id = ?", (cid,)).fetchone()
        if row is None:
            raise UsageError(f"no conversation {cid}")
        conversation = StoredConversation(row[0], row[1], row[2], row[3], row[4], row[5],
                                          current=row[6], base_url=row[7])
        conversation.messages = self._select("WHERE conversation_id = ? ORDER BY id", cid)
        conversation.count = sum(not m.hidden for m in conversation.messages)
        followed = {m.parent for m in conversation.messages if m.parent is not None}
        conversation.branches = len(conversation.messages) - len(followed)
        return conversation

    # The tree -------------------------------------------------------------------------

    def current(self, cid: str) -> int | None:
        """The message `cid` goes on from (its current leaf, or where a rewind went back to); None: the start."""
        row = self.db.execute("SELECT current_id FROM conversations WHERE id = ?", (cid,)).fetchone()
        if row is None:
            raise UsageError(f"no conversation {cid}")
        return None if row[0] is None else int(row[0])

    def path(self, cid: str, leaf: int | None = CURRENT) -> list[Message]:
        """The messages from the root down to `leaf` (by default the current position; None: none)."""
        if leaf is CURRENT:
            leaf = self.current(cid)
        if leaf is None:
            return []
        self._check(cid, leaf)
        return self._select(f"JOIN ({_ANCESTRY}) up ON up.id = m.id ORDER BY up.depth DESC", leaf)

    def children(self, message_id: int) -> list[Message]:
        """The messages that follow `message_id` directly (its answers, retries, edits), in id order."""
        return self._select("WHERE m.conversation_id = (SELECT conversation_id FROM messages WHERE id = ?)"
                            " AND m.parent_id = ? ORDER BY m.id", message_id, message_id)

    def leaves(self, cid: str) -> list[Message]:
        """The messages of `cid` that no message follows: the ends of its branches, in id order."""
        return self._select("WHERE m.conversation_id = ? AND NOT EXISTS (SELECT 1 FROM messages k"
                            " WHERE k.conversation_id = m.conversation_id AND k.parent_id = m.id) ORDER BY m.id", cid)

    def branches(self, cid: str) -> list[Branch]:
        """Every leaf off the current path, with where it leaves the path and its messages after that."""
        messages = self._select("WHERE m.conversation_id = ? ORDER BY m.id", cid)
        by_id = {m.id: m for m in messages}
        on_path = set(self._ancestry(self.current(cid)))
        followed = {m.parent for m in messages}
        out: list[Branch] = []
        for leaf in messages:
            if leaf.id in followed or leaf.id in on_path:
                continue
            chain: list[Message] = []
            node: Message | None = leaf
            while node is not None and node.id not in on_path:
                chain.append(node)
                node = by_id.get(node.parent) if node.parent is not None else None
            out.append(Branch(int(leaf.id or 0), node.id if node else None, chain[::-1]))
        return out

    def _check(self, cid: str, message_id: int) -> None:
        row = self.db.execute("SELECT conversation_id FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None or row[0] != cid:
            raise UsageError(f"no message {message_id} in conversation {cid[:8]}")

    def _ancestry(self, message_id: int | None) -> list[int]:
        """The ids from the root down to `message_id` (none for None)."""
        if message_id is None:
            return []
        return [row[0] for row in self.db.execute(f"{_ANCESTRY} ORDER BY depth DESC", (message_id,))]

    def _select(self, where: str, *args: object) -> list[Message]:
        out = []
        for row in self.db.execute(
            "SELECT m.role, m.content, m.tool_calls, m.tool_call_id, m.model, m.finish_reason, m.usage, m.latency,"
            " m.interrupted, m.created, m.reasoning, m.hidden, m.id, m.parent_id, m.items FROM messages m " + where,
            args,
        ):
            role, content, calls, call_id, model, finish, usage, latency, interrupted, created, reasoning, hidden, \
                row_id, parent, items = row
            out.append(Message(role, content, json.loads(calls) if calls else [], call_id, model, finish,
                               json.loads(usage) if usage else None, latency, bool(interrupted), created,
                               reasoning, bool(hidden), row_id, parent, json.loads(items) if items else []))
        return out

    def search(self, query: str, limit: int = 50) -> list[tuple[str, str, str, float, str]]:
        """(conversation id, title, role, time, snippet) of matching messages, newest first."""
        match = fts_query(query)
        if not match:
            raise UsageError("an empty search")
        return self.db.execute(
            "SELECT m.conversation_id, c.title, m.role, m.created,"
            " snippet(messages_fts, 0, '[', ']', '…', 12)"
            " FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
            " JOIN conversations c ON c.id = m.conversation_id"
            " WHERE messages_fts MATCH ? ORDER BY m.created DESC, m.id DESC LIMIT ?",
            (match, limit),
        ).fetchall()


def fts_query(text: str) -> str:
    """`history search` words as an FTS5 query: every word must appear (each quoted, so no
    character is FTS5 syntax), `word*` matches words starting so, `OR` between two words
    takes either."""
    parts: list[str] = []
    for word in text.split():
        if word == "OR":
            if parts and parts[-1] != "OR":
                parts.append("OR")
            continue
        prefix = word.endswith("*") and len(word.rstrip("*")) > 0
        stem = word.rstrip("*") if prefix else word
        parts.append('"' + stem.replace('"', '""') + '"' + ("*" if prefix else ""))
    while parts and parts[-1] == "OR":
        parts.pop()
    return " ".join(parts)


# A message and its ancestors, with their distance from it; `parent_id < id` always holds
# (a parent is written first), and is checked so a damaged file cannot loop forever.
_ANCESTRY = ("WITH RECURSIVE up(id, depth) AS (SELECT ?, 0 UNION ALL SELECT m.parent_id, up.depth + 1"
             " FROM messages m JOIN up ON m.id = up.id WHERE m.parent_id < m.id) SELECT id, depth FROM up")
