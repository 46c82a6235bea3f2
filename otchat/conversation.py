"""A conversation's state: its entries (what the API sees and what it does not), totals, and
the changes not yet written to the log. No I/O here: the engine adds to it, the recorder
(store/recorder.py) writes it down, slash commands rewind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import UsageError
from .models import ToolCall, TurnResult


@dataclass
class Entry:
    """One message of the conversation, with what the API does not need to see."""

    role: str
    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    interrupted: bool = False
    model: str | None = None
    result: TurnResult | None = None  # for a reply: usage, finish reason, latency
    tool_call_id: str | None = None  # for a tool result
    answered: bool = False  # a reply whose tool calls have tool results after it
    reasoning: str = ""  # a reply's reasoning: kept in the log, never sent back
    row: int | None = None  # its id in history.db, once logged
    hidden: bool = False  # logged as off the conversation's path (a question nobody answered)
    finish_reason: str | None = None  # for a reply: why it stopped (`length`: /continue can go on)
    note: bool = False  # a user line that joins the path unasked (what ran): the next question carries it
    items: list[dict[str, Any]] = field(default_factory=list)  # a tool result's content by type (mcp/results.py)
    parts: list[dict[str, Any]] | None = None  # content parts sent instead of `content` (a tool's images); not logged

    def to_api(self) -> dict[str, Any]:
        if self.parts is not None:
            return {"role": self.role, "content": self.parts}
        if self.role == "tool":
            return {"role": "tool", "tool_call_id": self.tool_call_id, "content": self.content}
        # Tool calls nobody answered are not sent back: servers reject an assistant
        # message with tool_calls that no tool message follows.
        if self.answered and self.tool_calls:
            return {"role": self.role, "content": self.content or None,
                    "tool_calls": [call.to_openai() for call in self.tool_calls]}
        return {"role": self.role, "content": self.content}


@dataclass
class Totals:
    """What this session used: turns (one per message sent) and requests (one per tool round)."""

    turns: int = 0
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def add(self, result: TurnResult) -> None:
        """Count one request's reply."""
        self.requests += 1
        self.seconds += result.elapsed
        if result.usage:
            self.prompt_tokens += result.usage.prompt_tokens or 0
            self.completion_tokens += result.usage.completion_tokens or 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class Conversation:
    """The entries sent with the next request, and what the log has not been told yet."""

    entries: list[Entry] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    title: str | None = None
    system: str | None = None  # the stored system prompt of a resumed conversation
    last_user_text: str | None = None
    retried: Entry | None = None  # the question /retry asks again, already logged
    unsaved: list[Entry] = field(default_factory=list)  # added, not yet written to the log
    unhidden: list[int] = field(default_factory=list)  # log rows taken off the path, not yet marked
    dropped: list[Entry] = field(default_factory=list)  # the replies /retry took away, until it is answered
    amended: list[Entry] = field(default_factory=list)  # logged replies /continue added to, not yet rewritten

    def messages(self) -> list[dict[str, Any]]:
        """The entries as the API takes them: user lines in a row (a note, then a question) are
        joined, so no request holds two user turns in a row (chat templates refuse that)."""
        out: list[dict[str, Any]] = []
        for entry in self.entries:
            if entry.role == "system":  # a /system on the path: the request starts with the latest
                continue
            message = entry.to_api()
            if out and message["role"] == out[-1]["role"] == "user":
                out[-1] = {"role": "user", "content": f"{out[-1]['content']}\n\n{message['content']}"}
            else:
                out.append(message)
        return out

    def next_messages(self, text: str) -> list[dict[str, Any]]:
        """The messages the next turn would send with `text` (a question /retry kept is asked again)."""
        asked_again = self.retried is not None and bool(self.entries) and self.entries[-1] is self.retried
        if asked_again:
            return self.messages()
        return Conversation([*self.entries, Entry("user", text)]).messages()

    def add(self, entry: Entry) -> Entry:
        self.entries.append(entry)
        self.unsaved.append(entry)
        return entry

    def keep(self, result: TurnResult, model: str) -> Entry:
        """A reply (whole or cut short) joins the conversation and the totals."""
        self.totals.add(result)
        self.dropped = []  # a retried question got its new answer
        return self.add(Entry("assistant", result.content, list(result.tool_calls), result.interrupted,
                              result.model or model, result, reasoning=result.reasoning,
                              finish_reason=result.finish_reason))

    def question(self, text: str) -> Entry:
        """The user's message of the next exchange: the question /retry kept, or a new one."""
        self.last_user_text = text
        user, self.retried = self.retried, None
        if user is not None and self.entries and self.entries[-1] is user and user.content == text:
            return user  # /retry: asked again, logged once
        return self.add(Entry("user", text))

    def unanswered(self, user: Entry) -> None:
        """A question that got no reply leaves the conversation; its log row stays, hidden. A
        retried question that got no new answer gets its old answer back: nothing changed."""
        if self.dropped and self.entries and self.entries[-1] is user:
            self.entries.extend(self.dropped)
            self.dropped = []
            return
        if self.entries and self.entries[-1] is user:  # by identity: an equal earlier question stays
            self.entries.pop()
        self.hide([user])

    def hide(self, entries: list[Entry]) -> None:
        """Take entries off the logged path: not logged yet, they are logged hidden."""
        for entry in entries:
            if entry.row is None:
                entry.hidden = True
            else:
                self.unhidden.append(entry.row)

    def turns(self) -> list[int]:
        """The index of each user message: turn N (from 1) starts at turns()[N - 1]."""
        return [i for i, e in enumerate(self.entries) if e.role == "user"]

    def rewind(self, turn: int) -> list[Entry] | None:
        """Go back to just after turn `turn` (0: the start); the entries dropped (they stay in
        the log as a branch), or None when there is no such turn."""
        starts = self.turns()
        if not 0 <= turn <= len(starts):
            return None
        cut = starts[turn] if turn < len(starts) else len(self.entries)
        dropped, self.entries = self.entries[cut:], self.entries[:cut]
        self.retried = None
        self.last_user_text = next((e.content for e in reversed(self.entries) if e.role == "user"),
                                   self.last_user_text)
        return dropped

    def go_back(self, turn: int | None) -> None:
        """`rewind` to just after turn `turn` (None: one turn back); a UsageError names the turns there are."""
        count = len(self.turns())
        turn = count - 1 if turn is None else turn
        if count == 0 or not 0 <= turn <= count:
            raise UsageError(f"no turn {turn} to go back to: this conversation has {count} turn"
                             f"{'s' if count != 1 else ''}" if count else "nothing to rewind yet")
        self.rewind(turn)

    def set_aside(self, entries: list[Entry]) -> None:
        """Take entries off the conversation (failed --schema attempts and their re-asks): the
        log keeps them, hidden, as a branch beside the path."""
        aside = {id(entry) for entry in entries}
        self.entries = [entry for entry in self.entries if id(entry) not in aside]
        self.hide(entries)

    def retry(self) -> str | None:
        """The last user message, to be sent again: when it is the last exchange, its replies
        leave the conversation (the log keeps them: the new answer is logged beside them, under
        the same question) and the question stays, so it is asked, and logged, once."""
        if self.last_user_text is None:
            return None
        self.retried, self.dropped = None, []
        users = self.turns()
        if users and self.entries[users[-1]].content == self.last_user_text:
            last_user = users[-1]
            self.dropped = self.entries[last_user + 1:]
            del self.entries[last_user + 1:]
            self.retried = self.entries[last_user]  # logged: the new answer goes beside the old
        return self.last_user_text

    def last_exchange(self) -> list[tuple[str, str]]:
        """(role, text) of the path's last exchange: its last question and what followed."""
        starts = self.turns()
        return [(e.role, e.content) for e in self.entries[starts[-1] if starts else 0:] if e.role != "tool"]

    def continuable(self) -> Entry | None:
        """The last reply, when it was cut short (interrupted, or stopped at the token limit)."""
        last = next((e for e in reversed(self.entries) if e.role != "system"), None)
        if last is None or last.role != "assistant" or last.tool_calls:
            return None
        return last if last.interrupted or last.finish_reason == "length" else None

    def clear(self) -> None:
        """A new conversation: nothing of the old one is asked again."""
        self.entries = []
        self.system = None
        self.last_user_text = None  # /retry after /clear: nothing to ask again
        self.retried, self.dropped = None, []

    def resume(self, entries: list[Entry], *, title: str | None, system: str | None) -> None:
        """Continue a stored conversation from its entries."""
        self.entries = entries
        self.title = title
        self.system = system
        self.retried, self.dropped = None, []
        self.last_user_text = next((e.content for e in reversed(entries) if e.role == "user"), None)
