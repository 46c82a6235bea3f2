"""The conversation log: SQLite in WAL mode, conversations as trees of messages, FTS5 search."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import OtchatError, UsageError
from .migrations import MIGRATIONS, SCHEMA_VERSION, Transaction, run_step

DB_NAME = "history.db"
BUSY_TIMEOUT_MS = 30_000

class StoreError(OtchatError):
    """The history database cannot be used (corrupt, unreadable, too new)."""


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

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if v not in (None, [], False) and k not in ("id", "parent")}
        data["role"], data["content"] = self.role, self.content
        if self.id is not None:  # a stored message says where it stands in the tree (null: a root)
            data["id"], data["parent"] = self.id, self.parent
        return data


@dataclass
class Conversation:
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


class Store:
    """One connection to history.db; every write is one short IMMEDIATE transaction."""

    def __init__(self, path: Path) -> None:
        self.file = path  # (`path` is a conversation's path in the tree)
        try:
            self.db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.execute("PRAGMA foreign_keys = ON")
            if self.db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                self.db.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL never corrupts; a power cut may lose the last turn, a crash not.
            self.db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a usable history database ({exc})",
                             hint="move it aside to start a new one") from None

    @classmethod
    def open(cls, data_dir: Path) -> Store:
        try:
            data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StoreError(f"cannot create {data_dir}: {exc.strerror or exc}") from None
        return cls(data_dir / DB_NAME)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.file} was written by a newer otchat (schema {version})")
        if version == SCHEMA_VERSION:
            return
        with self._write():
            # Re-read inside the lock: another otchat may have migrated meanwhile.
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, SCHEMA_VERSION):
                run_step(self.db, MIGRATIONS[number])
                self.db.execute(f"PRAGMA user_version = {number + 1}")

    def _write(self) -> Any:
        return Transaction(self.db)

    # Writing --------------------------------------------------------------------------

    def new_conversation(self, title: str, model: str | None, profile: str | None,
                         base_url: str | None = None) -> str:
        now = time.time()
        cid = os.urandom(8).hex()
        with self._write():
            self.db.execute(
                "INSERT INTO conversations (id, title, model, profile, base_url, created, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (cid, _title(title), model, profile, base_url, now, now),
            )
        return cid

    def add_messages(self, cid: str, messages: list[Message], model: str | None = None,
                     parent: int | None = CURRENT, route: tuple[str | None, str] | None = None) -> list[int]:
        """Append `messages` as a chain under `parent` (by default the current position; None: a
        new root) and move the current position to the last of them not logged hidden (a question
        that got no reply leaves it where it was). `route`: the (profile, base URL) they were sent
        with, where the conversation goes on. Their row ids, in order."""
        now = time.time()
        with self._write():
            current = self.current(cid)
            if parent is CURRENT:
                parent = current
            elif parent is not None:
                self._check(cid, parent)
            ids = self._append(cid, messages, parent, now)
            current = next((i for i, m in zip(reversed(ids), reversed(messages), strict=True) if not m.hidden), current)
            self.db.execute("UPDATE conversations SET updated = ?, model = COALESCE(?, model), current_id = ?"
                            " WHERE id = ?", (now, model, current, cid))
            if route is not None:
                self.db.execute("UPDATE conversations SET profile = ?, base_url = ? WHERE id = ?", (*route, cid))
        return ids

    def _append(self, cid: str, messages: list[Message], parent: int | None, now: float) -> list[int]:
        ids: list[int] = []
        for m in messages:
            cursor = self.db.execute(
                "INSERT INTO messages (conversation_id, role, content, tool_calls, tool_call_id, model,"
                " finish_reason, usage, latency, interrupted, created, reasoning, hidden, parent_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (cid, m.role, m.content, json.dumps(m.tool_calls) if m.tool_calls else None, m.tool_call_id,
                 m.model, m.finish_reason, json.dumps(m.usage) if m.usage else None, m.latency,
                 int(m.interrupted), m.created or now, m.reasoning or None, int(m.hidden), parent),
            )
            parent = int(cursor.lastrowid or 0)
            ids.append(parent)
        return ids

    def hide(self, ids: list[int]) -> None:
        """Take messages off their conversation's path (undone, replaced); the rows stay. A
        conversation whose current path ran through them goes back to just before the first."""
        hidden = set(ids)
        if not hidden:
            return
        with self._write():
            self.db.executemany("UPDATE messages SET hidden = 1 WHERE id = ?", [(i,) for i in ids])
            for cid, current in self.db.execute(
                    "SELECT id, current_id FROM conversations WHERE id IN (SELECT DISTINCT conversation_id"
                    f" FROM messages WHERE id IN ({','.join('?' * len(hidden))}))", tuple(hidden)).fetchall():
                path = self._ancestry(current)
                first = next((n for n, mid in enumerate(path) if mid in hidden), None)
                if first is not None:
                    self.db.execute("UPDATE conversations SET current_id = ? WHERE id = ?",
                                    (path[first - 1] if first else None, cid))

    def amend(self, message_id: int, content: str, finish_reason: str | None, interrupted: bool) -> None:
        """Rewrite a reply that /continue added to (FTS follows by its update trigger)."""
        with self._write():
            self.db.execute("UPDATE messages SET content = ?, finish_reason = ?, interrupted = ? WHERE id = ?",
                            (content, finish_reason, int(interrupted), message_id))

    def set_current(self, cid: str, message_id: int | None) -> None:
        """Make `message_id` (a message of `cid`, or None: the start) the position it goes on from."""
        with self._write():
            self.current(cid)
            if message_id is not None:
                self._check(cid, message_id)
            self.db.execute("UPDATE conversations SET current_id = ?, updated = ? WHERE id = ?",
                            (message_id, time.time(), cid))

    def fork(self, cid: str, upto: int | None = CURRENT) -> str:
        """A new conversation holding a copy of the path to `upto` (by default the current position),
        with the same title, model, profile and schema; the original is left as it was. The new id."""
        now = time.time()
        new = os.urandom(8).hex()
        with self._write():
            messages = self.path(cid, upto)
            if not messages:
                raise UsageError("nothing to fork: the conversation is empty at that point")
            self.db.execute(
                "INSERT INTO conversations (id, title, model, profile, base_url, schema, created, updated)"
                " SELECT ?, title, model, profile, base_url, schema, ?, ? FROM conversations WHERE id = ?",
                (new, now, now, cid))
            copies = [Message(**{**m.__dict__, "hidden": False, "id": None, "parent": None}) for m in messages]
            ids = self._append(new, copies, None, now)
            self.db.execute("UPDATE conversations SET current_id = ? WHERE id = ?", (ids[-1], new))
        return new

    def delete(self, cids: list[str]) -> int:
        with self._write():
            for cid in cids:
                self.db.execute("DELETE FROM messages WHERE conversation_id = ?", (cid,))
                self.db.execute("DELETE FROM conversations WHERE id = ?", (cid,))
        return len(cids)

    def older_than(self, cutoff: float) -> list[str]:
        rows = self.db.execute("SELECT id FROM conversations WHERE updated < ?", (cutoff,)).fetchall()
        return [row[0] for row in rows]

    # Reading --------------------------------------------------------------------------

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

    def conversations(self, limit: int) -> list[Conversation]:
        """The most recently updated conversations, with their message and branch counts."""
        rows: list[tuple[str, str, str | None, str | None, float, float, int, int | None, int]] = self.db.execute(
            "SELECT c.id, c.title, c.model, c.profile, c.created, c.updated,"
            " (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.hidden = 0), c.current_id,"
            # Leaves are the messages no message follows (the index on (conversation, parent) covers this).
            " (SELECT COUNT(*) - COUNT(DISTINCT m.parent_id) FROM messages m WHERE m.conversation_id = c.id)"
            " FROM conversations c ORDER BY c.updated DESC, c.rowid DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [Conversation(*row[:7], current=row[7], branches=row[8]) for row in rows]

    def conversation(self, cid: str) -> Conversation:
        """A conversation with every message it holds, on the current path or not, in id order."""
        row = self.db.execute("SELECT id, title, model, profile, created, updated, current_id, base_url"
                              " FROM conversations WHERE id = ?", (cid,)).fetchone()
        if row is None:
            raise UsageError(f"no conversation {cid}")
        conversation = Conversation(row[0], row[1], row[2], row[3], row[4], row[5], current=row[6], base_url=row[7])
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

    def _select(self, where: str, *args: Any) -> list[Message]:
        out = []
        for row in self.db.execute(
            "SELECT m.role, m.content, m.tool_calls, m.tool_call_id, m.model, m.finish_reason, m.usage, m.latency,"
            " m.interrupted, m.created, m.reasoning, m.hidden, m.id, m.parent_id FROM messages m " + where, args,
        ):
            role, content, calls, call_id, model, finish, usage, latency, interrupted, created, reasoning, hidden, \
                row_id, parent = row
            out.append(Message(role, content, json.loads(calls) if calls else [], call_id, model, finish,
                               json.loads(usage) if usage else None, latency, bool(interrupted), created,
                               reasoning, bool(hidden), row_id, parent))
        return out

    def search(self, query: str, limit: int = 50) -> list[tuple[str, str, str, float, str]]:
        """(conversation id, title, role, time, snippet) of matching messages, newest first."""
        match = " ".join('"' + word.replace('"', '""') + '"' for word in query.split())
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


# A message and its ancestors, with their distance from it; `parent_id < id` always holds
# (a parent is written first), and is checked so a damaged file cannot loop forever.
_ANCESTRY = ("WITH RECURSIVE up(id, depth) AS (SELECT ?, 0 UNION ALL SELECT m.parent_id, up.depth + 1"
             " FROM messages m JOIN up ON m.id = up.id WHERE m.parent_id < m.id) SELECT id, depth FROM up")


def _title(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "(empty)")
    return first if len(first) <= 70 else first[:69] + "…"
