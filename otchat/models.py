"""Plain data shared along the data path: requests, typed stream events, turn results."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JSON = Any  # a value decoded from (or bound for) JSON: dict, list, str, int, float, bool or None
JSONObject = dict[str, JSON]


@dataclass(frozen=True, slots=True)
class Prose:
    """How a terminal shows the model's markdown (config keys `links` and `soft_breaks`): where
    a link's target shows (inline, footnotes, hidden), and whether a single newline in a
    paragraph stays a line break as the model wrote it ("keep") or joins the lines ("join",
    CommonMark's rule)."""

    links: str = "inline"
    soft_breaks: str = "keep"


PROSE = Prose()  # the defaults


@dataclass(slots=True)
class ChatRequest:
    """Everything needed to send one request; built by `request.build`, sent by `transport`."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    key_hint: str | None = None  # the hint of a rejected key (401/403): where the key came from


@dataclass(slots=True)
class ToolCall:
    """One complete tool call, its arguments still the raw string the model produced."""

    index: int
    id: str | None
    name: str
    arguments: str

    def parsed_arguments(self) -> JSON:
        """The arguments as JSON, or None when the model produced something else."""
        try:
            return json.loads(self.arguments) if self.arguments.strip() else {}
        except ValueError:
            return None

    def to_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(slots=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        def num(key: str) -> int | None:
            value = data.get(key)
            return value if isinstance(value, int) else None

        return cls(num("prompt_tokens"), num("completion_tokens"), num("total_tokens"), dict(data))

    def to_dict(self) -> dict[str, Any]:
        return self.raw or {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }

    @classmethod
    def total(cls, usages: list[Usage]) -> Usage:
        """The usage of several requests: every number summed (nested details too)."""
        summed: dict[str, Any] = {}
        for usage in usages:
            _add_into(summed, usage.to_dict())
        return cls.from_dict(summed)


def _add_into(total: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        have = total.get(key)
        if isinstance(value, bool) or value is None:
            total.setdefault(key, value)
        elif isinstance(value, (int, float)) and isinstance(have, (int, float)) and not isinstance(have, bool):
            total[key] = have + value
        elif isinstance(value, dict) and isinstance(have, dict):
            _add_into(have, value)
        elif isinstance(value, dict):
            total[key] = {}
            _add_into(total[key], value)
        else:
            total[key] = value  # a first number, or a string (the last one stands)


# Typed events: what `protocol` produces and every sink consumes.


@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ReasoningDelta:
    text: str


@dataclass(slots=True)
class ToolCallDelta:
    """A fragment of a streamed tool call; merged by `index` into a ToolCall."""

    index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass(slots=True)
class Finish:
    reason: str | None


@dataclass(slots=True)
class Error:
    message: str
    exit_code: int


@dataclass(slots=True)
class ToolResult:
    """What a local tool returned (or why it did not run), as sent back to the model."""

    id: str | None
    name: str
    content: str  # as sent back to the model
    is_error: bool = False
    items: list[dict[str, Any]] = field(default_factory=list)  # the content by type, for the screen and the log
    images: list[dict[str, Any]] = field(default_factory=list, repr=False)  # image parts for the model (content_parts)


@dataclass(slots=True)
class Meta:
    """Response identity (id, model) as soon as the server reveals it."""

    id: str | None
    model: str | None


Event = TextDelta | ReasoningDelta | ToolCallDelta | ToolCall | ToolResult | Usage | Finish | Error | Meta


@dataclass(slots=True)
class TurnResult:
    """What one request produced, complete or not; or, from `whole`, a turn of several."""

    id: str | None = None
    model: str | None = None
    content: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None
    elapsed: float = 0.0
    interrupted: bool = False
    requests: int = 1  # how many requests (local tool rounds) this result covers

    @classmethod
    def whole(cls, rounds: list[TurnResult], *, interrupted: bool = False) -> TurnResult:
        """One turn of several requests (local tool rounds) as a whole: all the text
        (rounds apart by a blank line), every tool call, summed usage and time; the
        identity and finish reason of the last request. `interrupted`: the turn was cut."""
        last = rounds[-1]
        if len(rounds) == 1 and (last.interrupted or not interrupted):
            return last
        usages = [r.usage for r in rounds if r.usage is not None]
        return cls(
            id=last.id,
            model=last.model,
            content=join_rounds([r.content for r in rounds]),
            reasoning=join_rounds([r.reasoning for r in rounds]),
            tool_calls=[call for r in rounds for call in r.tool_calls],
            finish_reason=last.finish_reason,
            usage=Usage.total(usages) if usages else None,
            elapsed=sum(r.elapsed for r in rounds),
            interrupted=last.interrupted or interrupted,
            requests=sum(r.requests for r in rounds),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "model": self.model,
            "content": self.content,
            "tool_calls": [call.to_openai() for call in self.tool_calls],
            "finish_reason": self.finish_reason,
            "usage": self.usage.to_dict() if self.usage else None,
        }
        if self.reasoning:
            out["reasoning"] = self.reasoning
        out["latency"] = round(self.elapsed, 3)  # seconds
        return out


ROUND_BREAK = "\n\n"


def join_rounds(texts: list[str]) -> str:
    """The text of several requests of one turn, as the plain output shows it."""
    return ROUND_BREAK.join(text for text in texts if text)


def item_line(item: dict[str, Any]) -> str:
    """One line naming an item that is not plain text: `[image image/png 1.2 kB]`."""
    kind = str(item.get("type"))
    if kind == "structured":
        return json.dumps(item.get("json"), ensure_ascii=False)
    words = [kind.replace("_", " ")]
    if item.get("uri"):
        words.append(str(item["uri"]))
    if item.get("mime"):
        words.append(str(item["mime"]))
    if "size" in item:
        words.append(_human(int(item.get("size") or 0)))
    if item.get("name") and item.get("name") != item.get("uri"):
        words.append(f"({item['name']})")
    return f"[{' '.join(words)}]"


def _human(size: int) -> str:
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} kB"
    return f"{size / 1_000_000:.1f} MB"
