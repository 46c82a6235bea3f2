"""The error bodies servers send, in whatever shape, as one line for the user."""

from __future__ import annotations

import json
import re

from ..seams import JSON
from ..text import clip


def error_message(status: int, reason: str, body: bytes) -> str:
    """One line naming the status and the server's own message, whatever the body's shape."""
    text = body.decode("utf-8", "replace").strip()
    try:
        detail = error_text(json.loads(text))
    except ValueError:
        detail = _plain(text)
    head = f"{status} {reason}".strip()
    return f"{head}: {detail}" if detail else head


def error_text(obj: JSON) -> str:
    """The human message inside any of the error shapes servers send."""
    if isinstance(obj, str):
        return clip(obj, 300)
    if isinstance(obj, list):
        return "; ".join(filter(None, (error_text(item) for item in obj[:3])))
    if not isinstance(obj, dict):
        return clip(json.dumps(obj), 300)
    for key in ("error", "message", "detail", "msg"):
        if obj.get(key):
            inner = error_text(obj[key])
            if key == "error" and isinstance(obj[key], dict):
                code = obj[key].get("code") or obj[key].get("type")
                if code and str(code) not in inner:
                    inner = f"{inner} [{code}]" if inner else str(code)
            return inner
    return clip(json.dumps(obj), 300)


def _plain(text: str) -> str:
    text = re.sub(r"<[^>]+>", " ", text)
    return clip(" ".join(text.split()), 300)
