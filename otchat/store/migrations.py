"""The history database's schema, as versioned migrations from an empty file to today's."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

# Each entry brings the schema from version i to i + 1; never edit a released one. An entry
# is SQL statements, or a function of the connection for a step SQL alone cannot express.
Migration = str | Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = [
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
    # 4: the conversation as a tree: each message's parent, each conversation's current position.
    lambda db: _to_tree(db),
    # 5: the JSON Schema a conversation's replies must match (--schema), as JSON text; NULL: none.
    "ALTER TABLE conversations ADD COLUMN schema TEXT;",
    # 6: the base URL a conversation was last held with, so -c goes on there; NULL: logged before
    # this was kept (such a conversation resolves its route as a new one would).
    "ALTER TABLE conversations ADD COLUMN base_url TEXT;",
    # 7: a tool result's content by type (text, image, resource link, structured...), as JSON text,
    # so `history show` shows it as the screen did; NULL: plain text, or logged before this was kept.
    "ALTER TABLE messages ADD COLUMN items TEXT;",
]
SCHEMA_VERSION = len(MIGRATIONS)


def run_step(db: sqlite3.Connection, step: Migration) -> None:
    """One migration, inside the caller's transaction: all of it, or none."""
    if callable(step):
        step(db)
    else:
        for statement in _statements(step):
            db.execute(statement)


def _to_tree(db: sqlite3.Connection) -> None:
    """Schema 4: every conversation becomes a tree that loses nothing. Visible rows form the main
    branch in id order; a hidden question (undone, or never answered) leaves it from the visible
    row before it; other hidden rows follow the row before them, except that a reply directly
    after a reply replaced it (/retry), so it is that reply's sibling. Current: the last visible row."""
    db.execute("ALTER TABLE messages ADD COLUMN parent_id INTEGER")
    db.execute("ALTER TABLE conversations ADD COLUMN current_id INTEGER")
    db.execute("CREATE INDEX messages_by_parent ON messages(conversation_id, parent_id)")
    links: list[tuple[int, int]] = []
    ends: dict[str, int] = {}
    parent_of: dict[int, int | None] = {}
    cid, visible, previous, previous_role = "", None, None, ""
    for row_id, conversation_id, role, hidden in db.execute(
            "SELECT id, conversation_id, role, hidden FROM messages ORDER BY conversation_id, id").fetchall():
        if conversation_id != cid:
            cid, visible, previous, previous_role = conversation_id, None, None, ""
        parent: int | None
        if not hidden or role == "user":
            parent = visible
        elif role == "assistant" and previous_role == "assistant" and previous is not None:
            parent = parent_of[previous]  # /retry: a reply cannot follow a reply, it replaced it
        else:
            parent = previous
        parent_of[row_id] = parent
        if parent is not None:
            links.append((parent, row_id))
        if not hidden:
            visible = ends[conversation_id] = row_id
        previous, previous_role = row_id, role
    db.executemany("UPDATE messages SET parent_id = ? WHERE id = ?", links)
    db.executemany("UPDATE conversations SET current_id = ? WHERE id = ?", [(v, k) for k, v in ends.items()])


def _statements(script: str) -> list[str]:
    """Split a migration into statements (triggers hold semicolons inside BEGIN…END)."""
    out, current = [], ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return out


class Transaction:
    """BEGIN IMMEDIATE takes the write lock up front, so a busy database waits, never fails mid-way."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
