"""Protocol translation: OpenAI-style chunks and completions into typed events."""

from __future__ import annotations

import json
import re

from ..errors import APIError, StreamError
from ..models import JSON, Event, Finish, Meta, ReasoningDelta, TextDelta, ToolCall, ToolCallDelta, Usage
from ..text import clip
from .error_body import error_text

_loads = json.loads


# The common chunk, by far, as OpenAI-style servers write it: a few metadata fields, one
# choice whose delta is only text, nothing finished. Matched whole (anything else, even
# other spacing, goes to json.loads), it costs half of parsing it: most of a long stream.
_SCALAR = r'(?:"[^"\\\x00-\x1f]*"|-?\d+|null)'
_TEXT_CHUNK = re.compile(
    r'\{(?:"(?:id|object|created|model|system_fingerprint|service_tier|provider)": ?' + _SCALAR + r', ?)*'
    r'"choices": ?\[\{"index": ?0, ?"delta": ?\{(?:"role": ?"assistant", ?)?'
    r'"content": ?"((?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*)"\}, ?'
    r'(?:"logprobs": ?null, ?)?"finish_reason": ?null\}\]'
    r'(?:, ?"(?:usage|obfuscation)": ?(?:null|"[^"\\\x00-\x1f]*")){0,2}\}'
)


class ChunkDecoder:
    """Turns the `data:` payload of each SSE event into typed events.

    One parse, plus one fast path for the common text chunk (`_TEXT_CHUNK`);
    `fast=False` parses every chunk in full (a property test holds the fast path to it).
    """

    def __init__(self, *, fast: bool = True) -> None:
        self._meta_seen = False
        self._fast = fast

    def decode(self, data: str) -> list[Event]:
        if self._meta_seen and self._fast:
            match = _TEXT_CHUNK.fullmatch(data)
            if match:
                content = match.group(1)
                if "\\" in content:
                    content = _loads(f'"{content}"')
                return [TextDelta(content)] if content else []
        try:
            obj = _loads(data)
        except ValueError:
            raise StreamError(f"undecodable event from the server: {clip(data)}") from None
        if not isinstance(obj, dict):
            raise StreamError(f"unexpected event from the server: {clip(data)}")
        if obj.get("error"):
            raise APIError(f"the server reported an error mid-stream: {error_text(obj)}")
        events: list[Event] = []
        if not self._meta_seen and (obj.get("id") or obj.get("model")):
            self._meta_seen = True
            events.append(Meta(obj.get("id"), obj.get("model")))
        choices = obj.get("choices")
        if isinstance(choices, list) and choices:
            choice = choices[0]
            if isinstance(choice, dict):
                delta = choice.get("delta") or choice.get("message") or {}
                _message_events(delta, events)
                if choice.get("finish_reason"):
                    events.append(Finish(choice["finish_reason"]))
        usage = obj.get("usage")
        if isinstance(usage, dict):
            events.append(Usage.from_dict(usage))
        return events


def completion_events(obj: JSON) -> list[Event]:
    """The events of a whole (non-streamed) completion, in streaming order."""
    if not isinstance(obj, dict):
        raise StreamError("the server's reply is not a JSON object")
    if obj.get("error"):
        raise APIError(f"the server reported an error: {error_text(obj)}")
    events: list[Event] = [Meta(obj.get("id"), obj.get("model"))]
    choices = obj.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise StreamError("the server's reply has no choices")
    choice = choices[0]
    message = choice.get("message") or choice.get("delta") or {}
    _message_events(message, events)
    if isinstance(obj.get("usage"), dict):
        events.append(Usage.from_dict(obj["usage"]))
    events.append(Finish(choice.get("finish_reason") or "stop"))
    return events


def _message_events(message: JSON, events: list[Event]) -> None:
    if not isinstance(message, dict):
        return
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if reasoning and isinstance(reasoning, str):
        events.append(ReasoningDelta(reasoning))
    content = message.get("content")
    if content and isinstance(content, str):
        events.append(TextDelta(content))
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for position, call in enumerate(calls):
            if not isinstance(call, dict):
                continue
            function = call.get("function")
            if not isinstance(function, dict):
                function = {}
            index = call.get("index")
            arguments = function.get("arguments")
            if isinstance(arguments, (dict, list)):
                arguments = json.dumps(arguments)
            events.append(
                ToolCallDelta(
                    index=index if isinstance(index, int) else -1 - position,
                    id=call.get("id") or None,
                    name=function.get("name") or None,
                    arguments=arguments if isinstance(arguments, str) else "",
                )
            )


class ToolCallAccumulator:
    """Merges streamed tool-call fragments by `index`.

    Tolerates servers that repeat `id` and `name` in every fragment, and servers that
    omit `index` (then an unseen `id` starts a new call).
    """

    def __init__(self) -> None:
        self._calls: dict[int, ToolCall] = {}
        self._by_id: dict[str, int] = {}

    def add(self, delta: ToolCallDelta) -> None:
        index = delta.index
        if index < 0:  # no index from the server: place it by id, else as a new call
            if delta.id and delta.id in self._by_id:
                index = self._by_id[delta.id]
            elif delta.id is None and self._calls:
                index = max(self._calls)
            else:
                index = len(self._calls)
        call = self._calls.get(index)
        if call is None:
            call = self._calls[index] = ToolCall(index, delta.id, delta.name or "", "")
        if delta.id and not call.id:
            call.id = delta.id
        if delta.name and not call.name:
            call.name = delta.name
        if call.id:
            self._by_id[call.id] = index
        call.arguments += delta.arguments

    def calls(self) -> list[ToolCall]:
        return [self._calls[i] for i in sorted(self._calls)]
