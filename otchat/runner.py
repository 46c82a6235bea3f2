"""A run: the one owner of what answering takes. Opened from a plan (plan.py), it resolves the
settings once (prepare.py), starts the local MCP servers, the session and its log, makes the
transports, and closes all of it; it answers a message in the plan's mode. One-shot, every
REPL turn, /compare, `chat`, `cmd` and its describe step go through it; the front doors only
build plans and show what the run hands them (the terminal is injected as a `seams.Front`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from .config.resolve import Settings
from .env import Env
from .errors import ExitCode, OtchatError, TurnCut, UsageError
from .models import ChatRequest, Error, TurnResult
from .plan import NoSchema, Output, Plan, check_resolved, check_started
from .prepare import prepare
from .seams import JSON, Approve, Front, McpUi, Reply, TurnSink
from .session import Session

if TYPE_CHECKING:
    from .mcp.hub import Hub
    from .wire.early import Early
    from .wire.transport import Transport


class Run:
    """One run of a plan; a context manager: leaving it closes everything the run started."""

    def __init__(self, env: Env, plan: Plan, front: Front, *, approve: Approve | None = None) -> None:
        self.env, self.plan, self.front = env, plan, front
        self.setup = prepare(env, plan.flags, need_key=not plan.output.dry_run, resume=plan.resume, mode=plan.mode)
        check_resolved(plan, self.setup.settings)
        self.models: list[str] = []
        if plan.compares:
            from .compare import model_ids

            self.models = model_ids(plan.flags.models, self.setup.file)
        self._approve = approve
        self._closing = contextlib.ExitStack()
        self._session: Session | None = None
        self._opener: Transports | None = None
        self._early: Early | None = None
        self.failed: int = ExitCode.OK  # the exit code of the last turn that failed (`survive`)

    @property
    def settings(self) -> Settings:
        return self._session.settings if self._session is not None else self.setup.settings

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the run has not started")
        return self._session

    @property
    def opener(self) -> Transports:
        if self._opener is None:
            raise RuntimeError("the run has not started")
        return self._opener

    def connect(self) -> None:
        """Open the connection the first request will go on, now (wire/early.py): its DNS, TCP and
        TLS round trips then pass while the rest of the run loads. For a run about to send (a
        one-shot prompt); a dry run sends nothing, and an injected transport is not the network."""
        if self.plan.output.dry_run or self.env.transport is not None or self._early is not None:
            return
        from .wire.early import start

        settings = self.setup.settings
        self._early = start(settings.base_url, settings.ca_bundle, settings.connect_timeout)
        if self._early is not None:
            self._closing.callback(self._early.close)

    def start(self) -> str | None:
        """Start the local MCP servers and the session, and continue the conversation the plan
        names (what was resumed, or None)."""
        settings = self.setup.settings
        hub = start_tools(self.env, settings, self.front.mcp_ui, logs=self.plan.output.verbose)
        if hub is not None:
            self._closing.callback(hub.close)
        approve = self._approve or self.front.approver(settings.auto_approve)
        self._session = Session(self.env, self.setup, tools=hub, approve=approve)
        self._opener = Transports(self.env, self._session, self.plan.output, early=self._early)
        self._closing.callback(self._opener.close)
        return self._session.resume(self.plan.resume.ref) if self.plan.resume is not None else None

    def close(self) -> None:
        self._closing.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def answer(self, message: str) -> int:
        """One-shot: `message` answered in the plan's mode (a dry run, several models, a schema,
        code only, or the reply); the exit code."""
        plan, session = self.plan, self.session
        if plan.regenerate:
            message = self._regenerate()
        if plan.schema is not None:  # a continued conversation keeps its schema, unless one is given
            session.set_schema(None if isinstance(plan.schema, NoSchema) else plan.schema)
        check_started(plan, session.schema)
        if plan.output.dry_run:
            return self._dry_run(message)
        if self.models:
            from . import compare

            prose, models = session.settings.prose, self.models
            return compare.ask_all(self.env, session, self.opener.current(), lambda: self.front.board(models, prose),
                               models, message)
        if session.schema is not None:
            return self._schema(message)
        extract, s = plan.output.extract, session.settings
        sink = self.front.code_sink(extract == "last") if extract else self.front.reply_sink(s.prose, s.model)
        return self.finished(self.send(message, sink))

    def turn(self, text: str | None) -> None:
        """A REPL turn (None: /continue the last reply): errors and Ctrl-C end it, never the session
        (a failed one's exit code is kept in `failed`)."""
        session = self.session
        if session.schema is not None and text is not None:  # /schema: only a reply that matches is shown
            self.survive(lambda: self._schema(text))
            return
        sink = self.front.reply_sink(session.settings.prose, session.settings.model)

        def one() -> int:
            return self.finished(finish_turn(self.env, sink, lambda: session.send(text, sink, self.opener)
                                             if text is not None else session.go_on(sink, self.opener)))

        self.survive(one)

    def compare(self, models: list[str]) -> None:
        """/compare: the last question asked of `models` too; the conversation keeps its answer."""
        from . import compare

        session = self.session
        self.survive(lambda: compare.again(self.env, session, self.opener.current(),
                                           self.front.board(models, session.settings.prose), models))

    def send(self, text: str, sink: TurnSink) -> TurnResult:
        """One exchange into `sink` (which gets its `end` whatever happens); failures go on up."""
        return finish_turn(self.env, sink, lambda: self.session.send(text, sink, self.opener))

    def finished(self, result: TurnResult) -> int:
        """A warning for a reply that stopped early; the exit code it earns."""
        return check_finish(self.env, result, self.session.settings)

    def survive(self, action: Callable[[], object], interrupted: Callable[[], None] | None = None) -> int:
        """Run `action`; an error is printed and Ctrl-C ends only it (`interrupted` says so). The
        exit code it earns (what it returns, when an int), kept in `failed` when not 0."""
        try:
            done = action()
            code = done if isinstance(done, int) else ExitCode.OK
        except OtchatError as exc:
            self.env.error(exc.line())
            code = exc.exit_code
        except KeyboardInterrupt:
            if interrupted is not None:
                interrupted()
            code = ExitCode.INTERRUPTED
        if code != ExitCode.OK:
            self.failed = code
        return code

    def _regenerate(self) -> str:
        conversation = self.session.conversation
        text = conversation.retry()
        if text is None or conversation.retried is None:
            raise UsageError("nothing to regenerate: the conversation has no question answered last")
        return text

    def _dry_run(self, message: str) -> int:
        from .wire import request

        shown: JSON
        if self.models:
            from .compare import requests_for

            shown = [request.redacted(r) for r in requests_for(self.session, self.models, message)]
        else:
            shown = request.redacted(self.session.request_for(message))
        self.env.stdout.write(json.dumps(shown, indent=2, ensure_ascii=False) + "\n")
        self.env.stdout.flush()
        return ExitCode.OK

    def _schema(self, message: str) -> int:
        from .validated import ask_until_valid, show

        waiting = self.front.waiting()
        try:
            outcome = ask_until_valid(self.session, message, waiting, self.opener, retries=self.plan.schema_retries,
                          progress=waiting.attempt)
        finally:
            waiting.close()
        return show(self.env, outcome, self.plan.output)


def start_tools(env: Env, settings: Settings, ui: Callable[[], McpUi] | None = None, *,
                logs: bool = False) -> Hub | None:
    """Start the local MCP servers this run uses (None when there are none); `ui` makes what shows
    what they show and asks what they ask (only when there are some); with `logs` (-v)
    2026-07-28 servers are asked for log lines."""
    if not settings.mcp_servers:
        return None
    from .mcp.hub import Hub

    hub = Hub(settings.mcp_servers, dict(env.environ), content_parts=settings.content_parts,
              ui=ui() if ui is not None else None, logs=logs)
    try:
        hub.start()
    except BaseException:
        hub.close()
        raise
    for name, why in hub.failures.items():
        env.warn(f"MCP server {name} did not start: {why}; going on without it")
    return hub


def finish_turn(env: Env, sink: TurnSink, turn: Callable[[], TurnResult]) -> TurnResult:
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


def make_transport(env: Env, settings: Settings, output: Output, *, timeout: float | None = None,
                   early: Early | None = None) -> Transport:
    """The HTTP transport for `settings` (`timeout` overrides the read timeout), with the
    body fields it may leave out for a server that refuses them (and its first connection
    opened early, when `early` is given: `Run.connect`)."""
    from .structured import ResponseFormatFallback
    from .wire.transport import Transport

    def said() -> None:
        env.warn("the server rejects response_format; the schema goes as a system message only")

    if output.verbose and settings.key_note:
        env.log(f"* {settings.key_note}")
    log = env.log if output.verbose else None
    notify = env.warn if (output.verbose or env.stderr_isatty) else None
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
        fallbacks=[ResponseFormatFallback(env.data_dir, settings.base_url, said if output.verbose else None)],
        early=early,
    )


def get_json(env: Env, settings: Settings, url: str, headers: dict[str, str], *, verbose: bool,
             timeout: float) -> JSON:
    """GET one JSON document from the settings' host (the model list), on a transport of its own."""
    transport = make_transport(env, settings, Output(verbose=verbose), timeout=timeout)
    try:
        return transport.get_json(url, headers, settings.key_hint)
    finally:
        transport.close()


class Transports:
    """An opener that follows the session's host: one transport per base URL, made when first used.
    /resume can move a REPL to a conversation held elsewhere, and a transport made for a plain-http
    host checks no certificates (and remembers that host's quirks under its URL)."""

    def __init__(self, env: Env, session: Session, output: Output, *, early: Early | None = None) -> None:
        self.env, self.session, self.output = env, session, output
        self._made: dict[str, Transport] = {}
        self._early = early

    def current(self) -> Transport:
        settings = self.session.settings
        transport = self._made.get(settings.base_url)
        if transport is None:
            early = None
            if self._early is not None and self._early.url == settings.base_url:  # the host it was opened to
                early, self._early = self._early, None
            transport = self._made[settings.base_url] = make_transport(self.env, settings, self.output, early=early)
        return transport

    def open(self, request: ChatRequest, sent: Callable[[], None] | None = None) -> Reply:
        return self.current().open(request, sent)

    def close(self) -> None:
        for transport in self._made.values():
            transport.close()
        self._made.clear()


def check_finish(env: Env, result: TurnResult, settings: Settings) -> int:
    """Warnings for replies that stopped early; exit 9 for tool calls nobody will run."""
    from .engine import finish_note

    note, code = finish_note(result, settings)
    if note is not None:
        env.warn(note)
    return code

