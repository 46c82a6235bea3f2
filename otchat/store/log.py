"""A conversation as the log sees it: where it is kept, what a save writes, the stored path it
resumes from, the branches beside its path and moving between them, and answers logged as
siblings under one question (a comparison). Writes go through the Recorder (a failure is one
warning, never a failed chat); sqlite3 loads only when the log is first used."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..conversation import Conversation, Entry
from ..env import Env
from ..errors import UsageError
from ..seams import JSONObject

if TYPE_CHECKING:
    from ..config.resolve import Held, Settings
    from .recorder import Recorder


@dataclass
class LoggedPath:
    """A stored conversation's current path, as the conversation takes it back."""

    cid: str
    title: str | None
    entries: list[Entry]
    system: str | None  # its logged system prompt, when the path starts with one
    branches: int = 1
    schema: JSONObject | None = None
    compared: str | None = None  # the model of the path's last answer, when several answered there
    held: Held | None = None  # where it goes on (its profile, base URL and model)


class Log:
    """The log of one session's conversation (`history.db`)."""

    def __init__(self, env: Env, enabled: bool) -> None:
        self.env = env
        self._enabled = enabled

    @functools.cached_property
    def recorder(self) -> Recorder:
        """The log's writer, made when first needed: sqlite3 loads while the server thinks."""
        from .recorder import Recorder

        return Recorder(self.env, self._enabled)

    def save(self, conversation: Conversation, settings: Settings, schema: JSONObject | None) -> None:
        """Write what the conversation added or took off its path since the last save."""
        s = settings
        self.recorder.save(conversation, s.model, s.profile, s.system, schema, base_url=s.base_url)

    def open(self, ref: str | None) -> LoggedPath:
        """The stored conversation `ref` (an id prefix; None: the latest): later saves go to it."""
        from .recorder import load_path, route_of

        stored, path, schema, compared = load_path(self.env, ref)
        self.recorder.resumed(stored.id, schema)
        return self._follow(stored.id, stored.title, path, stored.branches, schema, compared,
                            route_of(stored, compared))

    def _follow(self, cid: str, title: str | None, path: list[Message], branches: int = 1,
                schema: JSONObject | None = None, compared: str | None = None, held: Held | None = None) -> LoggedPath:
        from .recorder import from_message

        head = path[0] if path and path[0].role == "system" else None
        self.recorder.root = head.id if head else None
        entries = [from_message(m) for m in path[1 if head else 0:]]
        # The latest system prompt on the path (a /system after the first turn is logged there).
        system = next((m.content for m in reversed(path) if m.role == "system"), None)
        return LoggedPath(cid, title, entries, system, branches, schema, compared, held)

    def new(self) -> None:
        """The next save starts a new logged conversation."""
        self.recorder.cid = None

    def move(self, row: int | None) -> None:
        """Make `row` (None: the conversation's start) the position the log goes on from."""
        self.recorder.move(row if row is not None else self.recorder.root)

    def siblings(self, settings: Settings, model: str, entries: list[Entry], question: int) -> None:
        """Log one answer (`entries`) under the logged question `question`, beside the others."""
        from .recorder import to_message

        s = settings
        rows = self.recorder.record(model, s.profile, s.system, [to_message(e) for e in entries], parent=question)
        for entry, row in zip(entries, rows, strict=True):
            entry.row = row

    def _logged(self) -> str:
        if not self.recorder.enabled:
            raise UsageError("branches live in the history, which is off (--no-log or log = false)")
        if self.recorder.cid is None:
            raise UsageError("no branches yet: nothing has been logged in this conversation")
        return self.recorder.cid

    def branches(self) -> list[str]:
        """One line for each branch off the current path: `#LEAF  turn N  M messages  first words`."""
        from .db import Store
        from .views import branch_lines

        cid = self._logged()
        with Store.open(self.env.data_dir) as store:
            return branch_lines(store.path(cid), store.branches(cid))

    def leaves(self) -> list[int]:
        """The numbers of the branches `branches` lists (what a switch takes)."""
        from .db import Store
        from .views import open_branches

        cid = self._logged()
        with Store.open(self.env.data_dir) as store:
            return [b.leaf for b in open_branches(store.branches(cid))]

    def switch(self, ref: str) -> LoggedPath:
        """Make the branch ending at leaf `ref` (`#12`, `12`, or a unique prefix) current."""
        from .db import Store
        from .recorder import compared_model
        from .views import pick_leaf

        cid = self._logged()
        with Store.open(self.env.data_dir) as store:
            leaf = pick_leaf(store, cid, ref)
            store.set_current(cid, leaf)
            path, title = store.path(cid), store.conversation(cid).title
            compared = compared_model(store, path)
        return self._follow(cid, title, path, compared=compared)


if TYPE_CHECKING:
    from .db import Message
