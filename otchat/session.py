"""A session: one conversation and the settings it goes on with. Sending goes through the
engine; the log's view of the conversation is `store.log.Log`; a change of settings (a slash
command, another host) makes new settings from the same flags, never edits them."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable

from .config.resolve import Flags, Settings
from .conversation import Conversation, Entry
from .env import Env
from .errors import UsageError
from .models import ChatRequest, TurnResult
from .prepare import Setup, key_route, settings_for, with_key
from .seams import Approve, JSONObject, Opener, Sink, Tool, Tools
from .store.log import Log, LoggedPath


def refuse(tool: Tool, arguments: JSONObject) -> bool:
    """The approval of a run that can ask nobody: only read-only tools of servers the config trusts
    (none its server calls destructive)."""
    return bool(tool.trusted_read_only and not tool.destructive)


class Session:
    """A conversation with its settings, local tools and log: what a run sends through."""

    def __init__(self, env: Env, setup: Setup, *, tools: Tools | None = None, approve: Approve = refuse) -> None:
        self.env = env
        self.setup = setup  # the flags and config file the settings resolve from; where it was held
        self.tools = tools
        self.approve = approve
        self.conversation = Conversation()
        self.schema: JSONObject | None = None  # --schema / /schema: replies must match it
        self._base = setup.settings  # as resolved from the flags
        self.log = Log(env, self._base.log)
        self.settings = self._complete()

    def _complete(self) -> Settings:
        """The resolved settings plus what the run adds: local tools, a resumed system prompt."""
        base = self._base
        tools = base.tools + (self.tools.function_tools() if self.tools is not None else [])
        # --system (or /system) wins; else the conversation's own latest one; else the config's.
        flagged, logged = self.setup.flags.system, self.conversation.system
        system = flagged if flagged is not None else logged if logged is not None else base.system
        response_format = base.response_format
        if self.schema is not None and response_format:
            from .structured import RejectionCache

            response_format = RejectionCache(self.env.data_dir).format_for(base.base_url)
        return dataclasses.replace(base, tools=tools, system=system, schema=self.schema,
                                   response_format=response_format)

    def set_schema(self, schema: JSONObject | None) -> None:
        """Ask for (None: stop asking for) replies that match a JSON Schema."""
        self.schema = schema
        self.settings = self._complete()

    def change(self, apply: Callable[[Flags], None]) -> None:
        """Change the flags and resolve again; the old ones stay if the new ones do not resolve."""
        setup = self.setup
        flags = copy.deepcopy(setup.flags)
        apply(flags)
        base = settings_for(self.env, flags, setup.file, self._base.api_key, setup.held, setup.mode)
        if key_route(base) != key_route(self._base):  # another host or profile: its own key
            base = with_key(self.env, base, need_key=setup.need_key)
        else:
            base = dataclasses.replace(base, key_note=self._base.key_note, key_hint=self._base.key_hint)
        self._base = base
        self.setup = dataclasses.replace(setup, flags=flags, settings=base)
        self.settings = self._complete()

    def request_for(self, text: str) -> ChatRequest:
        """The request the next turn would send (what --dry-run prints)."""
        from .wire.request import build

        return build(self.settings, self.conversation.next_messages(text))

    def send(self, text: str, sink: Sink, opener: Opener, *, save: bool = True) -> TurnResult:
        """One exchange through the engine, logged whatever happens (unless the caller saves): the
        question is written while the server thinks (a run killed mid-answer keeps it), the rest after."""
        from .engine import exchange

        self.refresh_tools()
        try:
            return exchange(self.conversation, text, self.settings, opener, sink, tools=self.tools,
                            approve=self.approve, clock=self.env.clock, meanwhile=self.save if save else None)
        finally:
            if save:
                self.save()

    def go_on(self, sink: Sink, opener: Opener) -> TurnResult:
        """/continue: the last reply, cut short, gets the rest appended; logged whatever happens."""
        from .engine import go_on

        reply = self.conversation.continuable()
        if reply is None:
            raise UsageError("the last reply finished normally; nothing to continue")
        self.refresh_tools()
        try:
            return go_on(self.conversation, reply, self.settings, opener, sink, tools=self.tools,
                         approve=self.approve, clock=self.env.clock)
        finally:
            self.save()

    def refresh_tools(self) -> None:
        """Before a turn: a server that said its tools changed has them listed again, and the
        turn declares the new list."""
        if self.tools is not None and self.tools.refresh():
            self.settings = self._complete()

    def save(self) -> None:
        """Tell the log what the conversation added or took off its path."""
        self.log.save(self.conversation, self.settings, self.schema)

    def set_system(self, text: str) -> None:
        """/system: the prompt ("": none) for the turns that follow. In a conversation already
        under way it joins the logged path, so -c and `history show` carry the latest one."""
        self.change(lambda f: setattr(f, "system", text))
        if self.conversation.entries:
            self.conversation.system = text
            self.conversation.add(Entry("system", text))
            self.save()

    def note(self, text: str) -> None:
        """A line of the user's that joins the logged conversation without being sent (what ran)."""
        self.conversation.add(Entry("user", text, note=True))
        self.save()

    def resume(self, ref: str | None) -> str:
        """Continue a stored conversation (`ref` an id prefix, None the latest) from its current position."""
        path = self.log.open(ref)
        if path.held != self.setup.held:  # /resume of another conversation: it goes where it was held
            self.setup = dataclasses.replace(self.setup, held=path.held)
            self.change(lambda flags: None)
        self.schema = path.schema  # a continued conversation keeps its schema
        self.follow(path, asked_wins=True)
        branches = f", {path.branches} branches" if path.branches > 1 else ""
        return f"resumed {path.cid[:8]}: {path.title} ({len(self.conversation.entries)} messages{branches})"

    def follow(self, path: LoggedPath, *, asked_wins: bool = False) -> bool:
        """The conversation becomes the logged path; after a comparison, with the model whose
        answer the path holds, unless `asked_wins` and -m or --role chose one (True: the model changed)."""
        self.conversation.resume(path.entries, title=path.title, system=path.system)
        self.settings = self._complete()
        model, flags = path.compared, self.setup.flags
        chosen = asked_wins and (flags.model, flags.role) != (None, None)
        if model is None or model == self.settings.model or chosen:
            return False
        self.change(lambda f: setattr(f, "model", model))
        return True

    def rewind(self, turn: int | None) -> None:
        """Back to just after turn `turn` (None: one turn back; 0: the start). The later turns
        stay in the log as a branch; the next message starts a new one."""
        self.conversation.go_back(turn)
        entries = self.conversation.entries
        self.log.move(entries[-1].row if entries else None)

    def clear(self) -> None:
        """A new conversation; the next turn starts a new logged one."""
        self.conversation.clear()
        self.log.new()
        self.settings = self._complete()
