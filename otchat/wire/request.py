"""Pure request building: settings + conversation in, ChatRequest out. No I/O here."""

from __future__ import annotations

import json
import re
from typing import Any

from ..config.redact import shown_header
from ..config.resolve import Settings
from ..errors import UsageError
from ..models import JSON, ChatRequest

TOOL_CHOICES = ("auto", "none", "required")


def build(settings: Settings, messages: list[dict[str, Any]]) -> ChatRequest:
    """The request for one turn: `messages` is the conversation after the system prompt."""
    body: dict[str, Any] = {"model": settings.model, "messages": _with_system(settings, messages)}
    if settings.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if settings.tools:
        body["tools"] = settings.tools
    if settings.tool_choice:
        body["tool_choice"] = tool_choice(settings.tool_choice)
    if settings.temperature is not None:
        body["temperature"] = settings.temperature
    if settings.max_tokens is not None:
        body["max_tokens"] = settings.max_tokens
    if settings.schema is not None and settings.response_format:
        from ..structured import response_format

        body["response_format"] = response_format(settings.schema, kind=settings.response_format)
    body.update(settings.options)
    accept = "text/event-stream" if body.get("stream") else "application/json"
    headers = {"Content-Type": "application/json", **auth_headers(settings, accept)}
    return ChatRequest(url=f"{settings.base_url}/chat/completions", headers=headers, body=body,
                       key_hint=settings.key_hint)


def auth_headers(settings: Settings, accept: str = "application/json") -> dict[str, str]:
    """Accept, the key (when there is one) and the profile's extra headers."""
    headers = {"Accept": accept}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    headers.update(settings.headers)
    return headers


def _with_system(settings: Settings, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = list(messages)
    if settings.system and not (out and out[0].get("role") == "system"):
        out.insert(0, {"role": "system", "content": settings.system})
    if settings.schema is not None:
        # Always as a system message too (after the system prompt): servers that ignore
        # response_format still see it.
        from ..structured import system_message

        at = 1 if out and out[0].get("role") == "system" else 0
        out.insert(at, {"role": "system", "content": system_message(settings.schema)})
    return out


def redacted(request: ChatRequest) -> dict[str, Any]:
    """The request as `--dry-run` and `-v` show it: the key replaced."""
    headers = {name: shown_header(name, value) for name, value in request.headers.items()}
    return {"url": request.url, "headers": headers, "body": request.body}


def tool_choice(value: str) -> str | dict[str, Any]:
    if value in TOOL_CHOICES:
        return value
    return {"type": "function", "function": {"name": value}}


def compose_user_message(prompt: str, files: list[tuple[str, str]], stdin: str | None, *,
                         placeholder: bool = True) -> str:
    """The prompt, then each file as a fenced block headed by its name, then piped input.

    With `placeholder`, a `{input}` in the prompt receives the piped input instead (see `place_input`).
    """
    parts = []
    placed = False
    if placeholder:
        prompt, placed = place_input(prompt, stdin)
    if prompt:
        parts.append(prompt)
    parts.extend(fenced(name, text) for name, text in files)
    if stdin is not None and not placed:
        parts.append(stdin)
    return "\n\n".join(parts)


_PLACEHOLDER = re.compile(r"\{\{input\}\}|\{input\}")


def place_input(prompt: str, stdin: str | None) -> tuple[str, bool]:
    """`{input}` replaced by the piped text without its final newline (the prompt goes on after
    it), `{{input}}` by a literal `{input}`; and whether the piped text was placed. A `{input}`
    with nothing piped in is a UsageError: the model would otherwise get the placeholder itself."""
    placed = False

    def fill(match: re.Match[str]) -> str:
        nonlocal placed
        if match.group(0) == "{{input}}":
            return "{input}"
        if stdin is None:
            raise UsageError("the prompt has {input} but no input was piped in",
                             hint="pipe text in, or write {{input}} for a literal {input}")
        placed = True
        return stdin.removesuffix("\n").removesuffix("\r") if stdin.endswith("\n") else stdin

    return _PLACEHOLDER.sub(fill, prompt), placed


def fenced(name: str, text: str) -> str:
    """A code fence longer than any backtick run inside `text`, so nothing closes it early."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{name}\n{fence}\n{body}{fence}"


def parse_option(item: str) -> tuple[str, Any]:
    """`KEY=VALUE` from `-o`; VALUE is JSON when it parses, else the string itself."""
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UsageError(f"-o/--option expects KEY=VALUE, got {item!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def function_tool(definition: JSON, source: str) -> dict[str, Any]:
    """A function tool from a definition `{name, description, parameters}` or a whole tool."""
    if isinstance(definition, dict) and definition.get("type") == "function":
        function = definition.get("function")
        tool = definition
    else:
        function = definition
        tool = {"type": "function", "function": definition}
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise UsageError(f"{source}: a function definition needs a \"name\" (string)")
    if "parameters" in function and not isinstance(function["parameters"], dict):
        raise UsageError(f"{source}: \"parameters\" must be a JSON schema object")
    return tool
