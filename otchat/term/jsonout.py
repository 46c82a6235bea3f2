"""What a --schema turn shows: nothing of the reply while it is asked and checked (on a
terminal, a spinner on stderr naming the attempt), then exactly the JSON document, or the errors."""

from __future__ import annotations

import json
from typing import Any

from ..env import Env
from ..errors import ExitCode
from ..models import Event
from ..runner import Output, Session
from ..structured import SchemaMismatch

SPINNER = "dots"


class Waiting:
    """A sink that keeps the reply to itself; on a terminal, a spinner on stderr."""

    def __init__(self, env: Env) -> None:
        self._env = env
        self._status: Any = None

    def attempt(self, number: int, total: int) -> None:
        """Say which attempt runs (on a terminal): drawn at once, not at the spinner's next tick."""
        if not self._env.stderr_isatty:
            return
        text = f"asking for JSON (attempt {number} of {total}{'' if number == 1 else ', asking again'})"
        if self._status is None:
            from .console import stderr_console

            console = stderr_console(self._env)
            self._status = console.status(text, spinner=SPINNER)
            self._status.start()
        # Naming the spinner again makes rich redraw now (a text alone waits for its next tick).
        self._status.update(text, spinner=SPINNER)

    def handle(self, event: Event) -> None:
        pass  # a schema reply is shown only once it validates

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def run(env: Env, session: Session, transport: Any, output: Output, text: str, retries: int) -> int:
    """One --schema exchange: the JSON document on stdout (exit 0), or the errors and exit 10."""
    from ..validated import ask

    waiting = Waiting(env)
    try:
        outcome = ask(session, text, waiting, transport, retries=retries, progress=waiting.attempt)
    finally:
        waiting.close()
    if not outcome.valid:
        attempts = f"{outcome.attempts} attempt{'s' if outcome.attempts != 1 else ''}"
        if output.verbose:
            env.stderr.write(f"otchat: the last reply:\n{env.redact(outcome.result.content)}\n")
            env.stderr.flush()
        raise SchemaMismatch(f"the reply did not match the schema after {attempts}: {'; '.join(outcome.errors)}",
                             errors=outcome.errors, hint=None if output.verbose else "-v shows the last reply")
    document = json.dumps(outcome.data, ensure_ascii=False, indent=2 if env.stdout_isatty else None)
    if output.format == "json":
        envelope = {**outcome.result.to_json(), "content": document, "data": outcome.data}
        document = json.dumps(envelope, ensure_ascii=False)
    env.stdout.write(document + "\n")
    env.stdout.flush()
    return ExitCode.OK
