"""A conversation and its settings: what the REPL's turns and slash commands change.

Slash commands change the same `Flags` the command-line flags fill, then settings are
resolved again by `config.resolve`: one implementation, two front doors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .config import resolve as config, schema
from .wire import request
from .config.resolve import Flags, Settings
from .engine import Sink, run_turn
from .env import Env
from .errors import UsageError
from .models import ToolCall, TurnResult
from .store.db import Message


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

    def to_api(self) -> dict[str, Any]:
        if self.role == "tool":
            return {"role": "tool", "tool_call_id": self.tool_call_id, "content": self.content}
        # Tool calls nobody answered are not sent back: servers reject an assistant
        # message with tool_calls that no tool message follows.
        if self.answered and self.tool_calls:
            return {"role": self.role, "content": self.content or None,
                    "tool_calls": [call.to_openai() for call in self.tool_calls]}
        return {"role": self.role, "content": self.content}

    def to_message(self) -> Message:
        r = self.result
        return Message(
            self.role,
            self.content,
            [call.to_openai() for call in self.tool_calls],
            model=self.model,
            finish_reason=r.finish_reason if r else None,
            usage=r.usage.to_dict() if r and r.usage else None,
            latency=r.elapsed if r else None,
            interrupted=self.interrupted,
            tool_call_id=self.tool_call_id,
            reasoning=self.reasoning or None,
            hidden=self.hidden,
        )

    @classmethod
    def from_message(cls, m: Message) -> Entry:
        calls = [
            ToolCall(i, c.get("id"), c.get("function", {}).get("name", ""), c.get("function", {}).get("arguments", ""))
            for i, c in enumerate(m.tool_calls)
        ]
        return cls(m.role, m.content, calls, m.interrupted, m.model, tool_call_id=m.tool_call_id,
                   answered=bool(calls), reasoning=m.reasoning or "", row=m.id)


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


class Session:
    def __init__(self, env: Env, flags: Flags, file: dict[str, Any], api_key: str | None,
                 tools: Any = None) -> None:
        from .commands.history import Recorder

        self.tools = tools  # an mcphub.Hub of local MCP servers, or None
        self.approved: set[str] = set()
        self.env = env
        self.flags = flags
        self.file = file
        self.api_key = api_key
        self.entries: list[Entry] = []
        self.totals = Totals()
        self.last_user_text: str | None = None
        self.retried: Entry | None = None  # the question /retry asks again, already logged
        self.stored_system: str | None = None
        self.title: str | None = None
        self.settings = self._resolve()
        self.recorder = Recorder(env, self.settings.log)

    def _resolve(self) -> Settings:
        settings = config.resolve(self.flags, self.env.environ, self.file)
        settings.api_key = self.api_key
        if self.tools is not None:
            settings.tools = settings.tools + self.tools.function_tools()
        if settings.system is None and self.stored_system:
            settings.system = self.stored_system  # a resumed conversation keeps its system prompt
        return settings

    def resume(self, ref: str | None) -> str:
        """Continue a stored conversation (`ref` an id prefix, None the latest)."""
        from .commands.history import load

        conversation = load(self.env, ref)
        # Messages taken off the path (undone, replaced, unanswered) stay in the log, unsent.
        self.entries = [Entry.from_message(m) for m in conversation.messages
                        if m.role != "system" and not m.hidden]
        self.last_user_text = next((e.content for e in reversed(self.entries) if e.role == "user"), None)
        self.retried = None
        self.stored_system = next((m.content for m in conversation.messages if m.role == "system"), None)
        self.title = conversation.title
        self.recorder.cid = conversation.id
        self.settings = self._resolve()
        return f"resumed {conversation.id[:8]}: {conversation.title} ({len(self.entries)} messages)"

    def _change(self, apply: Callable[[Flags], None]) -> None:
        """Apply a change to the flags; keep the old ones if the result does not resolve."""
        import copy

        before = copy.deepcopy(self.flags)
        apply(self.flags)
        try:
            self.settings = self._resolve()
        except Exception:
            self.flags = before
            raise

    # Turns -------------------------------------------------------------------------

    def messages(self) -> list[dict[str, Any]]:
        return [entry.to_api() for entry in self.entries]

    def request_for(self, text: str) -> Any:
        """The request the next turn would send (what --dry-run prints)."""
        return request.build(self.settings, [*self.messages(), {"role": "user", "content": text}])

    def send(self, text: str, sink: Sink, transport: Any) -> TurnResult:
        """One exchange, logged whatever happens: the user's message, then replies and
        local tool rounds until a reply needs no local tool (or the round limit).

        Returns the turn as a whole (`TurnResult.whole` of its requests); on failure the
        exception's `partial` is the whole of what arrived. A reply cut short (Ctrl-C, a
        broken stream) is kept, marked interrupted; a question that got no reply at all
        leaves the conversation as it was (the log keeps it, hidden)."""
        from .engine import run_tool_calls
        from .errors import ToolBudgetError

        self.last_user_text = text
        user, self.retried = self.retried, None
        added: list[Entry] = []
        if user is not None and self.entries and self.entries[-1] is user and user.content == text:
            chat_request = request.build(self.settings, self.messages())  # /retry: asked again, logged once
        else:
            user = Entry("user", text)
            chat_request = self.request_for(text)
            self.entries.append(user)
            added.append(user)
        rounds: list[TurnResult] = []
        try:
            while True:
                try:
                    result = run_turn(chat_request, transport, sink, clock=self.env.clock)
                except BaseException as exc:
                    partial = getattr(exc, "partial", None)
                    if partial is not None and (partial.content or partial.tool_calls):
                        added.append(self._keep(partial))
                        rounds.append(partial)
                    if rounds:
                        self._report(exc, rounds)
                    else:
                        self._unanswered(user)
                    raise
                rounds.append(result)
                reply = self._keep(result)
                added.append(reply)
                if not self._wants_local_tools(result):
                    return TurnResult.whole(rounds)
                if len(rounds) > self.settings.max_tool_rounds:
                    done = len(rounds) - 1
                    error = ToolBudgetError(
                        f"stopped after {done} tool round{'s' if done != 1 else ''} (--max-tool-rounds);"
                        " the model still asks for tools")
                    error.partial = TurnResult.whole(rounds)
                    raise error
                try:
                    outcomes = run_tool_calls(result.tool_calls, self.tools, self._approve, sink)
                except BaseException as exc:
                    self._report(exc, rounds)
                    raise
                reply.answered = True
                for outcome in outcomes:
                    entry = Entry("tool", outcome.content, tool_call_id=outcome.id)
                    self.entries.append(entry)
                    added.append(entry)
                chat_request = request.build(self.settings, self.messages())
        finally:
            if rounds:
                self.totals.turns += 1
            self._log(added)

    def _unanswered(self, user: Entry) -> None:
        """A question that got no reply leaves the conversation; its log row stays, hidden."""
        if self.entries and self.entries[-1] is user:  # by identity: an equal earlier question stays
            self.entries.pop()
        if user.row is None:
            user.hidden = True  # not logged yet: logged hidden
        else:
            self.recorder.hide([user.row])

    @staticmethod
    def _report(exc: BaseException, rounds: list[TurnResult]) -> None:
        """A failure after a reply began reports the whole turn so far, cut short."""
        try:
            exc.partial = TurnResult.whole(rounds, interrupted=True)  # type: ignore[attr-defined]
        except AttributeError:
            pass

    def _wants_local_tools(self, result: TurnResult) -> bool:
        return (self.tools is not None and result.finish_reason == "tool_calls"
                and any(self.tools.tool(call.name) for call in result.tool_calls))

    def _approve(self, tool: Any, arguments: Any) -> bool:
        """Yes for read-only tools, --yes, auto_approve and "always"; else ask on a terminal."""
        auto = self.settings.auto_approve
        if tool.read_only or auto is True or tool.function in self.approved or (
                isinstance(auto, list) and tool.function in auto):
            return True
        env = self.env
        if env.stdin_isatty and env.stderr_isatty and env.stdin is not None:
            import json

            shown = json.dumps(arguments, ensure_ascii=False)
            env.stderr.write(f"Run {tool.function} {shown[:200]}? [y]es / [n]o / [a]lways for this tool: ")
            env.stderr.flush()
            answer = env.stdin.readline().decode("utf-8", "replace").strip().lower()
            if answer.startswith("a"):
                self.approved.add(tool.function)
                return True
            return answer.startswith("y")
        env.warn(f"{tool.function} was not run: not approved (pass --yes, or set auto_approve)")
        return False

    def _keep(self, result: TurnResult) -> Entry:
        entry = Entry("assistant", result.content, list(result.tool_calls), result.interrupted,
                      result.model or self.settings.model, result, reasoning=result.reasoning)
        self.entries.append(entry)
        self.totals.add(result)
        return entry

    def _log(self, entries: list[Entry]) -> None:
        s = self.settings
        rows = self.recorder.record(s.model, s.profile, s.system, [e.to_message() for e in entries])
        for entry, row in zip(entries, rows):
            entry.row = row

    # Slash commands ----------------------------------------------------------------

    def set_model(self, name: str) -> str:
        self._change(lambda f: setattr(f, "model", name))
        return f"model: {self.settings.model}"

    def set_system(self, text: str) -> str:
        value = "" if text.strip() == "-" else text
        self._change(lambda f: setattr(f, "system", value))
        return f"system prompt: {self.settings.system}" if self.settings.system else "system prompt cleared"

    def set_role(self, name: str) -> str:
        self._change(lambda f: setattr(f, "role", name))
        return f"role: {name} (model {self.settings.model})"

    def set_temperature(self, text: str) -> str:
        value = schema.parse_value(schema.TOP["temperature"], text, "temperature")
        self._change(lambda f: setattr(f, "temperature", value))
        return f"temperature: {value:g}"

    def add_tool(self, ref: str) -> str:
        def apply(f: Flags) -> None:
            f.no_tools = [r for r in f.no_tools if r != ref]
            if ref not in f.tools:
                f.tools.append(ref)

        self._change(apply)
        return f"tools: {self.tool_refs_text()}"

    def remove_tool(self, ref: str) -> str:
        if ref not in self.tool_refs():
            raise UsageError(f"{ref} is not in use; tools: {self.tool_refs_text()}")

        def apply(f: Flags) -> None:
            f.tools = [r for r in f.tools if r != ref]
            if ref not in f.no_tools:
                f.no_tools.append(ref)

        self._change(apply)
        return f"tools: {self.tool_refs_text()}"

    def tool_refs(self) -> list[str]:
        return [tool["ref"] for tool in self.settings.tools if tool.get("type") == "mcp"]

    def tool_refs_text(self) -> str:
        names = self.tool_refs() + sorted(self.settings.declared_functions())
        return ", ".join(names) or "none"

    def undo(self) -> str:
        """Drop the last exchange (the last user message and everything after it); the
        log keeps it, hidden, so -c, --cid and /resume do not send it again."""
        for i in range(len(self.entries) - 1, -1, -1):
            if self.entries[i].role == "user":
                self.recorder.hide([e.row for e in self.entries[i:]])
                del self.entries[i:]
                self.retried = None
                return "dropped the last exchange"
        return "nothing to undo"

    def retry_text(self) -> str:
        """The last user message, to be sent again: when it is the last exchange, its
        replies are dropped (hidden in the log) and the question stays, so the new answer
        takes the old one's place and the question is asked, and logged, once."""
        if self.last_user_text is None:
            raise UsageError("nothing to retry yet")
        self.retried = None
        if self.entries and any(e.role == "user" for e in self.entries):
            last_user = max(i for i, e in enumerate(self.entries) if e.role == "user")
            if self.entries[last_user].content == self.last_user_text:
                self.recorder.hide([e.row for e in self.entries[last_user + 1:]])
                del self.entries[last_user + 1:]
                self.retried = self.entries[last_user]
        return self.last_user_text

    def clear(self) -> str:
        self.entries.clear()
        self.retried = None
        self.recorder.cid = None  # the next turn starts a new logged conversation
        self.stored_system = None
        self.settings = self._resolve()
        return "new conversation"

    def usage_text(self) -> str:
        t = self.totals
        requests = f" ({t.requests} request{'s' if t.requests != 1 else ''})" if t.requests != t.turns else ""
        return (f"this session: {t.turns} turn{'s' if t.turns != 1 else ''}{requests}, {t.prompt_tokens:,} in · "
                f"{t.completion_tokens:,} out · {t.seconds:.1f} s")

    def to_markdown(self) -> str:
        from .commands.history import markdown_of

        messages = [e.to_message() for e in self.entries]
        if self.settings.system:
            messages.insert(0, Entry("system", self.settings.system).to_message())
        return markdown_of(self.title or "otchat conversation", messages)

    def save(self, path_text: str) -> str:
        from .files import write_atomic

        if not path_text:
            raise UsageError("/save needs a file name")
        path = Path(path_text).expanduser()
        try:
            write_atomic(path, self.to_markdown())
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
        return f"saved {len(self.entries)} messages to {path}"
