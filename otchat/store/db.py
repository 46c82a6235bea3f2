"""The conversation log: SQLite in WAL mode, versioned migrations, FTS5 search."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..errors import OtchatError, UsageError

DB_NAME = "history.db"
BUSY_TIMEOUT_MS = 30_000

# Each entry brings the schema from version i to i + 1; never edit a released one.
MIGRATIONS = [
    """
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        model TEXT,
        profile TEXT,
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        content TEXT NOT NULL DEFAULT '',
        tool_calls TEXT,
        tool_call_id TEXT,
        model TEXT,
        finish_reason TEXT,
        usage TEXT,
        latency REAL,
        interrupted INTEGER NOT NULL DEFAULT 0,
        created REAL NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
    """,
    """
    CREATE INDEX conversations_by_updated ON conversations(updated);
    CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='id');
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
        INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
    END;
    INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
    """,
    # 3: a reply's reasoning kept beside it (never sent again); `hidden` marks messages
    # the user took back (/undo) or replaced (/retry): kept, but not on the conversation's path.
    """
    ALTER TABLE messages ADD COLUMN reasoning TEXT;
    ALTER TABLE messages ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


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
    id: int | None = None  # the row, once stored; not exported

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if v not in (None, [], False) and k != "id"}
        data["role"], data["content"] = self.role, self.content
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

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "model": self.model,
            "profile": self.profile,
            "created": self.created,
            "updated": self.updated,
            "message_count": self.count,
            "messages": [m.to_json() for m in self.messages],
        }


class Store:
    """One connection to history.db; every write is one short IMMEDIATE transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
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
            raise StoreError(f"{self.path} was written by a newer otchat (schema {version})")
        if version == SCHEMA_VERSION:
            return
        with self._write():
            # Re-read inside the lock: another otchat may have migrated meanwhile.
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, SCHEMA_VERSION):
                for statement in _statements(MIGRATIONS[number]):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number + 1}")

    def _write(self) -> Any:
        return _Transaction(self.db)

    # Writing --------------------------------------------------------------------------

    def new_conversation(self, title: str, model: str | None, profile: str | None) -> str:
        now = time.time()
        cid = os.urandom(8).hex()
        with self._write():
            self.db.execute(
                "INSERT INTO conversations (id, title, model, profile, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
                (cid, _title(title), model, profile, now, now),
            )
        return cid

    def add_messages(self, cid: str, messages: list[Message], model: str | None = None) -> list[int]:
        """Append `messages`; their row ids, in order."""
        now = time.time()
        ids: list[int] = []
        with self._write():
            for m in messages:
                cursor = self.db.execute(
                    "INSERT INTO messages (conversation_id, role, content, tool_calls, tool_call_id, model,"
                    " finish_reason, usage, latency, interrupted, created, reasoning, hidden)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (cid, m.role, m.content, json.dumps(m.tool_calls) if m.tool_calls else None, m.tool_call_id,
                     m.model, m.finish_reason, json.dumps(m.usage) if m.usage else None, m.latency,
                     int(m.interrupted), m.created or now, m.reasoning or None, int(m.hidden)),
                )
                ids.append(int(cursor.lastrowid or 0))
            self.db.execute(
                "UPDATE conversations SET updated = ?, model = COALESCE(?, model) WHERE id = ?", (now, model, cid)
            )
        return ids

    def hide(self, ids: list[int]) -> None:
        """Take messages off their conversation's path (undone, replaced); the rows stay."""
        with self._write():
            self.db.executemany("UPDATE messages SET hidden = 1 WHERE id = ?", [(i,) for i in ids])

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
        rows = self.db.execute(
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
        rows = self.db.execute(
            "SELECT c.id, c.title, c.model, c.profile, c.created, c.updated,"
            " (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.hidden = 0)"
            " FROM conversations c ORDER BY c.updated DESC, c.rowid DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [Conversation(*row) for row in rows]

    def conversation(self, cid: str) -> Conversation:
        row = self.db.execute(
            "SELECT id, title, model, profile, created, updated FROM conversations WHERE id = ?", (cid,)
        ).fetchone()
        if row is None:
            raise UsageError(f"no conversation {cid}")
        conversation = Conversation(*row)
        conversation.messages = list(self._messages(cid))
        conversation.count = sum(not m.hidden for m in conversation.messages)
        return conversation

    def _messages(self, cid: str) -> Iterator[Message]:
        for row in self.db.execute(
            "SELECT role, content, tool_calls, tool_call_id, model, finish_reason, usage, latency, interrupted,"
            " created, reasoning, hidden, id FROM messages WHERE conversation_id = ? ORDER BY id",
            (cid,),
        ):
            role, content, calls, call_id, model, finish, usage, latency, interrupted, created, reasoning, hidden, \
                row_id = row
            yield Message(role, content, json.loads(calls) if calls else [], call_id, model, finish,
                          json.loads(usage) if usage else None, latency, bool(interrupted), created,
                          reasoning, bool(hidden), row_id)

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


class _Transaction:
    """BEGIN IMMEDIATE takes the write lock up front, so a busy database waits, never fails mid-way."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _statements(script: str) -> list[str]:
    """Split a migration into statements (triggers hold semicolons inside BEGIN…END)."""
    out, current = [], ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return out


def _title(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "(empty)")
    return first if len(first) <= 70 else first[:69] + "…"
