"""Several models at once: one question, a worker thread per model on one transport, the answers
shown on a board and logged as sibling branches of the question."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .config.resolve import Settings, model_id
from .conversation import Conversation, Entry
from .engine import finish_note
from .env import Env
from .errors import OtchatError, TurnCut, UsageError
from .models import ChatRequest, Error, Event, ReasoningDelta, TextDelta, TurnResult
from .seams import Board, Opener, Reply, Sink
from .session import Session, refuse

# After Ctrl-C, how long the workers get to hand in what arrived (their sockets are shut, so they
# wake at once); one still waiting for a server's first byte is left behind (a daemon thread).
GRACE = 1.0


class Cancelled(BaseException):
    """Raised in a worker whose comparison was stopped (Ctrl-C on the main thread)."""


def model_ids(names: list[str], file: Mapping[str, Any]) -> list[str]:
    """The model ids that `names` stand for (aliases resolved as for -m); one named twice is refused."""
    ids: dict[str, str] = {}
    for name in names:
        found = model_id(name, file)
        if found in ids:
            same = f"{ids[found]!r} and {name!r} name" if ids[found] != name else f"{name!r} is named twice:"
            raise UsageError(f"{same} the same model ({found}); a comparison asks each model once")
        ids[found] = name
    return list(ids)


def requests_for(session: Session, models: list[str], text: str) -> list[ChatRequest]:
    """The request each model would get (what --dry-run prints)."""
    from .wire.request import build

    messages = session.conversation.next_messages(text)
    return [build(dataclasses.replace(session.settings, model=model), messages) for model in models]


class _Tap:
    """A board's sink for one model, as the engine sees it: it notes the text that arrived (what
    Ctrl-C keeps) and stops the worker once the comparison is cancelled."""

    def __init__(self, sink: Sink, cancel: threading.Event) -> None:
        self.sink = sink
        self.cancel = cancel
        self.text: list[str] = []
        self.reasoning: list[str] = []

    @property
    def frame(self) -> float:
        return self.sink.frame

    def sent(self) -> None:
        self.sink.sent()

    def handle(self, event: Event) -> None:
        if self.cancel.is_set():
            raise Cancelled
        if isinstance(event, TextDelta):
            self.text.append(event.text)
        elif isinstance(event, ReasoningDelta):
            self.reasoning.append(event.text)
        self.sink.handle(event)

    def flush(self) -> None:
        if self.cancel.is_set():
            raise Cancelled
        self.sink.flush()


class _Opener:
    """The shared transport, for one worker: it remembers the replies it opened, so the main
    thread can stop them."""

    def __init__(self, transport: Opener, cancel: threading.Event) -> None:
        self.transport = transport
        self.cancel = cancel
        self.replies: list[Reply] = []
        self.lock = threading.Lock()

    def open(self, request: ChatRequest, sent: Callable[[], None] | None = None) -> Reply:
        if self.cancel.is_set():
            raise Cancelled
        reply = self.transport.open(request, sent)
        with self.lock:
            self.replies.append(reply)
        if self.cancel.is_set():  # cancelled while it was opening: `abort` may have missed it
            reply.abort()
            raise Cancelled
        return reply

    def abort(self) -> None:
        with self.lock:
            replies = list(self.replies)
        for reply in replies:
            reply.abort()


@dataclass
class Answer:
    """One model's part of a comparison."""

    index: int
    settings: Settings
    conversation: Conversation
    tap: _Tap
    opener: _Opener
    started: float = 0.0
    result: TurnResult | None = None
    error: Error | None = None
    note: str | None = None  # a warning for a reply that stopped early but did not fail
    entries: list[Entry] = field(default_factory=list)  # what goes in the log under the question
    settled: bool = False
    thread: threading.Thread | None = None


class Contest:
    """The threads of one comparison: each model's exchange on its own copy of the conversation."""

    def __init__(self, env: Env, session: Session, transport: Opener, board: Board, models: list[str],
                 before: list[Entry], question: Entry) -> None:
        self.env = env
        self.board = board
        self.text = question.content
        self.cancel = threading.Event()
        self.lock = threading.Lock()
        self.answers: list[Answer] = []
        for index, model in enumerate(models):
            asked = dataclasses.replace(question)  # each its own: a failed exchange takes its question off
            conversation = Conversation(entries=[*before, asked], system=session.conversation.system,
                                        title=session.conversation.title, retried=asked)
            self.answers.append(Answer(index, dataclasses.replace(session.settings, model=model), conversation,
                                       _Tap(board.sink(index), self.cancel), _Opener(transport, self.cancel)))

    def run(self) -> None:
        """Every model at once; the board is closed whatever happens. Ctrl-C stops them all and
        keeps what arrived of each, then goes on up."""
        threads = []
        for answer in self.answers:
            answer.started = self.env.clock()
            answer.thread = threading.Thread(target=self._work, args=(answer,), daemon=True,
                                             name=f"otchat-compare-{answer.index}")
            answer.thread.start()
            threads.append(answer.thread)
        try:
            for thread in threads:
                thread.join()
        except BaseException:
            self._stop()
            self.board.close(interrupted=True)
            raise
        self.board.close(interrupted=False)

    def exit_code(self) -> int:
        """The exit code of the first model (in the order named) that failed; 0 when none did."""
        return next((a.error.exit_code for a in self.answers if a.error is not None), 0)

    def _work(self, answer: Answer) -> None:
        from .engine import exchange

        error: Error | None = None
        index, board = answer.index, self.board
        try:
            # Its warnings and -v lines go to the board (the terminal is the board's while it is
            # drawn); it is settled outside, so the board may write to stderr then.
            with self.env.diverted(lambda line: board.warn(index, line), lambda line: board.log(index, line)):
                result = exchange(answer.conversation, self.text, answer.settings, answer.opener, answer.tap,
                                  approve=refuse, clock=self.env.clock)
            note, code = finish_note(result, answer.settings)
            if code:
                error = Error(note or "the reply stopped early", code)
            else:
                answer.note = note
        except TurnCut as cut:
            result, error = cut.partial, self._error(cut.cause)
        except BaseException as exc:  # noqa: BLE001 (a bug in one worker must not hang the others)
            result, error = TurnResult(interrupted=True), self._error(exc)
        for entry in answer.conversation.unsaved:
            if entry.role == "assistant":
                entry.model = answer.settings.model  # the branch is the model asked, whatever the server calls it
        self._settle(answer, result, error, list(answer.conversation.unsaved))

    def _error(self, cause: BaseException) -> Error | None:
        if self.cancel.is_set() or isinstance(cause, Cancelled):
            return None  # stopped by Ctrl-C: interrupted, not failed
        if isinstance(cause, OtchatError):
            return Error(self.env.redact(cause.line()), int(cause.exit_code))
        return Error(self.env.redact(f"unexpected {type(cause).__name__}: {cause}"), 1)

    def _settle(self, answer: Answer, result: TurnResult, error: Error | None, entries: list[Entry]) -> None:
        with self.lock:
            if answer.settled:
                return
            answer.settled = True
            answer.result, answer.error, answer.entries = result, error, entries
        self.board.done(answer.index, result, error)

    def _stop(self) -> None:
        """Ctrl-C: stop every stream, wait a moment for the workers, and settle the rest with what arrived."""
        self.cancel.set()
        for answer in self.answers:
            answer.opener.abort()
        deadline = self.env.clock() + GRACE
        try:
            for answer in self.answers:
                if answer.thread is not None:
                    answer.thread.join(max(0.0, deadline - self.env.clock()))
        except BaseException:  # noqa: BLE001 (a second Ctrl-C: stop waiting)
            pass
        for answer in self.answers:
            if not answer.settled:
                self._settle(answer, *self._partial(answer))

    def _partial(self, answer: Answer) -> tuple[TurnResult, None, list[Entry]]:
        """What arrived of a worker that is still out (waiting for a server that has not answered)."""
        model = answer.settings.model
        result = TurnResult(model=model, content="".join(answer.tap.text), reasoning="".join(answer.tap.reasoning),
                            interrupted=True, elapsed=self.env.clock() - answer.started)
        entries = [Entry("assistant", result.content, interrupted=True, model=model, result=result,
                         reasoning=result.reasoning)] if result.content else []
        return result, None, entries


def ask_all(env: Env, session: Session, transport: Opener, make_board: Callable[[], Board], models: list[str],
        text: str) -> int:
    """A one-shot comparison: `text` asked of every model; the first-named model's answer (the
    first that has one) becomes the conversation's current branch. The exit code.

    The board is made once the question is logged, just before the requests leave: a terminal
    board times each answer's first token from when it is made."""
    conversation = session.conversation
    question = conversation.question(text)
    session.save()  # logged once, before the answers (a run killed meanwhile keeps it)
    contest = Contest(env, session, transport, make_board(), models, conversation.entries[:-1], question)
    try:
        contest.run()
    finally:
        first = _log(session, contest, question)
        if first is None:
            conversation.unanswered(question)
        else:
            conversation.entries.extend(first.entries)
        session.save()
    _warn(env, contest)
    return contest.exit_code()


def again(env: Env, session: Session, transport: Opener, board: Board, models: list[str]) -> int:
    """REPL /compare: the last question asked of `models` too; their answers join the log beside
    the one the conversation holds, which stays current. The exit code (as `ask`)."""
    conversation = session.conversation
    turns = conversation.turns()
    if not turns:
        raise UsageError("nothing to compare yet: ask a question first")
    question = conversation.entries[turns[-1]]
    contest = Contest(env, session, transport, board, models, conversation.entries[:turns[-1]], question)
    try:
        contest.run()
    finally:
        _log(session, contest, question, session.settings.model)
        session.log.move(conversation.entries[-1].row)
    _warn(env, contest)
    return contest.exit_code()


def _log(session: Session, contest: Contest, question: Entry, model: str | None = None) -> Answer | None:
    """Each model's answer logged under the question, in the order named; the totals count them
    all. The first answer, in the order named (the log's current position when the question is new).
    `model`: the conversation's model in the log (by default the first answer's)."""
    answered = [a for a in contest.answers if a.entries]
    for answer in contest.answers:
        if answer.result is not None:
            session.conversation.totals.add(answer.result)
    if not answered or question.row is None:
        return answered[0] if answered else None
    first = answered[0]
    for answer in answered:
        # Each message keeps its own model; the conversation's is the first-named one's.
        session.log.siblings(session.settings, model or first.settings.model, answer.entries, question.row)
    session.log.move(first.entries[-1].row)
    return first


def _warn(env: Env, contest: Contest) -> None:
    for answer in contest.answers:
        if answer.note:
            env.warn(f"{answer.settings.model}: {answer.note}")
