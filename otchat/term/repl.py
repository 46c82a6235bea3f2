"""`otchat chat`: the interactive REPL on a terminal, one message per line otherwise.

Turns go through `runner.Session.send` → the engine and the same sinks as one-shot; this
module only reads input, dispatches slash commands and keeps the session alive.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..env import Env
from ..errors import ExitCode, OtchatError
from ..runner import Output, Resume, Session, Setup, Transports, check_finish, finish_turn, start_tools
from ..text import visible
from . import slash
from .output import make_sink
from .prompts import Approver

HISTORY_FILE = "input_history"
PROMPT = "› "


@dataclass
class Attachments:
    """Files given with -f: they go with the first message sent, then are spent."""

    blocks: list[tuple[str, str]]

    def onto(self, text: str) -> str:
        if not self.blocks:
            return text
        from ..wire.request import compose_user_message

        text, self.blocks = compose_user_message(text, self.blocks, None, placeholder=False), []
        return text


def run(env: Env, setup: Setup, output: Output, first: str | None, *, multiline: bool = False,
        resume: Resume | None = None, files: list[tuple[str, str]] | None = None) -> int:
    """The REPL of a prepared run; `files` (name, text) go with the first message."""
    settings = setup.settings
    attach = Attachments(list(files or []))
    hub = start_tools(env, settings)
    transport: Transports | None = None
    try:
        session = Session(env, setup, tools=hub, approve=Approver(env, settings.auto_approve))
        # One transport per host the session goes to (/resume may change it): made now for this one.
        transport = Transports(env, session, output)
        transport.current()
        if resume is not None:
            notice = session.resume(resume.ref)
            if env.stdin_isatty:
                _say(env.stdout, env, notice)
        if env.stdin_isatty:
            _interactive(env, session, transport, output, first, multiline, attach)
        else:
            _scripted(env, session, transport, output, first, attach)
    finally:
        if transport is not None:
            transport.close()
        if hub is not None:
            hub.close()
    return ExitCode.OK


SCHEMA_RETRIES = 2  # as --schema-retries' default


def turn(env: Env, session: Session, transport: Any, output: Output, text: str | None) -> None:
    """One exchange (None: /continue the last reply); errors and Ctrl-C end the turn, never the session."""
    if session.schema is not None and text is not None:  # /schema: only a reply that matches is shown
        from . import jsonout

        try:
            jsonout.run(env, session, transport, output, text, SCHEMA_RETRIES)
        except OtchatError as exc:
            env.error(exc.line())
        except KeyboardInterrupt:
            pass
        return
    sink = make_sink(env, output.format, usage=output.usage, verbose=output.verbose, links=session.settings.links)
    try:
        result = finish_turn(env, sink, lambda: session.send(text, sink, transport) if text is not None
                             else session.go_on(sink, transport))
    except OtchatError as exc:
        env.error(exc.line())
        return
    except KeyboardInterrupt:
        return
    check_finish(env, result, session.settings)


def _scripted(env: Env, session: Session, transport: Any, output: Output, first: str | None,
              attach: Attachments | None = None) -> None:
    """Piped stdin: one message (or slash command) per line; replies printed plainly."""
    for line in _lines(env, first):
        if not line.strip():
            continue
        if not _command_or_turn(env, session, transport, output, line.strip(), info=env.stderr, attach=attach):
            return


def _lines(env: Env, first: str | None) -> Iterator[str]:
    if first:
        yield first
    if env.stdin is None:
        return
    for raw in env.stdin:
        yield raw.decode("utf-8", "replace").rstrip("\r\n")


def _command_or_turn(env: Env, session: Session, transport: Any, output: Output, text: str, info: Any,
                     attach: Attachments | None = None) -> bool:
    """Handle one input; False means leave."""
    pending: str | None = text
    while pending is not None:
        text, pending = pending, None
        if not slash.is_command(text):
            message = text[1:] if text.startswith("//") else text
            turn(env, session, transport, output, attach.onto(message) if attach else message)
            return True
        try:
            outcome = slash.run(session, text)
        except OtchatError as exc:
            _say(info, env, f"otchat: {exc.line()}")
            return True
        if outcome.text:
            _say(info, env, outcome.text)
        if outcome.recap:
            _recap(env, info, outcome.recap)
        if outcome.go_on:
            turn(env, session, transport, output, None)
        if outcome.compare:
            _compare(env, session, transport, output, outcome.compare, info)
        if outcome.code is not None:
            from .code import show_code

            show_code(env, outcome.code, last=outcome.last_block)
        if outcome.exit:
            return False
        if outcome.edit:
            pending = _edit(env)
        elif outcome.message is not None:
            pending = outcome.message
            if slash.is_command(pending):  # a retried message that itself looks like a command
                pending = "/" + pending
    return True


def _compare(env: Env, session: Session, transport: Any, output: Output, models: list[str], info: Any) -> None:
    """/compare: the last question asked of `models`; the conversation stays on its own answer."""
    from .. import compare
    from .boards import make_board

    try:
        board = make_board(env, models, output, env.clock, links=session.settings.links)
        compare.again(env, session, transport, board, models)
    except OtchatError as exc:
        env.error(exc.line())
    except KeyboardInterrupt:
        pass
    _say(info, env, f"the conversation goes on from {session.settings.model}'s answer; /branches lists the others")


def _recap(env: Env, stream: Any, exchange: list[tuple[str, str]]) -> None:
    """Where the conversation now stands (what the model will see last): dimmed on a terminal."""
    lines = [f"{'you' if role == 'user' else role}: {text}" for role, text in exchange]
    if stream is env.stdout and env.stdout_isatty:
        from .console import console_for

        console = console_for(env)
        for line in lines:
            console.print(visible(env.redact(line)), style="dim", markup=False, highlight=False, emoji=False)
        return
    for line in lines:
        _say(stream, env, line)


def _edit(env: Env) -> str | None:
    from ..files import edit_text

    text = edit_text("", env.environ)
    if text is None or not text.strip():
        env.warn("empty message; nothing sent")
        return None
    return "/" + text.strip() if slash.is_command(text.strip()) else text.strip()


def _say(stream: Any, env: Env, text: str) -> None:
    stream.write(env.redact(text) + "\n")
    stream.flush()


def _interactive(env: Env, session: Session, transport: Any, output: Output, first: str | None,
                 multiline: bool, attach: Attachments | None = None) -> None:
    prompt = _prompt_session(env, session, multiline)
    _say(env.stdout, env, _banner(session, multiline))
    if attach and attach.blocks and first is None:
        _say(env.stdout, env, f"{', '.join(name for name, _ in attach.blocks)} will go with your first message")
    pending = first
    while True:
        if pending is not None:
            text, pending = pending, None
        else:
            try:
                text = prompt.prompt(PROMPT)
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line
            except EOFError:
                return
        if not text.strip():
            continue
        if not _command_or_turn(env, session, transport, output, text.strip(), info=env.stdout, attach=attach):
            return


def _banner(session: Session, multiline: bool) -> str:
    from .. import __version__

    send = "Alt-Enter sends" if multiline else "Enter sends"
    return (f"otchat {__version__} · {session.settings.model} · tools: {session.tool_refs_text()} · "
            f"{send} · /help · Ctrl-D leaves")


def _prompt_session(env: Env, session: Session, multiline: bool) -> Any:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    def _alt_enter(event: Any) -> None:
        if multiline:
            event.current_buffer.validate_and_handle()
        else:
            event.current_buffer.insert_text("\n")

    @bindings.add("c-j")
    def _ctrl_j(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    history: Any
    try:
        env.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = env.data_dir / HISTORY_FILE
        path.touch(mode=0o600, exist_ok=True)
        history = FileHistory(str(path))
    except OSError as exc:
        env.warn(f"input history is off: {exc.strerror or exc}")
        history = InMemoryHistory()

    def toolbar() -> str:
        s = session.settings  # the model's name may be what a server called it: shown visibly
        tokens = f"{session.totals.tokens:,} tokens this session"
        return visible(f" {s.model} │ tools: {session.tool_refs_text()} │ {tokens} ")

    return PromptSession(
        history=history,
        auto_suggest=AutoSuggestFromHistory(),
        key_bindings=bindings,
        multiline=multiline,
        bottom_toolbar=toolbar,
        completer=_completer(env, session),
        complete_while_typing=True,
        enable_open_in_editor=True,
        prompt_continuation=lambda width, line, wrap: "… ".rjust(width),
    )


def _completer(env: Env, session: Session) -> Any:
    from prompt_toolkit.completion import Completer, Completion

    class SlashCompleter(Completer):
        def get_completions(self, document: Any, complete_event: Any) -> Iterator[Any]:
            text = document.text_before_cursor
            if not text.startswith("/") or "\n" in text:
                return
            if " " not in text:
                for command in slash.COMMANDS:
                    word = "/" + command.name
                    if word.startswith(text):
                        yield Completion(word, start_position=-len(text), display_meta=command.help)
                return
            name, _, arg = text[1:].partition(" ")
            chosen = slash.BY_NAME.get(name)
            for candidate in _candidates(env, session, chosen.complete if chosen else None, arg):
                if candidate.startswith(arg):  # model ids come from the server: shown visibly
                    yield Completion(candidate, start_position=-len(arg), display=visible(candidate))

    return SlashCompleter()


def _candidates(env: Env, session: Session, kind: str | None, arg: str) -> list[str]:
    if kind == "models":
        from ..store.catalog import cached_ids

        return sorted(session.file.get("aliases", {})) + cached_ids(env.data_dir)
    if kind == "roles":
        return sorted(session.file.get("roles", {}))
    if kind == "branches":  # the numbers /branches shows (#12 is typed as 12 too)
        try:
            return [str(leaf) for leaf in session.branch_leaves()]
        except OtchatError:  # nothing logged yet, or the log is off: nothing to offer
            return []
    if kind == "tools":
        if " " not in arg:
            return ["add ", "rm "]
        if arg.startswith("rm "):
            return [f"rm {ref}" for ref in session.tool_refs()]
    return []
