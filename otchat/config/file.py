"""Editing config.toml in place: tomlkit keeps the user's comments and layout."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..files import write_atomic
from ..seams import JSON, JSONObject
from . import schema

if TYPE_CHECKING:
    from tomlkit import TOMLDocument


def read_document(path: Path) -> TOMLDocument:
    """The file as a tomlkit document (empty if missing); a broken file is a ConfigError."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return tomlkit.document()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    try:
        return tomlkit.parse(text)
    except ParseError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}", hint="fix it with otchat config edit") from exc


def check_document(path: Path, doc: TOMLDocument) -> None:
    """Refuse to touch a file whose existing values are already wrong."""
    text = doc.as_string()
    schema.validate(doc.unwrap(), ConfigError, where=f"{path}: ", line_of=lambda parts: find_line(text, parts))


_HEADER = re.compile(r"\s*\[\[?([^\]]*)\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""\s*((?:[\w-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[\w-]+|"[^"]*"|'[^']*'))*)\s*=""")
_PART = re.compile(r"""([\w-]+)|"([^"]*)"|'([^']*)'""")


def find_line(text: str, parts: list[str]) -> int | None:
    """The line (1-based) where the key `parts` is set: its `key =` line, an enclosing
    inline table's, or its `[table]` header. Good enough for messages; None if not found."""

    def split(dotted: str) -> list[str]:
        return [next(g for g in m.groups() if g is not None) for m in _PART.finditer(dotted)]

    table: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            table = split(header.group(1))
            if table == parts:
                return number
            continue
        key = _KEY.match(line)
        if key:
            path = table + split(key.group(1))
            if path == parts[: len(path)]:
                return number
    return None


def set_value(doc: TOMLDocument, parts: list[str], value: JSON) -> None:
    import tomlkit

    node: MutableMapping[str, JSON] = doc
    for name in parts[:-1]:
        child = node.get(name)
        if child is None:
            # A table made on the way holds only the next one, for now: no empty [mcp] or
            # [mcp.servers] header in the file's text (tomlkit writes one once it holds a key).
            child = tomlkit.table(is_super_table=True)
            node[name] = child
        elif not isinstance(child, dict):
            raise ConfigError(f"{'.'.join(parts[: parts.index(name) + 1])} is not a table")
        node = child
    node[parts[-1]] = value


def unset_value(doc: TOMLDocument, parts: list[str]) -> bool:
    node: MutableMapping[str, JSON] = doc
    for name in parts[:-1]:
        child = node.get(name)
        if not isinstance(child, dict):
            return False
        node = child
    if parts[-1] not in node:
        return False
    del node[parts[-1]]
    return True


def get_value(data: JSONObject, parts: list[str]) -> JSON:
    node: JSON = data
    for name in parts:
        if not isinstance(node, dict) or name not in node:
            raise KeyError(".".join(parts))
        node = node[name]
    return node


def flatten(data: JSONObject, prefix: str = "") -> list[tuple[str, JSON]]:
    """Dotted `key = value` rows for every leaf, in file order."""
    rows: list[tuple[str, JSON]] = []
    for name, value in data.items():
        dotted = f"{prefix}{quote(name)}"
        if isinstance(value, dict):
            rows.extend(flatten(value, dotted + "."))
        else:
            rows.append((dotted, value))
    return rows


def quote(name: str) -> str:
    return name if name.replace("-", "").replace("_", "").isalnum() else f'"{name}"'


def toml_value(value: JSON) -> str:
    """A value as TOML writes it (for get and list)."""
    import tomlkit

    text: str = tomlkit.item(value).as_string()
    return text


def save(path: Path, doc: TOMLDocument) -> None:
    write_atomic(path, doc.as_string())
