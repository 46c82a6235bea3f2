"""The JSON Schema stored with a conversation (--schema), so `otchat -c` goes on asking for it."""

from __future__ import annotations

import json
from typing import Any

from .db import Store


def schema_of(store: Store, cid: str) -> dict[str, Any] | None:
    """The schema `cid` asks for (None: none, or one this otchat cannot read)."""
    row = store.db.execute("SELECT schema FROM conversations WHERE id = ?", (cid,)).fetchone()
    if row is None or not row[0]:
        return None
    try:
        schema = json.loads(row[0])
    except ValueError:
        return None  # a damaged value: the conversation goes on without a schema
    return schema if isinstance(schema, dict) else None


def set_schema(store: Store, cid: str, schema: dict[str, Any] | None) -> None:
    """Store (None: clear) the schema of `cid`; one statement, so one transaction of its own."""
    text = json.dumps(schema, ensure_ascii=False) if schema is not None else None
    store.db.execute("UPDATE conversations SET schema = ? WHERE id = ?", (text, cid))
