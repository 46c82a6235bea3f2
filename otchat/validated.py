"""A --schema exchange: ask, validate the reply against the schema, re-ask with the validator's
errors; the failed attempts leave the conversation's path as a branch of the log."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .env import Env
from .errors import ExitCode, TurnCut
from .models import TurnResult
from .plan import Format, Output
from .seams import JSON, JSONObject, Opener, Sink
from .structured import SchemaMismatch, extract_json, reask_message, validate

if TYPE_CHECKING:
    from .session import Session


@dataclass
class Outcome:
    """The last reply; `data` its JSON value when it matched (`errors` empty), else what was wrong."""

    result: TurnResult
    attempts: int
    data: JSON = None
    errors: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors


def check(reply: str, schema: JSONObject) -> tuple[JSON, list[str]]:
    """A reply's JSON value and the schema's complaints about it (no JSON at all is one)."""
    try:
        data = extract_json(reply)
    except SchemaMismatch as exc:
        return None, [f"{exc.message} ({exc.hint})" if exc.hint else exc.message]
    return data, validate(data, schema)


def ask_until_valid(session: Session, text: str, sink: Sink, transport: Opener, *, retries: int,
        progress: Callable[[int, int], None] = lambda attempt, total: None) -> Outcome:
    """Send `text`, then re-ask up to `retries` times until a reply matches `session.schema`.

    Nothing is logged until the end: then the question and the valid answer are the path, and
    the failed replies with their re-asks a hidden branch from the question. When no reply
    matched, the whole exchange is that branch, and the conversation is as it was before it.
    Errors (Ctrl-C, the network) are raised as they are, what arrived logged.
    """
    schema = session.schema
    if schema is None:
        raise ValueError("ask_until_valid() needs a session with a schema")
    conversation = session.conversation
    start = len(conversation.entries)
    if conversation.entries and conversation.entries[-1] is conversation.retried:
        start -= 1  # /retry: the question is asked again, already in the conversation
    total = retries + 1
    message = text
    result: TurnResult | None = None
    errors: list[str] = []
    try:
        for attempt in range(1, total + 1):
            progress(attempt, total)
            try:
                result = session.send(message, sink, transport, save=False)
            except TurnCut as cut:
                raise cut.cause from None
            data, errors = check(result.content, schema)
            if not errors:
                conversation.set_aside(conversation.entries[start + 1:-1])
                return Outcome(result, attempt, data)
            message = reask_message(errors)
        conversation.set_aside(conversation.entries[start:])
        assert result is not None  # the loop ran at least once (retries >= 0)
        return Outcome(result, total, errors=errors)
    finally:
        session.save()


def show(env: Env, outcome: Outcome, output: Output) -> int:
    """The JSON document on stdout (exit 0), or the errors as a SchemaMismatch (exit 10)."""
    if not outcome.valid:
        attempts = f"{outcome.attempts} attempt{'s' if outcome.attempts != 1 else ''}"
        if output.verbose:
            env.stderr.write(f"otchat: the last reply:\n{env.redact(outcome.result.content)}\n")
            env.stderr.flush()
        raise SchemaMismatch(f"the reply did not match the schema after {attempts}: {'; '.join(outcome.errors)}",
                             errors=outcome.errors, hint=None if output.verbose else "-v shows the last reply")
    document = json.dumps(outcome.data, ensure_ascii=False, indent=2 if env.stdout_isatty else None)
    if output.format == Format.json:
        envelope = {**outcome.result.to_json(), "content": document, "data": outcome.data}
        document = json.dumps(envelope, ensure_ascii=False)
    env.stdout.write(document + "\n")
    env.stdout.flush()
    return ExitCode.OK
