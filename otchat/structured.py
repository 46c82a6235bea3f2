"""Structured output (--schema): the schema from a SPEC, the asking, parsing and validating of replies."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NoReturn

from .errors import ExitCode, OtchatError, UsageError
from .seams import JSON, JSONObject

MAX_ERRORS = 5
DEFAULT_NAME = "otchat_schema"
CACHE_FILE = "response-format-rejects.json"
# Statuses that say nothing about a body field: auth, rate limits, timeouts, gateways.
NOT_ABOUT_THE_BODY = frozenset({401, 403, 407, 408, 429, 502, 503, 504})
CONCISE_TYPES = {
    "str": "string", "int": "integer", "float": "number", "bool": "boolean",
    "string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
}


class SchemaMismatch(OtchatError):
    """The reply held no JSON, or JSON that the schema rejects (after the re-asks)."""

    exit_code = ExitCode.SCHEMA_MISMATCH

    def __init__(self, message: str, *, errors: list[str] | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.errors = errors if errors is not None else [message]


def parse_spec(text: str, *, multi: bool = False) -> JSONObject:
    """The JSON Schema a SPEC stands for: a schema file, inline JSON, or the concise form."""
    path = _existing_file(text)
    if path is not None:
        schema = _load_file(path)
    elif text.lstrip().startswith("{"):
        schema = _loads(text, "inline schema")
    elif _looks_like_path(text):
        raise UsageError(f"no schema file {text.strip()}", hint="give an existing file, inline JSON or 'name, age int'")
    else:
        schema = _concise(text)
    _check(schema)
    if multi:
        schema = {
            "type": "object",
            "properties": {"items": {"type": "array", "items": schema}},
            "required": ["items"],
            "additionalProperties": False,
        }
    return schema


def _existing_file(text: str) -> Path | None:
    path = Path(text)
    try:
        return path if text.strip() and path.is_file() else None
    except (OSError, ValueError):  # too long for a file name, or a NUL byte: not a path
        return None


def _looks_like_path(text: str) -> bool:
    # One word with a slash or a .json ending: a mistyped file name, not a field called that.
    words = text.split()
    return len(words) == 1 and "," not in text and ("/" in text or text.lower().endswith(".json"))


def _load_file(path: Path) -> JSONObject:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read schema file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return _loads(text, f"schema file {path}")


def _loads(text: str, what: str) -> JSONObject:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{what} is not a JSON object (a JSON Schema is one), got {type(value).__name__}")
    return value


def _check(schema: JSONObject) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = exc.json_path.replace("$", "schema", 1)
        raise UsageError(f"not a valid JSON Schema (Draft 2020-12): {where}: {_short(exc.message)}") from None


def _concise(text: str) -> JSONObject:
    # As llm does: newlines separate fields when there are any, so descriptions may hold commas.
    parts = text.split("\n") if "\n" in text else text.split(",")
    properties: JSONObject = {}
    for number, part in enumerate(parts, 1):
        if not part.strip() and "\n" in text:
            continue  # a blank line
        head, colon, description = part.partition(":")
        words = head.split()
        if not words:
            raise UsageError(f"schema field {number} has an empty name", hint="write NAME [TYPE] [: description], …")
        if len(words) > 2:
            raise UsageError(f"schema field {head.strip()!r}: expected NAME [TYPE], got {len(words)} words")
        name, kind = words[0], words[1].lower() if len(words) == 2 else "str"
        if kind not in CONCISE_TYPES:
            raise UsageError(f"schema field {name!r} has unknown type {words[1]!r}", hint="use str, int, float or bool")
        if name in properties:
            raise UsageError(f"schema field {name!r} is given twice")
        properties[name] = {"type": CONCISE_TYPES[kind]}
        if colon and description.strip():
            properties[name]["description"] = description.strip()
    if not properties:
        raise UsageError("the schema names no fields", hint="e.g. --schema 'name, age int'")
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def system_message(schema: JSONObject) -> str:
    """The instruction that asks for one JSON document matching `schema`."""
    return (
        "Reply with exactly one JSON document that matches the JSON Schema below. "
        "Write nothing else: no prose before or after it, no markdown code fences.\n\n"
        f"JSON Schema:\n{json.dumps(schema, ensure_ascii=False)}"
    )


def response_format(schema: JSONObject, name: str | None = None, kind: str = "json_schema") -> JSONObject:
    """The request's `response_format` field; the name is made a safe identifier (<= 64 chars).
    `kind` "json_object": JSON mode, for a server that takes only that, with the schema beside it
    (llama.cpp's servers constrain the reply to it; others ignore it)."""
    if kind == "json_object":
        return {"type": "json_object", "schema": schema}
    raw = name or schema.get("title") or DEFAULT_NAME
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", str(raw)).strip("_")[:64] or DEFAULT_NAME
    return {"type": "json_schema", "json_schema": {"name": safe, "schema": schema, "strict": True}}


def extract_json(reply_text: str) -> JSON:
    """The JSON value a reply holds: the whole text, else a fenced block, else one value inside prose."""
    decoder = json.JSONDecoder(parse_constant=_no_constant)
    for candidate in (reply_text, *_fenced_blocks(reply_text)):
        try:
            return decoder.decode(candidate)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            continue
    # Only the first `{` and the first `[`: trying every bracket would be quadratic in garbage.
    starts = sorted(i for i in (reply_text.find("{"), reply_text.find("[")) if i >= 0)
    for start in starts:
        try:
            return decoder.raw_decode(reply_text, start)[0]
        except (ValueError, RecursionError):
            continue
    raise SchemaMismatch(
        "the reply holds no JSON document",
        hint=f"it begins {_short(reply_text.strip(), 60)!r}" if reply_text.strip() else "the reply was empty",
    )


def _no_constant(name: str) -> NoReturn:
    # NaN and Infinity are not JSON: printed back out they would break the next program.
    raise ValueError(f"{name} is not JSON")


def _fenced_blocks(text: str) -> list[str]:
    """Fenced code blocks, those tagged json first (markdown-it, which rich already brings)."""
    if "```" not in text and "~~~" not in text:
        return []
    from markdown_it import MarkdownIt

    fences = [t for t in MarkdownIt("commonmark").parse(text) if t.type == "fence"]
    tagged = [t.content for t in fences if t.info.strip().lower().startswith("json")]
    return tagged + [t.content for t in fences if not t.info.strip().lower().startswith("json")]


def validate(data: JSON, schema: JSONObject) -> list[str]:
    """The schema's complaints about `data` as "path: message", in path order, at most MAX_ERRORS."""
    from jsonschema import Draft202012Validator

    errors = Draft202012Validator(schema).iter_errors(data)
    found = sorted(errors, key=lambda e: (_path_key(e.absolute_path), e.message))
    return [f"{e.json_path}: {_short(e.message)}" for e in found[:MAX_ERRORS]]


def _path_key(path: Iterable[str | int]) -> tuple[tuple[int, int, str], ...]:
    # Indexes in numeric order (items[2] before items[10]); keys by name.
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in path)


def _short(text: str, limit: int = 200) -> str:
    # The validator quotes the offending value; a long one would swamp the message.
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reask_message(errors: list[str]) -> str:
    """The user message that asks again, quoting what was wrong."""
    listed = "\n".join(f"- {error}" for error in errors[:MAX_ERRORS])
    return (
        "Your reply did not match the JSON Schema:\n"
        f"{listed}\n\n"
        "Reply again with only the corrected JSON document: no prose, no code fences."
    )


def is_response_format_rejection(status: int, body_text: str | bytes) -> bool:
    """Whether an error reply refuses `response_format` (so the request can go again without it):
    a 4xx or 5xx naming the field (llama-cpp-python answers a `json_schema` with a 500), or a 400
    or 422 naming `json_schema`. Not a transient error: it is not retried."""
    if not 400 <= status < 600 or status in NOT_ABOUT_THE_BODY:
        return False
    body = body_text.decode("utf-8", "replace") if isinstance(body_text, bytes) else body_text
    return "response_format" in body or (status in (400, 422) and "json_schema" in body)


def accepts_json_object(body_text: str | bytes) -> bool:
    """Whether a refusal of `json_schema` names `json_object` as what the server takes instead
    (llama-cpp-python: "Input should be 'text' or 'json_object'")."""
    body = body_text.decode("utf-8", "replace") if isinstance(body_text, bytes) else body_text
    return "json_object" in body


class ResponseFormatFallback:
    """The `response_format` fallback a run hands to its transport: a server that refuses a
    `json_schema` but names `json_object` as what it takes gets the request again in JSON mode;
    one that refuses the field gets it again without it (the schema still goes as a system
    message, and the reply is validated anyway). What the base URL takes is remembered, so the
    next run with a schema sends that from the start."""

    field = "response_format"

    def __init__(self, data_dir: Path, base_url: str, said: Callable[[], None] | None = None) -> None:
        self.cache = RejectionCache(data_dir)
        self.base_url = base_url
        self.said = said  # told once the field was dropped (a -v line)

    def rejects(self, status: int, body: bytes) -> bool:
        return is_response_format_rejection(status, body)

    def instead(self, value: JSON, body: bytes) -> JSON | None:
        """What goes in place of the refused `value` (None: nothing; the field is left out)."""
        if isinstance(value, dict) and value.get("type") == "json_schema" and accepts_json_object(body):
            self.cache.remember(self.base_url, "json_object")
            inner = value.get("json_schema")
            return response_format(inner.get("schema", {}) if isinstance(inner, dict) else {}, kind="json_object")
        self.cache.remember(self.base_url, None)
        if self.said is not None:
            self.said()
        return None


class RejectionCache:
    """What each base URL known to refuse a `json_schema` takes instead ("json_object", or
    nothing), kept in the data dir across runs: `{"response_format": {URL: "json_object" | null}}`
    (the older `{"rejects_response_format": [URL, ...]}` reads as nothing for each)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / CACHE_FILE

    def format_for(self, base_url: str) -> str | None:
        """The `response_format` kind to send to `base_url`: "json_schema" unless it is known to refuse that."""
        known = self._load()
        key = _cache_key(base_url)
        return known[key] if key in known else "json_schema"

    def remember(self, base_url: str, kind: str | None) -> None:
        from .files import write_atomic

        known = {**self._load(), _cache_key(base_url): kind}
        try:
            write_atomic(self.path, json.dumps({"response_format": dict(sorted(known.items()))}, indent=2) + "\n")
        except OSError:
            pass  # only a shortcut: the next run learns it again from the server's refusal

    def _load(self) -> dict[str, str | None]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return {}  # missing or corrupt: nothing known, rewritten by the next remember()
        if not isinstance(data, dict):
            return {}
        old = data.get("rejects_response_format")
        known: dict[str, str | None] = {u: None for u in old if isinstance(u, str)} if isinstance(old, list) else {}
        kinds = data.get("response_format")
        if isinstance(kinds, dict):
            known.update({u: k for u, k in kinds.items() if isinstance(u, str) and k in (None, "json_object")})
        return known


def _cache_key(base_url: str) -> str:
    """The base URL without credentials, query or trailing slash: nothing secret goes on disk."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url.strip())
    host = parts.hostname or ""
    try:
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:  # a port that is not a number: keep the text as given, minus credentials
        netloc = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme.lower()}://{netloc.lower()}{parts.path.rstrip('/')}"
