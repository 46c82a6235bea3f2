"""Sinks that print events: plain text for pipes, JSON and JSONL; markdown lives in `live`,
the choice between them in `output`.

A sink only receives events and the final TurnResult; it never calls back.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, TextIO

from ..models import (
    ROUND_BREAK,
    Error,
    Event,
    Finish,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolResult,
    TurnResult,
    Usage,
    item_line,
)
from ..text import clip, visible

SUMMARY = 120  # characters of a tool's result shown on one line


class PlainSink:
    """Exactly the assistant's text on stdout, written once per network read; the rest on stderr."""

    def __init__(self, out: TextIO, err: TextIO, *, show_usage: bool = False, verbose: bool = False,
                 frame: float = 0.0, reasoning: bool = False) -> None:
        self.out = out
        # On a terminal that draws no styles (TERM=dumb): the reasoning is shown where other
        # terminals show it, before the answer, each line marked `> ` and a blank line after.
        self.reasoning = reasoning
        self.frame = frame  # seconds between network reads worth taking (0: every piece at once)
        self.err = err
        self.show_usage = show_usage
        self.verbose = verbose
        self._pending: list[str] = []
        self._last = ""
        self._began = False  # some of a reply arrived
        self._reasoning = ""  # the end of the reasoning written to stderr, until it is closed
        self._round_over = False  # a local tool round ended: the next text starts a new block
        self._failed = False  # an error ended the turn (its line is printed by the caller)

    def sent(self) -> None:
        pass

    def handle(self, event: Event) -> None:
        if self._reasoning and not isinstance(event, ReasoningDelta):
            self._end_reasoning()
        match event:
            case TextDelta():
                self._began = True
                if self._round_over:
                    self._round_over = False
                    if self._last and event.text:
                        self._pending.append(ROUND_BREAK)  # stdout holds what JSON's `content` holds
                self._pending.append(event.text)
            case ReasoningDelta():
                self._began = True
                if self.reasoning and event.text:
                    if not self._reasoning:
                        self.flush()
                    self.out.write(_quoted(event.text, not self._reasoning or self._reasoning == "\n"))
                    self._reasoning = event.text[-1]
                elif self.verbose and event.text:
                    self.err.write(event.text)
                    self._reasoning = event.text[-1]
            case ToolCall():
                self._began = True
                self.flush()
                self.err.write(f"tool call: {event.name} {compact_arguments(event)}\n")
                self.err.flush()
            case ToolResult():
                shown = event.content if self.verbose else clip(event.content, SUMMARY)
                if event.items and not event.is_error:  # by type: its text, a line for each other item
                    shown = clip(result_text(event), SUMMARY)
                self.err.write(f"tool result: {event.name}{' (error)' if event.is_error else ''}: {shown}\n")
                for line in item_lines(event):
                    self.err.write(f"tool result: {event.name}: {line}\n")
                self.err.flush()
                self._round_over = True
            case Error():
                self._failed = True

    def flush(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            if text:
                self.out.write(text)
                self._last = text
        self.out.flush()

    def _end_reasoning(self) -> None:
        if self.reasoning:  # set apart from the answer by a blank line
            self.out.write("\n" if self._reasoning == "\n" else "\n\n")
            self.out.flush()
        elif self._reasoning != "\n":  # the next line on stderr starts a line of its own
            self.err.write("\n")
        self.err.flush()
        self._reasoning = ""

    def end(self, result: TurnResult) -> None:
        if self._reasoning:
            self._end_reasoning()
        self.flush()
        if self._last and not self._last.endswith("\n"):
            self.out.write("\n")
        self.out.flush()
        if is_empty(result, self._failed):  # said, not a blank line nobody can read
            self.err.write(f"otchat: warning: {EMPTY}\n")
        if self.show_usage and (self._began or not result.interrupted):  # no reply, no usage
            self.err.write(f"usage: {usage_line(result)}\n")
            self.err.flush()


class JsonSink:
    """One final JSON object; a failed turn still prints what arrived, with an `error`."""

    frame = 0.0

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.error: Error | None = None

    def sent(self) -> None:
        pass

    def handle(self, event: Event) -> None:
        if isinstance(event, Error):
            self.error = event

    def flush(self) -> None:
        pass

    def end(self, result: TurnResult) -> None:
        self.out.write(json.dumps(turn_json(result, self.error), ensure_ascii=False) + "\n")
        self.out.flush()


def turn_json(result: TurnResult, error: Error | None, model: str | None = None) -> dict[str, Any]:
    """The one-shot JSON object of a turn: the reply, its latency (seconds), and what cut it.
    `model`: the name asked for, shown in place of the server's (a comparison's answers)."""
    data = result.to_json()
    if model is not None:
        data["model"] = model
    if result.interrupted:
        data["interrupted"] = True
    if error:
        data["error"] = {"message": error.message, "exit_code": error.exit_code}
    return data


class JsonlSink:
    """otchat's typed events, one JSON object per line, as they arrive."""

    frame = 0.0

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def sent(self) -> None:
        pass

    def handle(self, event: Event) -> None:
        data = event_json(event)
        if data is not None:
            self.out.write(json.dumps(data, ensure_ascii=False) + "\n")

    def flush(self) -> None:
        self.out.flush()

    def end(self, result: TurnResult) -> None:
        self.out.flush()


def event_json(event: Event) -> dict[str, Any] | None:
    match event:
        case TextDelta():
            return {"type": "text", "text": event.text}
        case ReasoningDelta():
            return {"type": "reasoning", "text": event.text}
        case ToolCall():
            return {"type": "tool_call", "id": event.id, "name": event.name, "arguments": event.arguments}
        case ToolResult():
            return {"type": "tool_result", "id": event.id, "name": event.name, "content": event.content,
                    "is_error": event.is_error, "items": event.items}
        case Usage():
            return {"type": "usage", **event.to_dict()}
        case Finish():
            return {"type": "finish", "reason": event.reason}
        case Error():
            return {"type": "error", "message": event.message, "exit_code": event.exit_code}
        case _:  # the wire's own events (deltas of a tool call, metadata) are not otchat's
            return None


def visible_event(event: Event) -> Event:
    """`event` as a terminal shows it: every piece of untrusted text in it made `visible`
    (before rich lays it out, so the widths it counts are the widths drawn)."""
    match event:
        case TextDelta() | ReasoningDelta():
            return replace(event, text=visible(event.text))
        case ToolCall():
            return replace(event, name=visible(event.name), arguments=visible(event.arguments))
        case ToolResult():
            return replace(event, name=visible(event.name), content=visible(event.content),
                           items=[_visible_item(item) for item in event.items])
        case Error():
            return replace(event, message=visible(event.message))
        case _:
            return event


def _visible_item(item: dict[str, object]) -> dict[str, object]:
    """An item of a tool's result with its strings made visible (structured content is drawn as
    JSON, whose escapes show every control character)."""
    return {key: visible(value) if isinstance(value, str) else value for key, value in item.items()}


def _quoted(text: str, line_start: bool) -> str:
    """Reasoning as plain text set apart: each line it starts marked `> ` (a last newline
    leaves the next line unmarked until text comes for it)."""
    body = text.replace("\n", "\n> ")
    if text.endswith("\n"):
        body = body[:-2]
    return ("> " if line_start else "") + body


EMPTY = "the reply was empty"


def is_empty(result: TurnResult, failed: bool) -> bool:
    """A reply that came whole and held nothing to read: no text (but blanks), reasoning or tool call."""
    return not (failed or result.interrupted or result.content.strip() or result.reasoning or result.tool_calls)


def tool_result_line(result: ToolResult) -> str:
    """A tool's result in one line on a terminal: its mark, its name and the start of what it said
    (of its text items, when it came by type)."""
    said = result_text(result) if result.items and not result.is_error else result.content
    return f"{'✗' if result.is_error else '↳'} {result.name}: {clip(said, SUMMARY)}"


def result_text(result: ToolResult) -> str:
    return " ".join(str(item.get("text", "")) for item in result.items if item.get("type") == "text")


def item_lines(result: ToolResult) -> list[str]:
    """A line for each item of a tool's result that is not text: `[image image/png 1.2 kB]`, a
    resource's URI, the structured content as JSON (clipped; when no text renders it)."""
    rendered = any(str(item.get("text", "")).strip() for item in result.items if item.get("type") == "text")
    return [clip(item_line(item), SUMMARY) for item in result.items
            if item.get("type") != "text" and not (item.get("type") == "structured" and rendered)]


def compact_arguments(call: ToolCall) -> str:
    parsed = call.parsed_arguments()
    if parsed is None:
        return call.arguments
    return json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))


def usage_line(result: TurnResult) -> str:
    parts = []
    usage = result.usage
    if usage is not None:
        if usage.prompt_tokens is not None:
            parts.append(f"{usage.prompt_tokens:,} in")
        if usage.completion_tokens is not None:
            parts.append(f"{usage.completion_tokens:,} out")
        if usage.total_tokens is not None and not parts:
            parts.append(f"{usage.total_tokens:,} tokens")
    else:
        parts.append("tokens not reported")
    if result.requests > 1:
        parts.append(f"{result.requests} requests")
    parts.append(f"{result.elapsed:.1f} s")
    if result.model:
        parts.append(result.model)
    return " · ".join(parts)


SPEED_SPAN = 0.1  # seconds of writing an answer must take for its tokens/second to be shown


def speed_line(result: TurnResult, first_token: float | None) -> str:
    """One answer of a comparison: how soon it began, how long it took, its tokens and its
    speed (answer tokens over the time spent writing them, after the first one arrived)."""
    return " · ".join(speed_parts(result, first_token))


def speed_parts(result: TurnResult, first_token: float | None) -> list[str]:
    """The pieces of `speed_line`, which a narrow column wraps between, never inside."""
    parts = []
    if first_token is not None:
        parts.append(f"{first_token:.2f}s to first token")
    parts.append(f"{result.elapsed:.1f}s")
    usage = result.usage
    given = [] if usage is None else [(usage.prompt_tokens, "in"), (usage.completion_tokens, "out")]
    counts = [f"{count:,} {label}" for count, label in given if count is not None]
    parts.append(" / ".join(counts) if counts else "tokens not reported")
    out = usage.completion_tokens if usage is not None else None
    # Over less than a tenth of a second (a short answer all in one read) a rate is noise.
    if out and first_token is not None and result.elapsed - first_token >= SPEED_SPAN:
        parts.append(f"{out / (result.elapsed - first_token):.0f} tok/s")
    if result.requests > 1:
        parts.append(f"{result.requests} requests")
    return parts
