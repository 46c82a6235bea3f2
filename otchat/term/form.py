"""An MCP server's elicitation asked on the terminal: a form built from the requested schema
(string, number, integer, boolean, a choice of one or several; required fields marked with `*`,
defaults in brackets), or a URL shown and never opened. One key says answer, decline or cancel;
each field is a line (Enter takes the default; Ctrl-D cancels; Ctrl-C cancels the tool call)."""

from __future__ import annotations

from collections.abc import Callable

from ..seams import JSON, Answer, Elicitation, JSONObject
from ..text import clip

FORM_KEYS = "[a]nswer / [d]ecline / [c]ancel"
URL_KEYS = "[a]ccept (done) / [d]ecline / [c]ancel"
SEND_KEYS = "[s]end / [d]ecline / [c]ancel"


def choices(prop: JSONObject) -> list[tuple[str, str]]:
    """A field's choices as (value, title): `enum` (with legacy `enumNames`), `oneOf`/`anyOf` consts;
    for an array, its items'."""
    source = prop.get("items") if prop.get("type") == "array" and isinstance(prop.get("items"), dict) else prop
    assert isinstance(source, dict)
    listed = source.get("oneOf") or source.get("anyOf")
    if isinstance(listed, list):
        return [(str(o.get("const")), str(o.get("title", o.get("const")))) for o in listed if isinstance(o, dict)]
    enum, names = source.get("enum"), source.get("enumNames")
    if isinstance(enum, list):
        titles = names if isinstance(names, list) and len(names) == len(enum) else enum
        return [(str(v), str(t)) for v, t in zip(enum, titles, strict=True)]
    return []


def _pick(text: str, options: list[tuple[str, str]]) -> str:
    """One choice by its number, value or title."""
    word = text.strip()
    if word.isdigit() and 1 <= int(word) <= len(options):
        return options[int(word) - 1][0]
    for value, title in options:
        if word.lower() in (value.lower(), title.lower()):
            return value
    raise ValueError("choose one of the numbers shown")


def _bounded(value: float, prop: JSONObject) -> None:
    low, high = prop.get("minimum"), prop.get("maximum")
    if isinstance(low, (int, float)) and value < low:
        raise ValueError(f"at least {low}")
    if isinstance(high, (int, float)) and value > high:
        raise ValueError(f"at most {high}")


def parse_field(prop: JSONObject, text: str) -> JSON:
    """The value a line gives a field of type `prop` (ValueError: why it does not fit)."""
    kind, options = prop.get("type"), choices(prop)
    if kind == "array":
        picked = [_pick(part, options) if options else part.strip() for part in text.split(",") if part.strip()]
        low, high = prop.get("minItems"), prop.get("maxItems")
        if (isinstance(low, int) and len(picked) < low) or (isinstance(high, int) and len(picked) > high):
            raise ValueError(f"choose {low or 0} to {high if high is not None else 'any number'}")
        return list(picked)
    if options:
        return _pick(text, options)
    if kind == "boolean":
        word = text.strip().lower()
        if word in ("y", "yes", "true", "1"):
            return True
        if word in ("n", "no", "false", "0"):
            return False
        raise ValueError("answer y or n")
    if kind in ("integer", "number"):
        number: int | float = int(text) if kind == "integer" else float(text)
        _bounded(number, prop)
        return number
    low, high = prop.get("minLength"), prop.get("maxLength")
    if (isinstance(low, int) and len(text) < low) or (isinstance(high, int) and len(text) > high):
        raise ValueError(f"between {low or 0} and {high if high is not None else 'any number of'} characters")
    return text


def label(name: str, prop: JSONObject, required: bool) -> str:
    """A field's question: its title, `*` when required, its description, choices and default."""
    title = str(prop.get("title") or name) + ("*" if required else "")
    parts = [title]
    if isinstance(prop.get("description"), str):
        parts.append(f"({clip(str(prop['description']), 120)})")
    options = choices(prop)
    if options:
        parts.append(" ".join(f"{n}) {t}" for n, (_, t) in enumerate(options, 1))
                     + (" (several: 1,3)" if prop.get("type") == "array" else ""))
    elif prop.get("type") == "boolean":
        parts.append("[y/n]")
    elif prop.get("type") in ("integer", "number"):
        parts.append(f"({prop.get('type')})")
    if "default" in prop:  # a choice's by its title
        default, titles = prop["default"], dict(options)
        shown = [titles.get(str(v), str(v)) for v in (default if isinstance(default, list) else [default])]
        parts.append(f"[{', '.join(shown)}]")
    return " ".join(parts) + ": "


def fill(schema: JSONObject, ask: Callable[[str], str], say: Callable[[str], None]) -> JSONObject | None:
    """Every field of the schema asked in turn until its line fits (None: the input ended, Ctrl-D)."""
    props = schema.get("properties")
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    assert isinstance(required, list)
    content: JSONObject = {}
    for name, prop in (props.items() if isinstance(props, dict) else []):
        if not isinstance(prop, dict):
            continue
        while True:
            line = ask("  " + label(name, prop, name in required))
            if not line:
                return None
            text = line.rstrip("\r\n")
            if not text.strip():
                if "default" in prop:
                    content[name] = prop["default"]
                    break
                if name not in required:
                    break
                say("  required\n")
                continue
            try:
                content[name] = parse_field(prop, text)
                break
            except ValueError as exc:
                say(f"  {exc}\n")
    return content


def elicit(request: Elicitation, ask: Callable[[str], str], key: Callable[[str], str],
           say: Callable[[str], None]) -> Answer:
    """Ask `request` on the terminal: `key` asks one key of the choices given, `ask` a line."""
    say(f"\n{request.server} asks: {request.message}\n")
    if request.mode == "url":
        say(f"  open this yourself (otchat does not open it): {request.url}\n")
        choice = key(URL_KEYS)
        return Answer({"a": "accept", "d": "decline"}.get(choice, "cancel"))  # type: ignore[arg-type]
    choice = key(FORM_KEYS)
    if choice != "a":
        return Answer("decline" if choice == "d" else "cancel")
    content = fill(request.schema, ask, say)
    if content is None:
        say("  cancelled\n")
        return Answer("cancel")
    choice = key(SEND_KEYS)
    if choice == "s":
        return Answer("accept", content)
    return Answer("decline" if choice == "d" else "cancel")
