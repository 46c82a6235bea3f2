"""`otchat chat`: the interactive REPL on a terminal, one message per line otherwise.

Turns go through the run (`runner.Run.turn`) → the engine and the same sinks as one-shot;
this module only reads input, dispatches slash commands and keeps the session alive.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..env import Env, Terminal
from ..errors import ExitCode, OtchatError
from ..runner import Run
from ..session import Session
from ..text import visible
from . import mcp_slash, slash

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import CompleteEvent, Completer, Completion
    from prompt_toolkit.document import Document
    from prompt_toolkit.history import History
    from prompt_toolkit.key_binding import KeyPressEvent

    from ..config.resolve import Settings

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


def serve(env: Env, owner: Run, first: str | None, *, multiline: bool = False,
        files: list[tuple[str, str]] | None = None) -> int:
    """The REPL of a run (its caller closes it); `files` (name, text) go with the first message."""
    attach = Attachments(list(files or []))
    notice = owner.start()
    owner.opener.current()  # the transport of the session's host, made before the first question
    if notice is not None and env.stdin_isatty:
        _say(env.stdout, env, notice)
    if env.stdin_isatty:
        _interactive(env, owner, first, multiline, attach)
        return ExitCode.OK
    _scripted(env, owner, first, attach)
    return owner.failed  # a script's status: that of the last message that failed


def _scripted(env: Env, owner: Run, first: str | None, attach: Attachments | None = None) -> None:
    """Piped stdin: one message (or slash command) per line; replies printed plainly."""
    for line in _lines(env, first):
        if not line.strip():
            continue
        if not _command_or_turn(env, owner, line.strip(), info=env.stderr, attach=attach):
            return


def _lines(env: Env, first: str | None) -> Iterator[str]:
    if first:
        yield first
    if env.stdin is None:
        return
    for raw in env.stdin:
        yield raw.decode("utf-8", "replace").rstrip("\r\n")


def _command_or_turn(env: Env, owner: Run, text: str, info: TextIO, attach: Attachments | None = None) -> bool:
    """Handle one input; False means leave."""
    pending: str | None = text
    while pending is not None:
        text, pending = pending, None
        if not slash.is_command(text):
            message = text[1:] if text.startswith("//") else text
            try:  # @SERVER:URI mentions: the resources attached
                message = mcp_slash.with_resources(env, owner.session, message)
            except OtchatError as exc:
                _say(info, env, f"otchat: {exc.line()}")
                owner.failed = exc.exit_code  # the turn did not go: a script's status says so
                return True
            owner.turn(attach.onto(message) if attach else message)
            return True
        try:
            actions = slash.dispatch(owner.session, text)
        except OtchatError as exc:
            _say(info, env, f"otchat: {exc.line()}")
            return True
        for action in actions:
            match action:
                case slash.Say(said):
                    _say(info, env, said)
                case slash.Recap(exchange):
                    _recap(env, info, exchange)
                case slash.GoOn():
                    owner.turn(None)
                case slash.Compare(models):
                    owner.compare(models)
                    _say(info, env, f"the conversation goes on from {owner.settings.model}'s answer;"
                         " /branches lists the others")
                case slash.ShowCode(reply, last):
                    from .code import show_code

                    show_code(env, reply, last=last)
                case slash.Leave():
                    return False
                case slash.Edit():
                    pending = _edit(env)
                    if pending is not None:  # what goes, shown as if typed at the prompt
                        _say(info, env, PROMPT + pending.replace("\n", "\n" + "… ".rjust(len(PROMPT))))
                case slash.Overwrite(path, text, said):
                    _overwrite(env, info, path, text, said)
                case slash.Send(message):  # a retried message that itself looks like a command
                    pending = "/" + message if slash.is_command(message) else message
    return True


def _recap(env: Env, stream: TextIO, exchange: list[tuple[str, str]]) -> None:
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


def _overwrite(env: Env, info: TextIO, path: Path, text: str, said: str) -> None:
    """/save over an existing file: asked on a terminal; from a pipe, /save! is the way."""
    if not env.stdin_isatty:
        _say(info, env, f"otchat: {path} exists; /save! {path} replaces it")
        return
    from .prompts import confirm

    if not confirm(env, f"{path} exists. Replace it? [y/N] "):
        _say(info, env, "nothing written")
        return
    try:
        slash.write_file(path, text)
    except OtchatError as exc:
        _say(info, env, f"otchat: {exc.line()}")
        return
    _say(info, env, said)


def _say(stream: TextIO, env: Env, text: str) -> None:
    stream.write(env.redact(text) + "\n")
    stream.flush()


def _interactive(env: Env, owner: Run, first: str | None, multiline: bool,
                 attach: Attachments | None = None) -> None:
    if env.stdout_isatty:
        _converse(env, owner, first, multiline, attach, env.stdout, None)
        return
    # `otchat chat | tee log.txt`: the prompt, what is typed and the REPL's own lines go to the
    # terminal; stdout gets only the answers, as plain text.
    tty = _open_terminal()
    try:
        screen = Terminal(tty) if tty is not None else env.stderr
        _converse(env, owner, first, multiline, attach, screen, tty)
    finally:
        if tty is not None:
            tty.close()


def _open_terminal() -> TextIO | None:
    try:
        return open("/dev/tty", "w", encoding="utf-8", errors="replace")  # the caller closes it
    except OSError:
        return None


def _converse(env: Env, owner: Run, first: str | None, multiline: bool, attach: Attachments | None,
              screen: TextIO, tty: TextIO | None) -> None:
    """The REPL's loop: `screen` shows its own lines; `tty` (None: stdout) is what the prompt draws on."""
    prompt = _prompt_session(env, owner.session, multiline, tty)
    _say(screen, env, _banner(owner.session, multiline))
    if attach and attach.blocks and first is None:
        _say(screen, env, f"{', '.join(name for name, _ in attach.blocks)} will go with your first message")
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
        if not _command_or_turn(env, owner, text.strip(), info=screen, attach=attach):
            return


def _banner(session: Session, multiline: bool) -> str:
    from .. import __version__

    send = "Alt-Enter sends" if multiline else "Enter sends"
    return (f"otchat {__version__} · {session.settings.model} · tools: {tools_summary(session.settings)} · "
            f"{send} · /help · Ctrl-D leaves")


def tools_summary(settings: Settings) -> str:
    """The tools in use in a few words (the banner, the toolbar): hosted refs by name, local
    functions by name when few, an MCP server's tools as a count (`/tools` names them all)."""
    functions = sorted(settings.declared_functions())
    servers = sorted({name.partition("__")[0] for name in functions if "__" in name})
    own = [name for name in functions if "__" not in name]
    parts = settings.tool_refs() + (own if len(own) <= 3 else [f"{len(own)} functions"])
    served = len(functions) - len(own)
    if served:
        parts.append(f"{served} from {', '.join(servers)}")
    return ", ".join(parts) or "none"


def _prompt_session(env: Env, session: Session, multiline: bool, tty: TextIO | None = None) -> PromptSession[str]:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.output import create_output

    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    def _alt_enter(event: KeyPressEvent) -> None:
        if multiline:
            event.current_buffer.validate_and_handle()
        else:
            event.current_buffer.insert_text("\n")

    @bindings.add("c-j")
    def _ctrl_j(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    history: History
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
        tokens = f"{session.conversation.totals.tokens:,} tokens this session"
        # The count first: a long model name or many tools are what the terminal cuts off.
        return visible(f" {s.model} │ {tokens} │ tools: {tools_summary(s)} ")

    return PromptSession(
        output=create_output(stdout=tty) if tty is not None else None,
        history=history,
        auto_suggest=AutoSuggestFromHistory(),
        key_bindings=bindings,
        multiline=multiline,
        bottom_toolbar=toolbar,
        completer=_completer(env, session),
        complete_while_typing=True,
        enable_open_in_editor=True,
        # A new line of the message gets `… `; a line the terminal only wrapped gets nothing.
        prompt_continuation=lambda width, line, wrap: "" if wrap else "… ".rjust(width),
    )


def _completer(env: Env, session: Session) -> Completer:
    from prompt_toolkit.completion import Completer, Completion

    class SlashCompleter(Completer):
        def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
            text = document.text_before_cursor
            if not text.startswith("/"):  # @SERVER:URI, a resource to attach
                word = "" if not text or text[-1].isspace() else text.rsplit(maxsplit=1)[-1]
                for mention in mcp_slash.mention_candidates(session, text):
                    if mention.startswith(word):
                        yield Completion(mention, start_position=-len(word), display=visible(mention))
                return
            if "\n" in text:
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
                    shown = candidate.rstrip().rpartition(" ")[2] or candidate  # its last word
                    yield Completion(candidate, start_position=-len(arg), display=visible(shown))

    return SlashCompleter()


def _candidates(env: Env, session: Session, kind: str | None, arg: str) -> list[str]:
    if kind == "models":
        from ..store.catalog import cached_ids

        # The current endpoint's models only: another server's ids would not be served here.
        return sorted(session.setup.file.get("aliases", {})) + cached_ids(env.data_dir, session.settings.base_url)
    if kind == "roles":
        return sorted(session.setup.file.get("roles", {}))
    if kind == "branches":  # the numbers /branches shows (#12 is typed as 12 too)
        try:
            return [str(leaf) for leaf in session.log.leaves()]
        except OtchatError:  # nothing logged yet, or the log is off: nothing to offer
            return []
    if kind == "resources":
        return mcp_slash.read_candidates(session, arg)
    if kind == "prompts":
        from .prompt_turn import candidates

        return candidates(session, arg)
    if kind == "tools":
        if " " not in arg:
            return ["add ", "rm "]
        if arg.startswith("rm "):
            return [f"rm {ref}" for ref in session.settings.tool_refs()]
    return []
