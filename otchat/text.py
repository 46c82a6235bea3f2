"""Small text helpers shared along the path: one line, clipped."""

from __future__ import annotations


def clip(text: str, limit: int = 80) -> str:
    """`text` on one line (runs of whitespace become one space), cut to `limit` with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
