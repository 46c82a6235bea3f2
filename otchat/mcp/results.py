"""A tool result's content by type: what the screen, --json and the log keep of each item (its
type, and text, a URI, a MIME type, a size), and the text the model receives.

Text goes as it came; structured content as JSON (checked against the tool's outputSchema when
it gives one: a result that does not match is the tool's error); an embedded text resource as a
named block; a resource link, an image, audio or a blob as a line naming it (their bytes are not
sent: OpenTools documents string tool content). Everything here came from a server: untrusted.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from ..models import item_line
from ..seams import JSONObject

if TYPE_CHECKING:
    from mcp.types import CallToolResult


def outcome(result: CallToolResult, schema: JSONObject | None, *,
            parts: bool = False) -> tuple[str, bool, list[JSONObject], list[JSONObject]]:
    """A tool's result as the run keeps it: the text the model receives, whether it is an error
    (one whose structured content does not match the tool's outputSchema is), its items, and
    with `parts` (content_parts) its images as image parts for the model (never logged)."""
    items = items_of(result)
    wrong = None if result.is_error else mismatch(items, schema)
    if wrong is not None:
        return f"the tool's result was not used: {wrong}", True, items, []
    images = image_parts(result) if parts else []
    return model_text(items, parts=bool(images)), bool(result.is_error), items, images


def image_parts(result: CallToolResult) -> list[JSONObject]:
    """The images of a result as the chat API's image parts (data URLs)."""
    from mcp.types import ImageContent

    return [{"type": "image_url", "image_url": {"url": f"data:{block.mime_type};base64,{block.data}"}}
            for block in result.content or [] if isinstance(block, ImageContent)]


def items_of(result: CallToolResult) -> list[JSONObject]:
    """Each content item of `result` as a plain dict with its `type` (the structured content last)."""
    items = [_item(block.model_dump(mode="json", by_alias=False, exclude_none=True)) for block in result.content or []]
    if result.structured_content is not None:
        items.append({"type": "structured", "json": result.structured_content})
    return items


def _item(block: dict[str, Any]) -> JSONObject:
    kind = str(block.get("type", ""))
    if kind == "text":
        return {"type": "text", "text": str(block.get("text", ""))}
    if kind in ("image", "audio"):
        return {"type": kind, "mime": str(block.get("mime_type", "")), "size": _size(block.get("data"))}
    if kind == "resource_link":
        return {"type": "resource_link", **_named(block)}
    if kind == "resource":
        resource = block.get("resource") or {}
        item: JSONObject = {"type": "resource", **_named(resource)}
        if isinstance(resource.get("text"), str):
            item["text"] = resource["text"]
        else:
            item["size"] = _size(resource.get("blob"))
        return item
    return {"type": kind or "unknown"}


def _named(block: dict[str, Any]) -> JSONObject:
    named: JSONObject = {"uri": str(block.get("uri", ""))}
    for key in ("name", "mime_type"):
        if block.get(key):
            named["mime" if key == "mime_type" else key] = str(block[key])
    return named


def _size(data: object) -> int:
    """The size in bytes of base64 `data` (0 for what is not base64)."""
    if not isinstance(data, str):
        return 0
    try:
        return len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return 0


def mismatch(items: list[JSONObject], schema: JSONObject | None) -> str | None:
    """Why the structured content does not match the tool's outputSchema (None: it does, or there
    is none to check)."""
    if not schema:
        return None
    found = [item["json"] for item in items if item.get("type") == "structured"]
    if not found:
        return "the tool gave no structured content, which its outputSchema asks for"
    import jsonschema

    try:
        jsonschema.validate(found[0], schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(part) for part in exc.absolute_path)
        return f"its structured content does not match its outputSchema{f' at {where}' if where else ''}: {exc.message}"
    except jsonschema.SchemaError:
        return None  # the tool's own schema is broken: nothing to hold its result to
    return None


def model_text(items: list[JSONObject], *, parts: bool = False) -> str:
    """What the model receives: the text items, embedded text as named blocks, the structured
    content as JSON (when no text renders it), and a line naming anything else (an image, with
    `parts`, as the image the next message holds)."""
    texts = [item for item in items if item["type"] == "text"]
    lines = []
    for item in items:
        kind = item["type"]
        if kind == "text":
            lines.append(str(item["text"]))
        elif kind == "structured":
            # A tool that returns structured content gives its text rendering too (the spec asks
            # for it; FastMCP wraps a string as {"result": ...}): the text is what goes, else the JSON.
            if not any(str(text.get("text", "")).strip() for text in texts):
                lines.append(json.dumps(item["json"], ensure_ascii=False))
        elif kind == "resource" and "text" in item:
            lines.append(f"{item['uri']}:\n```\n{item['text']}\n```")
        elif kind == "resource_link":
            lines.append(item_line(item))
        elif kind == "image" and parts:
            lines.append(item_line(item) + " (sent as an image in the next message)")
        else:
            lines.append(item_line(item) + " (not sent: only text goes to the model)")
    return "\n".join(lines)
