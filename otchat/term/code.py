"""Only the code of an answer (`-x`, `--extract-last`, `/extract`): exact into a pipe, highlighted on a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..env import Env
from ..models import Error, Event, ToolCall, TurnResult

if TYPE_CHECKING:
    from rich.status import Status

NO_BLOCK = "the answer has no fenced code block; printing all of it"


def show_code(env: Env, answer: str, *, last: bool = False) -> None:
    """Print the code of `answer`'s fenced blocks; with none, the whole answer and a warning."""
    from ..extract import extract, fenced

    code = extract(answer, last)
    if code is None:
        env.warn(NO_BLOCK)
        text = answer if answer.endswith("\n") or not answer else answer + "\n"
        env.stdout.write(text)
        env.stdout.flush()
        return
    if not env.stdout_isatty or env.environ.get("TERM") == "dumb":
        env.stdout.write(code)  # exact: what a redirect into rev.py must hold
        env.stdout.flush()
        return
    from rich.syntax import Syntax

    from .console import console_for

    console = console_for(env)
    for i, (language, block) in enumerate(fenced(answer, last)):
        if i:
            console.print()
        # No background: what is shown is what a mouse copies, without padding.
        console.print(Syntax(block, language or "text", background_color="default", word_wrap=True))
    env.stdout.flush()


class WaitSink:
    """Shows nothing of a reply while it arrives; a transient spinner says it is coming.

    The spinner is drawn on stderr, and only when stdout and stderr are both a terminal:
    nothing of it is left on the screen and nothing reaches a redirected stdout. Hosted
    tool calls get one line on stderr, as in a pipe.
    """

    def __init__(self, env: Env, label: str = "writing…") -> None:
        self.env = env
        self._status: Status | None = None
        if env.stderr_isatty and env.stdout_isatty:
            from .console import stderr_console

            console = stderr_console(env)
            self._status = console.status(label, spinner="dots")
            self._status.start()

    frame = 0.0

    def sent(self) -> None:
        pass

    def handle(self, event: Event) -> None:
        if isinstance(event, Error):
            self._stop()
        elif isinstance(event, ToolCall):
            from .sinks import compact_arguments

            self.env.stderr.write(f"tool call: {event.name} {compact_arguments(event)}\n")
            self.env.stderr.flush()

    def flush(self) -> None:
        pass

    def end(self, result: TurnResult) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


class CodeSink(WaitSink):
    """`-x`: none of the prose while the answer streams, then only its code.

    On a terminal the reply is not streamed: prose drawn and then taken back would flicker,
    and code drawn twice would be copied twice; WaitSink's spinner says the model is writing.
    """

    def __init__(self, env: Env, *, last: bool = False, usage: bool = False) -> None:
        super().__init__(env)
        self.last = last
        self.usage = usage

    def end(self, result: TurnResult) -> None:
        super().end(result)
        if result.content or not result.interrupted:
            show_code(self.env, result.content, last=self.last)
        if self.usage:
            from .sinks import usage_line

            self.env.stderr.write(f"usage: {usage_line(result)}\n")
            self.env.stderr.flush()
