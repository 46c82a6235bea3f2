"""The conversation log: SQLite in WAL mode, conversations as trees of messages, FTS5 search.

This module opens and migrates history.db and writes to it; the reads are in queries.py, the
values they hand out (Message, StoredConversation, Branch) in records.py."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

from ..errors import OtchatError, UsageError
from ..seams import JSONObject
from .migrations import MIGRATIONS, SCHEMA_VERSION, Transaction, run_step
from .queries import Queries
from .records import CURRENT, Branch, Message, StoredConversation

# Message, StoredConversation, Branch and CURRENT live in records.py; callers import them from here too.
__all__ = ["CURRENT", "DB_NAME", "Branch", "Message", "Store", "StoreError", "StoredConversation"]

DB_NAME = "history.db"
BUSY_TIMEOUT_MS = 30_000

class StoreError(OtchatError):
    """The history database cannot be used (corrupt, unreadable, too new)."""


class Store(Queries):
    """One connection to history.db; every write is one short IMMEDIATE transaction. The reads
    (conversations, the tree, search) come from `Queries`."""

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

    def _write(self) -> Transaction:
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
                (cid, title_of(title), model, profile, base_url, now, now),
            )
        return cid

    def add_messages(self, cid: str, messages: list[Message], model: str | None = None,
                     parent: int | None = CURRENT, route: tuple[str | None, str] | None = None,
                     move: bool = True) -> list[int]:
        """Append `messages` as a chain under `parent` (by default the current position; None: a
        new root) and move the current position to the last of them not logged hidden (a question
        that got no reply leaves it where it was); `move` False leaves it in any case (a question
        still waiting for its answer: concurrent runs must not answer each other's questions).
        `route`: the (profile, base URL) they were sent with, where the conversation goes on.
        Their row ids, in order."""
        now = time.time()
        with self._write():
            current = self.current(cid)
            if parent is CURRENT:
                parent = current
            elif parent is not None:
                self._check(cid, parent)
            ids = self._append(cid, messages, parent, now)
            if move:
                current = next((i for i, m in zip(reversed(ids), reversed(messages), strict=True) if not m.hidden),
                               current)
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
                " finish_reason, usage, latency, interrupted, created, reasoning, hidden, parent_id, items)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (cid, m.role, m.content, json.dumps(m.tool_calls) if m.tool_calls else None, m.tool_call_id,
                 m.model, m.finish_reason, json.dumps(m.usage) if m.usage else None, m.latency,
                 int(m.interrupted), m.created or now, m.reasoning or None, int(m.hidden), parent,
                 json.dumps(m.items, ensure_ascii=False) if m.items else None),
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

    def amend(self, message_id: int, content: str, finish_reason: str | None, interrupted: bool,
              tool_calls: list[JSONObject] | None = None) -> None:
        """Rewrite a reply that /continue added to, with the tool calls its rest made (FTS follows
        by its update trigger)."""
        with self._write():
            self.db.execute("UPDATE messages SET content = ?, finish_reason = ?, interrupted = ?, tool_calls = ?"
                            " WHERE id = ?", (content, finish_reason, int(interrupted),
                                              json.dumps(tool_calls) if tool_calls else None, message_id))

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


def title_of(text: str) -> str:
    """A conversation's title: the first line of its first question, cut to 70 characters."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "(empty)")
    return first if len(first) <= 70 else first[:69] + "…"
