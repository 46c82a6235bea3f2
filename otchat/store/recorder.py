"""Entries → the log: the recorder writes a conversation's new entries and hidden rows to
history.db (a failure is one warning, never a failed chat), and loads a stored one back."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..conversation import Conversation, Entry
from ..env import Env
from ..errors import OtchatError, UsageError
from ..models import ToolCall
from .db import CURRENT, DB_NAME, Message, Store

if TYPE_CHECKING:
    from ..config.resolve import Held
    from .db import StoredConversation as Stored


def to_message(entry: Entry) -> Message:
    r = entry.result
    return Message(
        entry.role,
        entry.content,
        [call.to_openai() for call in entry.tool_calls],
        model=entry.model,
        finish_reason=r.finish_reason if r else None,
        usage=r.usage.to_dict() if r and r.usage else None,
        latency=r.elapsed if r else None,
        interrupted=entry.interrupted,
        tool_call_id=entry.tool_call_id,
        reasoning=entry.reasoning or None,
        hidden=entry.hidden,
        items=entry.items,
    )


def from_message(m: Message) -> Entry:
    calls = [
        ToolCall(i, c.get("id"), c.get("function", {}).get("name", ""), c.get("function", {}).get("arguments", ""))
        for i, c in enumerate(m.tool_calls)
    ]
    return Entry(m.role, m.content, calls, m.interrupted, m.model, tool_call_id=m.tool_call_id,
                 answered=bool(calls), reasoning=m.reasoning or "", row=m.id, finish_reason=m.finish_reason,
                 items=m.items)


class Recorder:
    """Writes each turn to the log; a failure is one warning, never a failed chat."""

    def __init__(self, env: Env, enabled: bool) -> None:
        self.env = env
        self.enabled = enabled
        self.cid: str | None = None
        self.root: int | None = None  # the logged system prompt the conversation starts from
        self._schema: dict[str, Any] | None = None  # the schema the log holds for `cid`

    def resumed(self, cid: str, schema: dict[str, Any] | None) -> None:
        """Go on writing to a stored conversation, which asks for `schema`."""
        self.cid, self._schema = cid, schema

    def save(self, conversation: Conversation, model: str, profile: str | None, system: str | None,
             schema: dict[str, Any] | None = None, base_url: str | None = None) -> None:
        """Write what the conversation added, hid and (/continue) amended since the last save. A run
        of entries logged hidden (failed --schema attempts) leaves from the current position as a
        branch of its own, so the visible entry after it follows the path, not the branch."""
        entries, conversation.unsaved = conversation.unsaved, []
        rows, conversation.unhidden = conversation.unhidden, []
        # Replies logged before /continue added to them (one not logged yet goes in whole below).
        amended = [e for e in conversation.amended if e.row is not None]
        conversation.amended = []
        self.hide(rows)
        for run in _runs(entries):
            # Under what this run started from, never the log's current position: a concurrent
            # run may have moved it (its question would answer ours).
            parent = self._parent(conversation)
            waiting = run[-1].role == "user" and not run[-1].note  # a question: current once answered
            ids = self.record(model, profile, system, [to_message(e) for e in run], parent, base_url=base_url,
                              move=not waiting)
            for entry, row in zip(run, ids, strict=True):
                entry.row = row
        if amended:
            def amend(store: Store) -> None:
                for e in amended:
                    if e.row is not None:
                        store.amend(e.row, e.content, e.finish_reason, e.interrupted,
                                    [call.to_openai() for call in e.tool_calls])

            self._write(amend)
        if self.cid is not None and schema != self._schema and self.enabled:
            self._store_schema(schema)

    def _parent(self, conversation: Conversation) -> int | None:
        """Where new entries hang: the last logged entry on the conversation's path, else its logged
        system prompt (None: a new root); a conversation not logged yet starts at CURRENT."""
        if self.cid is None:
            return CURRENT  # type: ignore[no-any-return]
        return next((e.row for e in reversed(conversation.entries) if e.row is not None), self.root)

    def _store_schema(self, schema: dict[str, Any] | None) -> None:
        from .schemas import set_schema

        try:
            with Store.open(self.env.data_dir) as store:
                set_schema(store, self.cid or "", schema)
            self._schema = schema
        except OtchatError as exc:
            self._fail(exc.line())
        except (sqlite3.Error, OSError) as exc:
            self._fail(f"{self.env.data_dir / DB_NAME}: {exc}")

    def record(self, model: str, profile: str | None, system: str | None, messages: list[Message],
               parent: int | None = CURRENT, *, base_url: str | None = None, move: bool = True) -> list[int | None]:
        """Log `messages` (under `parent`, by default the current position), sent with `profile` to
        `base_url` (None: where the conversation was), moving the current position to them unless
        `move` is False; their row ids (None where nothing was written)."""
        if not self.enabled or not messages:
            return [None] * len(messages)
        try:
            with Store.open(self.env.data_dir) as store:
                head: list[Message] = []
                if self.cid is None:
                    first = next((m.content for m in messages if m.role == "user"), messages[0].content)
                    self.cid = store.new_conversation(first, model, profile, base_url)
                    self._schema = None  # a new conversation (after /clear) holds no schema yet
                    if system:
                        head = [Message("system", system)]
                route = (profile, base_url) if base_url is not None else None
                ids = store.add_messages(self.cid, head + messages, model=model, parent=parent, route=route,
                                         move=move)
                if head:
                    self.root = ids[0]
                return list(ids[len(head):])
        except OtchatError as exc:
            self._fail(exc.line())
        except (sqlite3.Error, OSError) as exc:
            self._fail(f"{self.env.data_dir / DB_NAME}: {exc}")
        return [None] * len(messages)

    def hide(self, ids: list[int]) -> None:
        """Take logged messages off the conversation's path; the rows stay."""
        if ids:
            self._write(lambda store: store.hide(ids))

    def move(self, message_id: int | None) -> None:
        """Make `message_id` (None: the start) the position the logged conversation goes on from."""
        if self.cid is not None:
            cid = self.cid
            self._write(lambda store: store.set_current(cid, message_id))

    def _write(self, change: Callable[[Store], object]) -> None:
        if not self.enabled:
            return
        try:
            with Store.open(self.env.data_dir) as store:
                change(store)
        except OtchatError as exc:
            self._fail(exc.line())
        except (sqlite3.Error, OSError) as exc:
            self._fail(f"{self.env.data_dir / DB_NAME}: {exc}")

    def _fail(self, why: str) -> None:
        self.env.warn(f"history not saved: {why}")
        self.enabled = False


def _runs(entries: list[Entry]) -> list[list[Entry]]:
    """Entries cut where they go from hidden to shown or back."""
    runs: list[list[Entry]] = []
    for entry in entries:
        if runs and runs[-1][-1].hidden == entry.hidden:
            runs[-1].append(entry)
        else:
            runs.append([entry])
    return runs


def load_with_schema(env: Env, ref: str | None) -> tuple[Stored, dict[str, Any] | None]:
    """As `load`, with the JSON Schema the conversation asks for (None: none)."""
    from .schemas import schema_of

    with Store.open(env.data_dir) as store:
        cid = store.resolve(ref) if ref else store.latest()
        if cid is None:
            raise UsageError("no earlier conversation to continue")
        return store.conversation(cid), schema_of(store, cid)


def load_path(env: Env, ref: str | None) -> tuple[Stored, list[Message], dict[str, Any] | None, str | None]:
    """A stored conversation (as `load`), its current path (root first), its schema, and the
    model of the path's last answer when several models answered that question (`compared_model`)."""
    from .schemas import schema_of

    with Store.open(env.data_dir) as store:
        cid = store.resolve(ref) if ref else store.latest()
        if cid is None:
            raise UsageError("no earlier conversation to continue")
        path = store.path(cid)
        return store.conversation(cid), path, schema_of(store, cid), compared_model(store, path)


def held_route(env: Env, ref: str | None) -> Held | None:
    """Where the conversation `ref` (None: the latest) goes on (see `route_of`)."""
    with Store.open(env.data_dir) as store:
        cid = store.resolve(ref) if ref else store.latest()
        if cid is None:
            raise UsageError("no earlier conversation to continue")
        row = store.db.execute("SELECT profile, base_url, model FROM conversations WHERE id = ?", (cid,)).fetchone()
        if row[1] is None:
            return None  # logged before otchat kept the base URL: no path needs reading
        return _held(cid, row[0], row[1], compared_model(store, store.path(cid)) or row[2])


def route_of(stored: Stored, compared: str | None) -> Held | None:
    """Where a stored conversation goes on: the profile and base URL it was last held with, and the
    model of its current leaf: the branch's when several models answered there (`compared_model`),
    else the one it was last asked of (a reply's own `model` is what the server called itself,
    which is not always a name it accepts). None for one logged before otchat kept the base URL:
    it resolves as a new conversation would."""
    if stored.base_url is None:
        return None
    return _held(stored.id, stored.profile, stored.base_url, compared or stored.model)


def _held(cid: str, profile: str | None, base_url: str, model: str | None) -> Held:
    from ..config.resolve import Held

    return Held(profile, base_url, model, cid)


def compared_model(store: Store, path: list[Message]) -> str | None:
    """When the path's last question was answered by several models (a comparison), the model
    of the answer on the path: the conversation goes on with it. None otherwise."""
    question = next((n for n in range(len(path) - 1, -1, -1) if path[n].role == "user"), None)
    if question is None or question + 1 >= len(path) or path[question].id is None:
        return None
    answer = path[question + 1]
    models = {m.model for m in store.children(path[question].id or 0) if m.role == "assistant" and not m.hidden}
    return answer.model if answer.role == "assistant" and len(models) > 1 else None


def load(env: Env, ref: str | None) -> Stored:
    """A stored conversation by id prefix, or the most recent one when `ref` is None."""
    with Store.open(env.data_dir) as store:
        cid = store.resolve(ref) if ref else store.latest()
        if cid is None:
            raise UsageError("no earlier conversation to continue")
        return store.conversation(cid)
