"""What the user hands in besides the prompt: piped stdin, -f files, --function files, -o options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, BinaryIO

from ..env import Env
from ..errors import UsageError
from ..wire import request

STDIN = Path("-")  # `-f -`
STDIN_NAME = "stdin"  # what heads the block `-f -` makes of stdin


def read_inputs(env: Env, prompt: str, files: list[Path], limit: int) -> tuple[list[tuple[str, str]], str | None]:
    """The -f files as (name, text) and the piped input to join to `prompt`; with `-f -` stdin is
    one of the files, so none is piped in besides."""
    if STDIN not in files:
        piped = read_stdin(env, limit)
        return [read_text_file(path, limit) for path in files], piped
    if request.place_input(prompt, "")[1]:
        raise UsageError("-f - and {input} both take stdin", hint="give one of them")
    if env.stdin is None or env.stdin_isatty:
        raise UsageError("-f - reads stdin, and stdin is a terminal", hint="pipe text in, or name a file")
    stdin = env.stdin
    return [(STDIN_NAME, _read_piped(stdin, limit)) if path == STDIN else read_text_file(path, limit)
            for path in files], None


def read_stdin(env: Env, limit: int) -> str | None:
    """Piped input as text, or None; never waits on a terminal, refuses input above `limit`."""
    if env.stdin is None or env.stdin_isatty:
        return None
    text = _read_piped(env.stdin, limit)
    return text if text.strip() else None


def _read_piped(stdin: BinaryIO, limit: int) -> str:
    """All of piped stdin as text, refused above `limit` bytes before it is all read."""
    data = stdin.read(limit + 1)
    if len(data) > limit:
        raise UsageError(
            f"stdin is larger than max_input_bytes ({_size(limit)}, about {limit // 4:,} tokens)",
            hint="send less, or raise max_input_bytes in config.toml",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"stdin is not UTF-8 text (invalid byte at offset {exc.start})") from None


def read_text_file(path: Path, limit: int) -> tuple[str, str]:
    """A `-f` file as (name, text), refused above `limit` bytes before it is all read."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise UsageError(f"{path} is larger than max_input_bytes ({_size(limit)}, about {limit // 4:,} tokens)",
                         hint="send less, or raise max_input_bytes in config.toml")
    try:
        return str(path), data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None


# What --function FILE takes (the man page's FUNCTION FILES; the README shows an example).
FUNCTION_FILE = (
    "A function file (--function FILE, repeatable) is one JSON object: the function's name, a "
    "description the model reads, and parameters, a JSON Schema of its arguments, as in "
    '{"name": "weather", "description": "The current weather in a city.", "parameters": '
    '{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}. '
    'A whole tool, {"type": "function", "function": {...}}, is taken too.\n\n'
    "otchat declares it to the model and prints the calls the model makes of it (a panel on a "
    "terminal, stderr in a pipe, tool_calls in JSON) for you to act on; it never runs them."
)


def load_functions(paths: list[Path]) -> list[dict[str, Any]]:
    """The function tools of `--function` files (see FUNCTION_FILE)."""
    tools = []
    for path in paths:
        try:
            definition = json.loads(path.read_bytes())
        except OSError as exc:
            raise UsageError(f"--function {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise UsageError(f"--function {path}: invalid JSON: {exc}") from None
        tools.append(request.function_tool(definition, f"--function {path}"))
    return tools


def parse_options(items: list[str]) -> dict[str, Any]:
    return dict(request.parse_option(item) for item in items)


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"
