"""A leading `<think>…</think>` block in a reply's text, split out as reasoning while it streams."""

from __future__ import annotations

from ..models import ReasoningDelta, TextDelta

# Open models served by OpenAI-compatible servers often send their reasoning inline, as a
# block at the very start of the content, rather than as `reasoning_content` deltas.
_OPENERS = {"<think>": "</think>", "<thinking>": "</thinking>"}


class ThinkSplitter:
    """Turns the first text deltas of a reply into reasoning and answer deltas.

    The tags may arrive cut anywhere across deltas, so text that could still be the start
    (or the end) of a tag is held back until the next delta decides it. Once the reply is
    known to have no such block, or the block has closed, `done` is set and the caller
    passes text straight on.
    """

    def __init__(self) -> None:
        self._held = ""
        self._opener = ""  # the opening tag as written, with any blank space before it
        self._closer: str | None = None  # inside the block: the tag that ends it
        self._started = False  # inside the block, reasoning other than blank space has come
        self._after = False  # the block has closed: the answer's leading blank lines are dropped
        self.done = False

    def feed(self, text: str) -> list[TextDelta | ReasoningDelta]:
        if self.done:
            return [TextDelta(text)]
        held = self._held + text
        self._held = ""
        if self._after:
            return self._answer(held)
        if self._closer is None:
            return self._opening(held)
        return self._inside(held)

    def end(self) -> list[TextDelta | ReasoningDelta]:
        """What is still held back when the reply ends: reasoning inside an unclosed block,
        else text. A block that never closed and holds nothing was no block: a reply that is
        just `<think>` is that text."""
        held, self._held = self._held, ""
        self.done = True
        if self._closer is not None and not self._started and not self._after:
            return [TextDelta(self._opener + held)]
        if not held or self._after:  # after the block only blank space is ever held
            return []
        return [ReasoningDelta(held)] if self._closer is not None else [TextDelta(held)]

    def _opening(self, held: str) -> list[TextDelta | ReasoningDelta]:
        start = held.lstrip()
        lowered = start.lower()
        for opener, closer in _OPENERS.items():
            if lowered.startswith(opener):
                self._closer = closer
                self._opener = held[: len(held) - len(start) + len(opener)]
                return self._inside(start[len(opener):])
        if any(opener.startswith(lowered) for opener in _OPENERS):  # blank, or a tag not yet whole
            self._held = held
            return []
        self.done = True
        return [TextDelta(held)]

    def _inside(self, held: str) -> list[TextDelta | ReasoningDelta]:
        closer = self._closer
        assert closer is not None
        if not self._started:
            stripped = held.lstrip()
            self._opener += held[: len(held) - len(stripped)]  # the text a block that holds nothing was
            held = stripped
            self._started = bool(held)
        at = held.lower().find(closer)
        if at < 0:
            keep = _partial_suffix(held.lower(), closer)
            reasoning, self._held = held[: len(held) - keep], held[len(held) - keep:]
            return [ReasoningDelta(reasoning)] if reasoning else []
        events: list[TextDelta | ReasoningDelta] = []
        if held[:at]:
            events.append(ReasoningDelta(held[:at]))
        self._after = True
        return events + self._answer(held[at + len(closer):])

    def _answer(self, held: str) -> list[TextDelta | ReasoningDelta]:
        # Blank lines between the block and the answer go; the indent of its first line stays.
        lead = len(held) - len(held.lstrip())
        answer = held[held.rfind("\n", 0, lead) + 1:]
        if lead == len(held):
            self._held = answer
            return []
        self.done = True
        return [TextDelta(answer)]


def _partial_suffix(text: str, tag: str) -> int:
    """The length of the longest end of `text` that is a beginning of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0
