"""Why a local MCP server did not start, in one line: the gist of what it raised, and the end
of what it wrote on stderr (kept in a temporary file while it runs)."""

from __future__ import annotations

import asyncio
from typing import IO

from .specs import ServerSpec


def describe_failure(spec: ServerSpec, exc: BaseException, *, timeout: float, tail: str) -> str:
    """`exc` (the first of an exception group's) as a reason, then `tail`, the server's stderr."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)) or type(exc).__name__ == "TimeoutError":
        why = f"no answer within {timeout:g} s"
    elif isinstance(exc, FileNotFoundError):
        why = f"command not found: {spec.command}"
    elif type(exc).__name__ in ("ClosedResourceError", "EndOfStream", "BrokenResourceError") or (
            "closed" in str(exc).lower()):
        why = "the server exited before it answered"
    else:
        why = " ".join(str(exc).split()) or type(exc).__name__
    return f"{why}" + (f"; its stderr ends: {tail}" if tail else "")


def stderr_tail(errlog: IO[str] | None, lines: int = 3) -> str:
    """The last `lines` non-blank lines of a server's stderr log, joined by ` | ` ("" without one)."""
    if errlog is None:
        return ""
    try:
        errlog.flush()
        errlog.seek(0)
        text = errlog.read()
    except (OSError, ValueError):
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:] if line.strip())
