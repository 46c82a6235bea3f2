"""Wiring a run: flags resolved into settings once (with the key), local tools started, the
transport built, and the session that sends messages through the engine and logs them.

A REPL slash command that changes a flag re-resolves through `Session.change`, the same
`settings_for` the start used; nothing downstream resolves settings again.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from .config import resolve as config
from .config.redact import is_secret_header
from .config.resolve import Flags, Settings
from .conversation import Conversation, Totals
from .env import Env
from .errors import ConfigError, ExitCode, OtchatError, TurnCut
from .models import ChatRequest, Error, TurnResult

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


@dataclass
class Resume:
    """Continue a stored conversation: `ref` an id prefix, or None for the latest."""

    ref: str | None = None


@dataclass
class Setup:
    """What a run starts from: its flags and config file, and the settings they resolve to."""

    flags: Flags
    file: dict[str, Any]
    settings: Settings


def settings_for(env: Env, flags: Flags, file: dict[str, Any], key: str | None) -> Settings:
    """Flags + environment + config file → Settings, with the key: the one place a run resolves."""
    settings = config.resolve(flags, env.environ, file)
    settings.api_key = key
    return settings


def prepare(env: Env, flags: Flags, *, need_key: bool = True) -> Setup:
    """Config file + environment + flags, and the key (required unless `need_key` is False).

    A dry run still shows which key would be sent (redacted) but never runs api_key_cmd.
    """
    from .config.keys import find_key

    file = config.load_file(config.config_path(env.config_dir), warn=env.warn)
    settings = settings_for(env, flags, file, None)
    found = find_key(settings, env.environ, env.config_dir, run_command=need_key)
    settings.api_key = found.value
    if found.value:
        env.secrets.add(found.value)
    env.secrets.update(value for name, value in settings.headers.items() if is_secret_header(name))
    if need_key and not found.value and settings.api_key_env != "":
        raise ConfigError(f"no API key: set {config.KEY_ENV} or run otchat auth login")
    return Setup(flags, file, settings)


def load_settings(env: Env, flags: Flags, *, need_key: bool = True) -> Settings:
    return prepare(env, flags, need_key=need_key).settings


def refuse(tool: Any, arguments: Any) -> bool:
    """The approval of a run that can ask nobody: read-only tools only."""
    return bool(tool.read_only)


class Session:
    """A conversation with its settings, local tools and log: what one-shot and the REPL send through."""

    def __init__(self, env: Env, setup: Setup, *, tools: Hub | None = None, approve: Approve = refuse) -> None:
        self.env = env
        self.flags = setup.flags
        self.file = setup.file
        self.tools = tools  # a mcp.hub.Hub of local MCP servers, or None
        self.approve = approve
        self.conversation = Conversation()
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
        return dataclasses.replace(base, tools=tools, system=system)

    def change(self, apply: Callable[[Flags], None]) -> None:
        """Change the flags and resolve again; the old ones stay if the new ones do not resolve."""
        flags = copy.deepcopy(self.flags)
        apply(flags)
        self._base = settings_for(self.env, flags, self.file, self._base.api_key)
        self.flags = flags
        self.settings = self._complete()

    @property
    def totals(self) -> Totals:
        return self.conversation.totals

    def request_for(self, text: str) -> ChatRequest:
        """The request the next turn would send (what --dry-run prints)."""
        from .wire.request import build

        return build(self.settings, [*self.conversation.messages(), {"role": "user", "content": text}])

    def send(self, text: str, sink: Sink, transport: Opener) -> TurnResult:
        """One exchange through the engine, logged whatever happens: the question is
        written while the server thinks (a run killed mid-answer keeps it), the rest after."""
        from .engine import exchange

        try:
            return exchange(self.conversation, text, self.settings, transport, sink, tools=self.tools,
                            approve=self.approve, clock=self.env.clock, meanwhile=self.save)
        finally:
            self.save()

    def save(self) -> None:
        """Tell the log what the conversation added or took off its path."""
        s = self.settings
        self.recorder.save(self.conversation, s.model, s.profile, s.system)

    def resume(self, ref: str | None) -> str:
        """Continue a stored conversation (`ref` an id prefix, None the latest)."""
        from .store.recorder import from_message, load

        stored = load(self.env, ref)
        # Messages taken off the path (undone, replaced, unanswered) stay in the log, unsent.
        entries = [from_message(m) for m in stored.messages if m.role != "system" and not m.hidden]
        system = next((m.content for m in stored.messages if m.role == "system"), None)
        self.conversation.resume(entries, title=stored.title, system=system)
        self.recorder.cid = stored.id
        self.settings = self._complete()
        return f"resumed {stored.id[:8]}: {stored.title} ({len(entries)} messages)"

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
    from .wire.transport import Transport

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
    )


def check_finish(env: Env, result: TurnResult, settings: Settings) -> int:
    """Warnings for replies that stopped early; exit 9 for tool calls nobody will run."""
    reason = result.finish_reason
    if reason == "length":
        env.warn("the reply was cut short at the token limit (finish_reason: length)")
    elif reason == "content_filter":
        env.warn("the reply was stopped by a content filter (finish_reason: content_filter)")
    elif reason == "tool_calls":
        declared = settings.declared_functions()
        unrun = [call.name for call in result.tool_calls if call.name not in declared]
        if unrun or not result.tool_calls:
            names = ", ".join(unrun) or "unnamed"
            env.warn(f"the reply stopped at the server's tool budget with tool calls unrun: {names}")
            return ExitCode.TOOL_BUDGET
    return ExitCode.OK


def _err_line(env: Env, line: str) -> None:
    env.stderr.write(env.redact(line) + "\n")
    env.stderr.flush()
