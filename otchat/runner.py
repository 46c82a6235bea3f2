"""Wiring a run: flags resolved into settings once (with the key), local tools started, the
transport built, and the session that sends messages through the engine and logs them.

A REPL slash command that changes a flag re-resolves through `Session.change`, the same
`settings_for` the start used; nothing downstream resolves settings again.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config.resolve import Flags, Settings
from .conversation import Conversation, Totals
from .env import Env
from .errors import ExitCode, OtchatError, TurnCut, UsageError
from .models import ChatRequest, Error, TurnResult

# The front doors take these from the runner; they live in `prepare`, which holds the key rules.
from .prepare import Resume as Resume
from .prepare import Setup as Setup
from .prepare import key_route, with_key
from .prepare import load_settings as load_settings
from .prepare import prepare as prepare
from .prepare import settings_for as settings_for

if TYPE_CHECKING:
    from .engine import Approve, Opener, Sink
    from .mcp.hub import Hub
    from .store.recorder import Recorder
    from .wire.transport import Transport


@dataclass
class Output:
    format: str = "auto"
    usage: bool = False
    verbose: bool = False
    dry_run: bool = False
    extract: str | None = None  # -x: "all" blocks, --extract-last: "last"


def refuse(tool: Any, arguments: Any) -> bool:
    """The approval of a run that can ask nobody: only read-only tools of servers the config trusts."""
    return bool(tool.trusted_read_only)


class Session:
    """A conversation with its settings, local tools and log: what one-shot and the REPL send through."""

    def __init__(self, env: Env, setup: Setup, *, tools: Hub | None = None, approve: Approve = refuse) -> None:
        self.env = env
        self.flags = setup.flags
        self.file = setup.file
        self.tools = tools  # a mcp.hub.Hub of local MCP servers, or None
        self.approve = approve
        self.held = setup.held  # where the continued conversation was held (None: nowhere stored)
        self._need_key = setup.need_key
        self.conversation = Conversation()
        self.schema: dict[str, Any] | None = None  # --schema / /schema: replies must match it
        self._base = setup.settings  # as resolved from the flags
        self.settings = self._complete()
        self._log = self.settings.log

    @functools.cached_property
    def recorder(self) -> Recorder:
        """The log's writer, made when first needed: sqlite3 loads while the server thinks."""
        from .store.recorder import Recorder

        return Recorder(self.env, self._log)

    def _complete(self) -> Settings:
        """The resolved settings plus what the run adds: local tools, a resumed system prompt."""
        base = self._base
        tools = base.tools + (self.tools.function_tools() if self.tools is not None else [])
        system = base.system if base.system is not None else self.conversation.system
        response_format = base.response_format
        if self.schema is not None and response_format:
            from .structured import RejectionCache

            response_format = not RejectionCache(self.env.data_dir).rejects(base.base_url)
        return dataclasses.replace(base, tools=tools, system=system, schema=self.schema,
                                   response_format=response_format)

    def set_schema(self, schema: dict[str, Any] | None) -> None:
        """Ask for (None: stop asking for) replies that match a JSON Schema."""
        self.schema = schema
        self.settings = self._complete()

    def change(self, apply: Callable[[Flags], None]) -> None:
        """Change the flags and resolve again; the old ones stay if the new ones do not resolve."""
        flags = copy.deepcopy(self.flags)
        apply(flags)
        base = settings_for(self.env, flags, self.file, self._base.api_key, self.held)
        if key_route(base) != key_route(self._base):  # another host or profile: its own key
            base = with_key(self.env, base, need_key=self._need_key)
        else:
            base.key_note = self._base.key_note
        self._base = base
        self.flags = flags
        self.settings = self._complete()

    @property
    def totals(self) -> Totals:
        return self.conversation.totals

    def request_for(self, text: str) -> ChatRequest:
        """The request the next turn would send (what --dry-run prints)."""
        from .wire.request import build

        c = self.conversation
        asked_again = c.retried is not None and bool(c.entries) and c.entries[-1] is c.retried
        return build(self.settings, c.messages() + ([] if asked_again else [{"role": "user", "content": text}]))

    def send(self, text: str, sink: Sink, transport: Opener, *, save: bool = True) -> TurnResult:
        """One exchange through the engine, logged whatever happens (unless the caller saves): the
        question is written while the server thinks (a run killed mid-answer keeps it), the rest after."""
        from .engine import exchange

        try:
            return exchange(self.conversation, text, self.settings, transport, sink, tools=self.tools,
                            approve=self.approve, clock=self.env.clock, meanwhile=self.save if save else None)
        finally:
            if save:
                self.save()

    def save(self) -> None:
        """Tell the log what the conversation added or took off its path."""
        s = self.settings
        self.recorder.save(self.conversation, s.model, s.profile, s.system, self.schema, base_url=s.base_url)

    def resume(self, ref: str | None) -> str:
        """Continue a stored conversation (`ref` an id prefix, None the latest) from its current position."""
        from .store.recorder import load_path, route_of

        stored, path, schema, compared = load_path(self.env, ref)
        held = route_of(stored, compared)
        if held != self.held:  # /resume of another conversation: it goes where it was held
            self.held = held
            self.change(lambda flags: None)
        self.recorder.resumed(stored.id, schema)
        self.schema = schema  # a continued conversation keeps its schema
        self._follow(path, stored.title)
        if compared is not None and self.flags.model is None and self.flags.role is None:
            self._use_model(compared)  # after a comparison: the model whose answer the path holds
        branches = f", {stored.branches} branches" if stored.branches > 1 else ""
        return f"resumed {stored.id[:8]}: {stored.title} ({len(self.conversation.entries)} messages{branches})"

    def regenerate(self) -> str:
        """--regenerate: the last question of the resumed conversation, to be asked again (the new
        answer is logged beside the old one)."""
        text = self.conversation.retry()
        if text is None or self.conversation.retried is None:
            raise UsageError("nothing to regenerate: the conversation has no question answered last")
        return text

    def _follow(self, path: list[Any], title: str | None) -> None:
        """The conversation becomes the logged path `path` (root first; the system prompt is its
        first message when it is one)."""
        from .store.recorder import from_message

        head = path[0] if path and path[0].role == "system" else None
        self.recorder.root = head.id if head else None
        entries = [from_message(m) for m in path[1 if head else 0:]]
        self.conversation.resume(entries, title=title, system=head.content if head else None)
        self.settings = self._complete()

    def rewind(self, turn: int | None) -> None:
        """Back to just after turn `turn` (None: one turn back; 0: the start). The later turns
        stay in the log as a branch; the next message starts a new one."""
        count = len(self.conversation.turns())
        turn = count - 1 if turn is None else turn
        if count == 0 or not 0 <= turn <= count:
            raise UsageError(f"no turn {turn} to go back to: this conversation has {count} turn"
                             f"{'s' if count != 1 else ''}" if count else "nothing to rewind yet")
        self.conversation.rewind(turn)
        entries = self.conversation.entries
        self.recorder.move(entries[-1].row if entries else self.recorder.root)

    def _logged(self) -> str:
        if not self.recorder.enabled:
            raise UsageError("branches live in the history, which is off (--no-log or log = false)")
        if self.recorder.cid is None:
            raise UsageError("no branches yet: nothing has been logged in this conversation")
        return self.recorder.cid

    def branches(self) -> list[str]:
        """One line for each branch off the current path: `#LEAF  turn N  M messages  first words`."""
        from .store.db import Store
        from .store.views import branch_lines

        cid = self._logged()
        with Store.open(self.env.data_dir) as store:
            return branch_lines(store.path(cid), store.branches(cid))

    def branch_leaves(self) -> list[int]:
        """The numbers of the branches /branches lists (what /switch takes)."""
        from .store.db import Store
        from .store.views import open_branches

        cid = self._logged()
        with Store.open(self.env.data_dir) as store:
            return [b.leaf for b in open_branches(store.branches(cid))]

    def switch(self, ref: str) -> bool:
        """Make the branch ending at leaf `ref` (its number, `#12` or `12`, or a unique prefix) current;
        an answer of a comparison brings its model along (True: the model changed)."""
        from .store.db import Store
        from .store.recorder import compared_model
        from .store.views import pick_leaf

        cid = self._logged()
        with Store.open(self.env.data_dir) as store:
            leaf = pick_leaf(store, cid, ref)
            store.set_current(cid, leaf)
            path, title = store.path(cid), store.conversation(cid).title
            compared = compared_model(store, path)
        self._follow(path, title)
        return compared is not None and self._use_model(compared)

    def _use_model(self, model: str) -> bool:
        """Go on with `model` (True: it was not the model in use)."""
        if model == self.settings.model:
            return False
        self.change(lambda f: setattr(f, "model", model))
        return True

    def last_exchange(self) -> list[tuple[str, str]]:
        """(role, text) of the path's last exchange: its last question and what followed."""
        entries = self.conversation.entries
        starts = self.conversation.turns()
        return [(e.role, e.content) for e in entries[starts[-1] if starts else 0:] if e.role != "tool"]

    def go_on(self, sink: Sink, transport: Opener) -> TurnResult:
        """/continue: the last reply, cut short, gets the rest appended; logged whatever happens."""
        from .engine import go_on

        reply = self.conversation.continuable()
        if reply is None:
            raise UsageError("the last reply finished normally; nothing to continue")
        try:
            return go_on(self.conversation, reply, self.settings, transport, sink, clock=self.env.clock)
        finally:
            self.save()

    def clear(self) -> None:
        """A new conversation; the next turn starts a new logged one."""
        self.conversation.clear()
        self.recorder.cid = None
        self.settings = self._complete()

    def tool_refs(self) -> list[str]:
        return [tool["ref"] for tool in self.settings.tools if tool.get("type") == "mcp"]

    def tool_refs_text(self) -> str:
        names = self.tool_refs() + sorted(self.settings.declared_functions())
        return ", ".join(names) or "none"


def start_tools(env: Env, settings: Settings) -> Hub | None:
    """Start the local MCP servers this run uses (None when there are none)."""
    if not settings.mcp_servers:
        return None
    from .mcp.hub import Hub

    hub = Hub(settings.mcp_servers, dict(env.environ))
    try:
        hub.start()
    except BaseException:
        hub.close()
        raise
    for name, why in hub.failures.items():
        env.warn(f"MCP server {name} did not start: {why}; going on without it")
    return hub


def finish_turn(env: Env, sink: Any, turn: Callable[[], TurnResult]) -> TurnResult:
    """Call `turn()`; whatever happens, the sink gets its `end` with what arrived. A cut
    turn's cause (Ctrl-C, an OtchatError...) is raised on, its partial reply kept."""
    try:
        result = turn()
    except TurnCut as cut:
        cause, partial = cut.cause, cut.partial
    except OtchatError as exc:
        sink.handle(Error(env.redact(exc.line()), int(exc.exit_code)))
        sink.end(TurnResult(interrupted=True))
        raise
    except BaseException:
        sink.end(TurnResult(interrupted=True))
        raise
    else:
        sink.end(result)
        return result
    if isinstance(cause, OtchatError):
        sink.handle(Error(env.redact(cause.line()), int(cause.exit_code)))
    sink.end(partial)
    raise cause  # outside the except block: the cause goes on as it was raised


def make_transport(env: Env, settings: Settings, output: Output, *, timeout: float | None = None) -> Transport:
    """The HTTP transport for `settings` (`timeout` overrides the read timeout)."""
    from .structured import RejectionCache
    from .wire.transport import Transport

    def dropped(field: str) -> None:
        # The next run with a schema goes straight to the request without response_format.
        if field == "response_format":
            RejectionCache(env.data_dir).remember(settings.base_url)
            if output.verbose:
                env.warn("the server rejects response_format; the schema goes as a system message only")

    if output.verbose and settings.key_note:
        _err_line(env, f"* {settings.key_note}")
    log = (lambda line: _err_line(env, line)) if output.verbose else None
    notify = (lambda line: env.warn(line)) if (output.verbose or env.stderr_isatty) else None
    return Transport(
        timeout=settings.timeout if timeout is None else timeout,
        connect_timeout=settings.connect_timeout,
        retries=settings.retries,
        httpx_transport=env.transport,
        sleep=env.sleep,
        log=log,
        notify=notify,
        plain_http=settings.base_url.startswith("http://"),
        ca_bundle=settings.ca_bundle,
        dropped=dropped,
    )


class Transports:
    """An opener that follows the session's host: one transport per base URL, made when first used.
    /resume can move a REPL to a conversation held elsewhere, and a transport made for a plain-http
    host checks no certificates (and remembers that host's quirks under its URL)."""

    def __init__(self, env: Env, session: Session, output: Output) -> None:
        self.env, self.session, self.output = env, session, output
        self._made: dict[str, Transport] = {}

    def current(self) -> Transport:
        settings = self.session.settings
        transport = self._made.get(settings.base_url)
        if transport is None:
            transport = self._made[settings.base_url] = make_transport(self.env, settings, self.output)
        return transport

    def open(self, request: ChatRequest, sent: Callable[[], None] | None = None) -> Any:
        return self.current().open(request, sent)

    def close(self) -> None:
        for transport in self._made.values():
            transport.close()
        self._made.clear()


def check_finish(env: Env, result: TurnResult, settings: Settings) -> int:
    """Warnings for replies that stopped early; exit 9 for tool calls nobody will run."""
    note, code = finish_note(result, settings)
    if note is not None:
        env.warn(note)
    return code


def finish_note(result: TurnResult, settings: Settings) -> tuple[str | None, int]:
    """What to say of a reply that stopped early (None: nothing), and the exit code it earns."""
    reason = result.finish_reason
    if reason == "length":
        return "the reply was cut short at the token limit (finish_reason: length)", ExitCode.OK
    if reason == "content_filter":
        return "the reply was stopped by a content filter (finish_reason: content_filter)", ExitCode.OK
    if reason == "tool_calls":
        declared = settings.declared_functions()
        unrun = [call.name for call in result.tool_calls if call.name not in declared]
        if unrun or not result.tool_calls:
            names = ", ".join(unrun) or "unnamed"
            return (f"the reply stopped at the server's tool budget with tool calls unrun: {names}",
                    ExitCode.TOOL_BUDGET)
    return None, ExitCode.OK


def _err_line(env: Env, line: str) -> None:
    env.stderr.write(env.redact(line) + "\n")
    env.stderr.flush()
